"""Infer a `Schema` from a DataFrame when the user gives none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsec_cli.errors import InputError
from netsec_cli.schema import DType, Schema

if TYPE_CHECKING:
    import pandas as pd


def column_dtype(values: pd.Series) -> DType:
    """int64 / float64 for numeric columns, string for everything else (text, bool, mixed)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "string"
    if pd.api.types.is_integer_dtype(values) and not values.isna().any():
        return "int64"
    return "float64"


def domain(values: pd.Series) -> list[str]:
    """Sorted distinct non-missing values of a column, as strings."""
    return sorted(str(v) for v in values.dropna().astype("string").str.strip().unique())


def infer_schema(
    df: pd.DataFrame, target: str, normal_value: str | int | float, name: str, ignored: list[str]
) -> Schema:
    """A schema for `df`: numeric columns are numerical features, the rest categorical.

    The target and `ignored` columns are kept in `columns` but are not features.
    `categorical_domains` holds the sorted distinct values of each categorical feature.
    """
    columns = [str(c) for c in df.columns]
    if target not in columns:
        raise InputError(f"target column {target!r} not found; available: {', '.join(columns)}")
    dtypes = {c: column_dtype(df[c]) for c in columns}
    skip = {target, *ignored}
    numerical = [c for c in columns if c not in skip and dtypes[c] != "string"]
    categorical = [c for c in columns if c not in skip and dtypes[c] == "string"]
    return Schema(
        name=name,
        columns=columns,
        dtypes=dtypes,
        numerical=numerical,
        categorical=categorical,
        target=target,
        normal_value=normal_value,
        ignored=[c for c in ignored if c in columns],
        categorical_domains={c: domain(df[c]) for c in categorical},
    )
