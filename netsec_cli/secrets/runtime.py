"""Run-time access to AWS credentials: decrypted in memory, never written in plaintext.

`load_aws_credentials` is the one function the S3 code calls. It returns None when there is no
encrypted credentials file, so callers fall back to boto3's standard credential chain. The
decryption code (and `cryptography`) is imported only when that file exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsec_cli.config import Config

if TYPE_CHECKING:
    from netsec_cli.secrets.credentials import AwsCredentials


def load_aws_credentials(config: Config) -> AwsCredentials | None:
    """Decrypt `secrets.credentials_file` in memory, or None when that file does not exist."""
    path = config.resolve(config.secrets.credentials_file)
    if not path.is_file():
        return None
    from netsec_cli.secrets.credentials import decrypt_aws_credentials

    return decrypt_aws_credentials(config, path)
