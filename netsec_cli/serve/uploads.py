"""Request bodies read while they stream in, never past the configured limit.

`receive_upload` parses a multipart form as it arrives (python-multipart's streaming parser),
writing the file part to a private temporary folder and keeping small text fields (the page's
`token`) in memory; `receive_json` reads a JSON body. Both count bytes as they arrive: a declared
`Content-Length` over `serve.max_upload_mb` is refused before anything is read, and a body that
grows past it is refused as soon as it does (`TooLarge`, HTTP 413), so an oversized upload is
never stored whole. The file keeps only the suffix of its name (which chooses the reader), so a
hostile file name cannot choose where it is written.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from netsec_cli.errors import InputError
from netsec_cli.sources.tabular import SUPPORTED_SUFFIXES

MAX_FIELD_BYTES = 4096
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}$")


class TooLarge(InputError):
    """The body is larger than `serve.max_upload_mb` (HTTP 413)."""


class Unsupported(InputError):
    """The body's media type or the file's type is not one netsec reads (HTTP 415)."""


class FormRefused(Exception):
    """Raised by `on_file` to stop reading a form (e.g. the file part came before a valid token)."""


@dataclass
class Upload:
    """A received form: the file (saved under `path`), its name as sent, and the text fields."""

    path: Path | None = None
    filename: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"the request body is larger than serve.max_upload_mb ({limit / 1024 / 1024:g} MB)", hint="split the input, or raise serve.max_upload_mb")


def check_declared_length(headers: Any, limit: int) -> None:
    """Refuse a body whose declared Content-Length is over `limit`, before reading it."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for piece in stream:
        received += len(piece)
        if received > limit:
            raise too_large(limit)
        yield piece


async def receive_json(headers: Any, stream: AsyncIterator[bytes], limit: int) -> Any:
    """The parsed JSON body (InputError when it is not JSON, TooLarge past `limit`)."""
    import orjson

    check_declared_length(headers, limit)
    body = bytearray()
    async for piece in _limited(stream, limit):
        body += piece
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the request body is not valid JSON: {str(exc).splitlines()[0]}") from None


async def receive_file(headers: Any, stream: AsyncIterator[bytes], path: Path, limit: int) -> Path:
    """A raw body (e.g. `Content-Type: text/csv`) streamed into `path`, within `limit`."""
    check_declared_length(headers, limit)
    with path.open("xb") as sink:
        async for piece in _limited(stream, limit):
            sink.write(piece)
    return path


def upload_suffix(filename: str) -> str:
    """The file type from a sent file name; Unsupported when netsec cannot read it."""
    match = _SUFFIX.search(filename or "")
    suffix = match.group(0).lower() if match else ""
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        raise Unsupported(f"unsupported file type {suffix or '(none)'!r} for {filename or 'the upload'!r} (use one of {kinds})")
    return suffix


async def receive_upload(
    headers: Any, stream: AsyncIterator[bytes], folder: Path, limit: int, on_file: Callable[[Upload], None]
) -> Upload:
    """Stream a multipart form into `folder`: the one file part to a file, fields to memory.

    `on_file(upload)` runs when the file part starts, with the fields received before it (the
    page sends `token` first), and may raise FormRefused to stop before anything is stored."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    check_declared_length(headers, limit)
    _, options = parse_options_header(headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise InputError("the multipart body has no boundary")
    upload = Upload()
    part = _Part()
    parser = MultipartParser(boundary, _callbacks(upload, part, folder, on_file), max_size=limit)
    try:
        async for piece in _limited(stream, limit):
            parser.write(piece)
        parser.finalize()
    except (InputError, FormRefused):
        raise
    except Exception as exc:  # noqa: BLE001 - python-multipart raises many types for a malformed body
        raise InputError(f"the multipart body is malformed: {type(exc).__name__}") from None
    finally:
        part.close()
    if upload.path is None:
        raise InputError("the form holds no file", hint="send the flows as the form field `file`")
    return upload


@dataclass
class _Part:
    """The form part being parsed: its headers, and where its data goes."""

    header_name: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    text: bytearray | None = None
    sink: BinaryIO | None = None

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.sink = None


def _callbacks(upload: Upload, part: _Part, folder: Path, on_file: Callable[[Upload], None]) -> dict[str, Any]:
    from python_multipart.multipart import parse_options_header

    def header_field(data: bytes, start: int, end: int) -> None:
        part.header_name += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        part.headers[part.header_name.lower()] = part.headers.get(part.header_name.lower(), b"") + data[start:end]

    def header_end() -> None:
        part.header_name = b""

    def headers_finished() -> None:
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            part.text = bytearray()
            return
        if upload.path is not None:
            raise InputError("the form holds more than one file", hint="send one file per request")
        upload.filename = filename.decode("utf-8", "replace")
        suffix = upload_suffix(upload.filename)
        on_file(upload)
        upload.path = folder / f"upload{suffix}"
        part.sink = upload.path.open("xb")

    def part_data(data: bytes, start: int, end: int) -> None:
        if part.sink is not None:
            part.sink.write(data[start:end])
        elif part.text is not None:
            part.text += data[start:end]
            if len(part.text) > MAX_FIELD_BYTES:
                raise InputError(f"the form field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def part_end() -> None:
        if part.text is not None and part.name:
            upload.fields[part.name] = part.text.decode("utf-8", "replace")
        part.close()
        part.text, part.headers, part.name = None, {}, ""

    return {
        "on_header_field": header_field,
        "on_header_value": header_value,
        "on_header_end": header_end,
        "on_headers_finished": headers_finished,
        "on_part_data": part_data,
        "on_part_end": part_end,
    }
