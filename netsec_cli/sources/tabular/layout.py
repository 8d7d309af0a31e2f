"""Which schema column each field of a table is: by header name, or by position from the column count.

One rule for every reader. A table with names (a header row, `.npy` field names, Parquet columns)
is matched by name: a name the schema does not have is an error, and so is a required column
the table lacks. A table without names is matched by position: its column count picks one of
the schema's column lists with optional columns left out (`candidate_layouts`), and when two
lists have the same width the first whose values parse wins. Ignored columns (e.g. `difficulty`)
are always optional; the target is optional for predict inputs, required for etl.
Without a schema, a header-less table is named by the shipped NSL-KDD schema when its width fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from netsec_cli.errors import InputError
from netsec_cli.schema import Schema, shipped_schema
from netsec_cli.sources.tabular.chunks import conform

LAYOUT_ATTR = "layout"
NSL_KDD = "nsl_kdd"


def drop_columns(schema: Schema, columns: list[str]) -> Schema:
    """A copy of `schema` without `columns` (e.g. an ignored column a file does not have)."""
    gone = set(columns)
    keep = [c for c in schema.columns if c not in gone]
    return Schema(
        name=schema.name,
        columns=keep,
        dtypes={c: schema.dtypes[c] for c in keep},
        numerical=[c for c in schema.numerical if c not in gone],
        categorical=[c for c in schema.categorical if c not in gone],
        target=schema.target,
        normal_value=schema.normal_value,
        ignored=[c for c in schema.ignored if c not in gone],
        categorical_domains={k: v for k, v in schema.categorical_domains.items() if k not in gone},
    )


def nsl_kdd_schema() -> Schema:
    """The shipped NSL-KDD schema (names a header-less table when no schema is given)."""
    return Schema.load(shipped_schema(NSL_KDD))


def candidate_layouts(schema: Schema, *, target_optional: bool) -> list[list[str]]:
    """Column lists a table without names may carry, in order of preference."""
    ignored = set(schema.ignored)
    every = list(schema.columns)
    no_ignored = [c for c in every if c not in ignored]
    options = [every, no_ignored]
    if target_optional:
        no_target = [c for c in every if c != schema.target]
        options = [no_target, every, [c for c in no_target if c not in ignored], no_ignored]
    unique: list[list[str]] = []
    for option in options:
        if option not in unique:
            unique.append(option)
    return unique


def required_columns(schema: Schema, *, target_optional: bool) -> list[str]:
    """Columns a table with names must hold: the features (predict) or all but ignored ones (etl)."""
    if target_optional:
        return list(schema.features)
    return [c for c in schema.columns if c not in set(schema.ignored)]


def unknown_columns(origin: Path | str, schema: Schema, names: Sequence[str]) -> InputError | None:
    """The error for names `schema` does not have, if any."""
    known = set(schema.columns)
    unknown = [n for n in names if n not in known]
    if not unknown:
        return None
    return InputError(
        f"{origin} has unknown columns: {', '.join(unknown[:10])}",
        hint="use the schema's column names",
    )


def missing_columns(origin: Path | str, schema: Schema, missing: Sequence[str]) -> InputError:
    """The error for required columns a table lacks."""
    return InputError(f"{origin} is missing columns of schema {schema.name!r}: {', '.join(missing[:10])}")


def check_duplicates(path: Path, names: Sequence[str]) -> None:
    """A table naming one column twice is an InputError."""
    duplicated = sorted({n for n in names if list(names).count(n) > 1})
    if duplicated:
        raise InputError(f"{path} has duplicate columns: {', '.join(duplicated[:10])}")


def check_names(path: Path, schema: Schema, names: Sequence[str], *, target_optional: bool) -> None:
    """Match a table's column names to `schema`: no unknown names, no required column absent."""
    check_duplicates(path, names)
    error = unknown_columns(path, schema, names)
    if error is not None:
        raise error
    present = set(names)
    missing = [c for c in required_columns(schema, target_optional=target_optional) if c not in present]
    if missing:
        raise missing_columns(path, schema, missing)


def layouts_for_count(path: Path, schema: Schema, count: int, *, target_optional: bool) -> list[list[str]]:
    """The candidate layouts `count` columns wide; none is an InputError naming the widths."""
    candidates = candidate_layouts(schema, target_optional=target_optional)
    matches = [layout for layout in candidates if len(layout) == count]
    if matches:
        return matches
    widths = [str(width) for width in sorted({len(layout) for layout in candidates})]
    optional = ([f"the target {schema.target!r}"] if target_optional else []) + (
        [f"ignored columns ({', '.join(schema.ignored)})"] if schema.ignored else []
    )
    hint = "columns in schema order" + (f"; {' and '.join(optional)} may be left out" if optional else "")
    raise InputError(
        f"input file {path} has {count} columns but schema {schema.name!r} expects {' or '.join(widths)}", hint=hint
    )


def headerless_layouts(path: Path, schema: Schema | None, count: int, *, target_optional: bool) -> tuple[Schema, list[list[str]]]:
    """The schema naming a header-less table (given, else NSL-KDD by width) and its candidate layouts."""
    if schema is not None:
        return schema, layouts_for_count(path, schema, count, target_optional=target_optional)
    shipped = nsl_kdd_schema()
    matches = [layout for layout in candidate_layouts(shipped, target_optional=target_optional) if len(layout) == count]
    if not matches:
        raise InputError(
            f"input file {path} has no header row and {count} fields, which matches no known layout",
            hint="add a header row or pass --schema",
        )
    return shipped, matches


def common_names(layouts: list[list[str]], width: int) -> list[str]:
    """Names of a header-less table's `width` columns before a layout is chosen (for errors): the
    name every candidate layout gives a position, else `field N`."""
    return [
        layouts[0][i] if all(i < len(layout) and layout[i] == layouts[0][i] for layout in layouts) else f"field {i + 1}"
        for i in range(width)
    ]


def choose_layout(path: Path, schema: Schema, head: Callable[[list[str]], dict[str, Any]], layouts: list[list[str]]) -> list[str]:
    """The first layout under which the table's first rows parse (`head(layout)`: those rows by name)."""
    error: InputError | None = None
    for layout in layouts:
        try:
            conform(path, schema, head(layout), 0)
            return layout
        except InputError as exc:
            error = error or exc
    assert error is not None
    raise error
