"""The preprocessor on disk: a skops file, loaded without executing code.

`load_preprocessor` opens it with an explicit list of trusted types
(scikit-learn's own estimators are trusted by skops; the only extra type is `numpy.dtype`), so a
file naming any other type - a tampered or foreign file - is refused before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

# Types skops does not trust by default that a netsec preprocessor legitimately contains.
TRUSTED_TYPES: tuple[str, ...] = ("numpy.dtype",)


def save_preprocessor(preprocessor: ColumnTransformer, path: Path) -> None:
    """Write the fitted preprocessor as a skops file (atomically)."""
    import skops.io as sio

    from netsec_cli.artifacts import atomic_path

    with atomic_path(path) as tmp:
        sio.dump(preprocessor, tmp)


def load_preprocessor(path: Path) -> ColumnTransformer:
    """Load a skops preprocessor trusting only `TRUSTED_TYPES` (plus skops' defaults); never unpickles."""
    import zipfile

    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    if not path.is_file():
        raise InputError(f"preprocessor not found: {path}", hint="run `netsec transform`")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise InputError(
                f"refusing to load preprocessor {path}: it contains untrusted types {', '.join(untrusted)}",
                hint="re-run `netsec transform` to rebuild it",
            )
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise InputError(
            f"refusing to load preprocessor {path}: {exc}", hint="re-run `netsec transform` to rebuild it"
        ) from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, OSError) as exc:
        raise InputError(
            f"preprocessor {path} is corrupt or not a netsec preprocessor ({type(exc).__name__})",
            hint="re-run `netsec transform`",
        ) from None
