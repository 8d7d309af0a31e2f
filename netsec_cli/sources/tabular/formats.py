"""File kinds by suffix and the checks every input passes before it is opened."""

from __future__ import annotations

from pathlib import Path

from netsec_cli.errors import InputError

TEXT_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
NPY_SUFFIXES: tuple[str, ...] = (".npy",)
SUPPORTED_SUFFIXES: tuple[str, ...] = TEXT_SUFFIXES + PARQUET_SUFFIXES + NPY_SUFFIXES


def kind_of(path: Path) -> str:
    """"text", "parquet" or "npy" from the suffix (case-insensitive); "" when unsupported."""
    suffix = path.suffix.lower()
    for kind, suffixes in (("text", TEXT_SUFFIXES), ("parquet", PARQUET_SUFFIXES), ("npy", NPY_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return ""


def check_file(path: Path) -> str:
    """The file's kind, after checking it exists, is a file, has a supported suffix and is not empty."""
    if not path.exists():
        raise InputError(f"input file not found: {path}", hint="check the path")
    if not path.is_file():
        raise InputError(f"input path {path} is not a file")
    kind = kind_of(path)
    if not kind:
        kinds = ", ".join(SUPPORTED_SUFFIXES)
        raise InputError(f"unsupported file type {path.suffix or '(none)'!r} for {path} (use one of {kinds})")
    if path.stat().st_size == 0:
        raise InputError(f"input file {path} is empty")
    return kind


def no_rows(path: Path) -> InputError:
    """The error for a table without data rows."""
    return InputError(f"input file {path} holds no data rows")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
