"""The SHA256 checksums S3 reports for a stored object, computed from the local file."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from netsec_cli.cloud.objects import LocalFile


def b64_of_hex(hex_digest: str) -> str:
    """The base64 form S3 uses for checksums, from a hex digest."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def composite_sha256(path: Path, size: int, chunk_size: int) -> str:
    """The base64 multipart checksum S3 reports: sha256 over the parts' sha256 digests."""
    from s3transfer.utils import ChunksizeAdjuster

    part = ChunksizeAdjuster().adjust_chunksize(chunk_size, size)
    outer = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(part), b""):
            outer.update(hashlib.sha256(block).digest())
    return base64.b64encode(outer.digest()).decode()


def checksum_matches(checksum: str, local: LocalFile, chunk_size: int) -> bool:
    """True when S3's `ChecksumSHA256` (whole-object, or multipart composite `…-N`) is the local file's."""
    value = checksum.split("-")[0]
    if value == b64_of_hex(local.sha256):
        return True
    return value == composite_sha256(local.path, local.size, chunk_size)
