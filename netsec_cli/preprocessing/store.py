"""The preprocessor on disk: a skops file, loaded without executing code.

`load_preprocessor` opens it with an explicit list of trusted types
(scikit-learn's own estimators are trusted by skops; the only extra type is `numpy.dtype`), so a
file naming any other type - a tampered or foreign file - is refused before anything is built.
Before that, the zip's central directory is checked: at most `MAX_ENTRIES` (10,000) entries and
`MAX_UNCOMPRESSED` (256 MB) in total once decompressed, so a small file that would inflate to
gigabytes (a zip bomb) is refused without decompressing anything. Python's zip reader never
inflates an entry past the size the directory declares, so checking the declared sizes suffices.
A netsec preprocessor is a few hundred entries and about 4 MB with the default
`transform.imputer_max_rows` (10,000 rows kept for the KNN imputer; the limit allows ~700,000).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

# Types skops does not trust by default that a netsec preprocessor legitimately contains.
TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype",)
MAX_UNCOMPRESSED = 256 * 2**20
MAX_ENTRIES = 10_000


def save_preprocessor(preprocessor: ColumnTransformer, path: Path) -> None:
    """Write the fitted preprocessor as a skops file (atomically)."""
    import skops.io as sio

    from netsec_cli.artifacts import atomic_path

    with atomic_path(path) as tmp:
        sio.dump(preprocessor, tmp)


def _check_size(path: Path, rerun: str) -> None:
    """Refuse a zip with too many entries or too much data once decompressed (see the module docstring)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    total = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ENTRIES or total > MAX_UNCOMPRESSED:
        raise InputError(
            f"refusing to load preprocessor {path}: it would decompress to {total / 2**20:,.0f} MB in "
            f"{len(entries):,} zip entries (at most {MAX_UNCOMPRESSED // 2**20} MB in {MAX_ENTRIES:,} entries)",
            hint=f"run `netsec {rerun}` again",
        )


def load_preprocessor(path: Path, *, rerun: str = "transform") -> ColumnTransformer:
    """Load a skops preprocessor trusting only `TRUSTED_TYPES` (plus skops' defaults); never unpickles.

    Errors name `netsec <rerun>` as the command that rebuilds the file (transform, or train for
    the copy kept with the model)."""
    import zipfile
    import zlib

    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    if not path.is_file():
        raise InputError(f"preprocessor not found: {path}", hint=f"run `netsec {rerun}`")
    try:
        _check_size(path, rerun)
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise InputError(
                f"refusing to load preprocessor {path}: it contains untrusted types {', '.join(untrusted)}",
                hint=f"run `netsec {rerun}` again",
            )
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise InputError(
            f"refusing to load preprocessor {path}: {exc}", hint=f"run `netsec {rerun}` again"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, TypeError, AttributeError, OSError) as exc:
        raise InputError(
            f"preprocessor {path} is corrupt or not a netsec preprocessor ({type(exc).__name__})",
            hint=f"run `netsec {rerun}` again",
        ) from None
