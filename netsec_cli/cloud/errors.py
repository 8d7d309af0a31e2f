"""S3 failures as one-line NetsecErrors, and the bucket-name rules checked before any request.

Exit 2 (InputError): bucket name invalid or missing, credentials missing or rejected. Exit 4
(ServiceError): endpoint unreachable or failing after the configured attempts, or any other S3
error. Messages name the endpoint and bucket, never a credential.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from netsec_cli.config.s3_location import bucket_name_problem
from netsec_cli.errors import InputError, NetsecError, ServiceError

CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "ExpiredToken",
    "InvalidToken",
    "AuthorizationHeaderMalformed",
    "403",  # HEAD responses (bucket check) carry no error body, only the status
}


def validate_bucket_name(name: str) -> None:
    """Apply the S3 general-purpose bucket naming rules locally (`config.s3_location`); InputError naming the rule broken."""
    problem = bucket_name_problem(name)
    if problem:
        raise InputError(f"invalid S3 bucket name {name!r} in aws.bucket_name: it {problem}", hint="fix aws.bucket_name")


class MissingBucket(InputError):
    """The configured bucket does not exist (exit 2; `--create-bucket` creates it)."""


def error_code(exc: ClientError) -> str:
    """The S3 error code of a ClientError (the HTTP status for HEAD requests, which have no body)."""
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


@dataclass(frozen=True)
class S3Errors:
    """`with errors("upload"):` turns botocore/s3transfer failures into NetsecErrors naming endpoint and bucket."""

    endpoint: str
    bucket: str
    prefix: str
    attempts: int

    @contextlib.contextmanager
    def __call__(self, action: str) -> Iterator[None]:
        from s3transfer.exceptions import RetriesExceededError

        try:
            yield
        except NetsecError:
            raise
        except ClientError as exc:
            raise self._client_error(exc, action) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise InputError(
                f"no usable AWS credentials for {action} (bucket {self.bucket})",
                hint="run `netsec secrets init`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ) from None
        except (HTTPClientError, BotoCoreError) as exc:
            raise self._unreachable(exc, action) from None
        except RetriesExceededError as exc:
            raise self._unreachable(exc.last_exception or exc, action) from None

    def _unreachable(self, exc: BaseException, action: str) -> ServiceError:
        reason = str(exc).split("\n")[0]
        return ServiceError(
            f"S3 endpoint {self.endpoint} failed during {action} of bucket {self.bucket} after "
            f"{self.attempts} attempt(s): {reason}",
            hint="check aws.endpoint_url / AWS_ENDPOINT_URL and the network, then re-run; finished files are not sent again",
        )

    def _client_error(self, exc: ClientError, action: str) -> NetsecError:
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return MissingBucket(
                f"S3 bucket {self.bucket} does not exist at {self.endpoint}",
                hint="create it with `netsec sync-s3 --create-bucket`, or fix aws.bucket_name",
            )
        if code in CREDENTIAL_CODES:
            return InputError(
                f"S3 at {self.endpoint} rejected the credentials for bucket {self.bucket} ({code})",
                hint="check the keys (`netsec secrets show`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the bucket policy",
            )
        if code in ("InvalidBucketName", "BucketAlreadyExists"):
            return InputError(f"S3 refused bucket name {self.bucket} ({code})", hint="choose another aws.bucket_name")
        if code in ("PreconditionFailed", "412"):
            return ServiceError(
                f"an object under s3://{self.bucket}/{self.prefix} changed during {action}",
                hint="re-run once the other writer has finished",
            )
        return ServiceError(
            f"S3 {action} failed at {self.endpoint} for bucket {self.bucket}: {code} (HTTP {status})",
            hint="check the endpoint and bucket, then re-run",
        )
