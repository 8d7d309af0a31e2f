"""The data schema: column order, dtypes, numerical/categorical features, target, categorical domains.

A schema is YAML on disk (`schema/nsl_kdd.yaml` ships with the tool; `netsec etl` writes one
inferred from the data into `artifacts/etl/schema.yaml`). Validation, transform and predict all
read it, so it is the one contract between stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from netsec_cli.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

DType = Literal["int64", "float64", "string"]
SHIPPED_SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


class Schema(BaseModel):
    """Columns in file order (target and ignored columns included) and what each one is."""

    model_config = ConfigDict(extra="forbid")

    name: str = "dataset"
    columns: list[str]
    dtypes: dict[str, DType]
    numerical: list[str]
    categorical: list[str]
    target: str
    normal_value: str | int | float
    ignored: list[str] = Field(default_factory=list)
    categorical_domains: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Schema:
        known = set(self.columns)
        for group in ("numerical", "categorical", "ignored"):
            unknown = [c for c in getattr(self, group) if c not in known]
            if unknown:
                raise ValueError(f"{group} lists columns not in `columns`: {unknown}")
        if self.target not in known:
            raise ValueError(f"target {self.target!r} is not in `columns`")
        missing = [c for c in self.columns if c not in self.dtypes]
        if missing:
            raise ValueError(f"no dtype for columns: {missing}")
        return self

    @property
    def features(self) -> list[str]:
        """Feature columns in file order (everything but the target and ignored columns)."""
        chosen = set(self.numerical) | set(self.categorical)
        return [c for c in self.columns if c in chosen]

    def is_normal(self, values: pd.Series) -> pd.Series:
        """Boolean mask of rows whose target equals the normal value (string-compared)."""
        return values.astype("string").str.strip() == str(self.normal_value)

    def to_yaml(self) -> str:
        """The schema as YAML text (what `load` reads)."""
        import yaml

        return str(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False))

    @classmethod
    def load(cls, path: Path) -> Schema:
        """Read a schema YAML; a missing or malformed file is an InputError naming it."""
        import yaml

        if not path.is_file():
            raise InputError(f"schema file not found: {path}")
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls.model_validate(raw)
        except yaml.YAMLError:
            raise InputError(f"schema file {path} is not valid YAML") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(f"invalid schema {path}: {where} {first['msg']}".replace("  ", " ")) from None


def shipped_schema(name: str) -> Path:
    """Path of a schema shipped in the repository's `schema/` folder (e.g. `nsl_kdd`)."""
    return SHIPPED_SCHEMA_DIR / f"{name}.yaml"
