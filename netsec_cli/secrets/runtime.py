"""Run-time access to AWS credentials: decrypted in memory, never written in plaintext.

`load_aws_credentials` is the one function the S3 code calls. It returns None when there is no
encrypted credentials file, so callers fall back to boto3's standard credential chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netsec_cli.config import Config


@dataclass(frozen=True)
class AwsCredentials:
    """AWS keys held in memory only; repr never shows the values."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    region: str | None = None
    session_token: str | None = field(default=None, repr=False)


def load_aws_credentials(config: Config) -> AwsCredentials | None:
    """Decrypt `secrets.credentials_file` in memory, or None when that file does not exist."""
    path = config.resolve(config.secrets.credentials_file)
    if not path.is_file():
        return None
    from netsec_cli.secrets.credentials import decrypt_aws_credentials

    return decrypt_aws_credentials(config, path)
