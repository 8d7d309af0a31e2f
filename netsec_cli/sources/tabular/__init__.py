"""The one tabular reader: every table netsec reads from disk, for etl and predict alike.

Formats: delimited text (.csv/.tsv/.txt; encoding, delimiter and header sniffed), Parquet
(.parquet/.pq) and NumPy (.npy; never unpickled). One set of rules for every caller:
- one delimiter sniffer and one header rule (`text`);
- one set of missing-value tokens, `MISSING_TOKENS` (`chunks`);
- one column-matching rule: by name when the table has names, else by position from the
  column count, against the given schema or the shipped NSL-KDD one (`layout`);
- rows streamed in bounded chunks (`Table.blocks`);
- one set of limits (`limits`): a cell longer than `max_field_bytes` (config
  `input.max_field_bytes`) is refused before it is converted, text is never made fixed-width
  numpy unicode of unbounded width (Arrow text becomes a `TextColumn`: codes into distinct values),
  and numerical columns must hold finite numbers.
`read_table` (etl) collects the chunks into a typed DataFrame; `open_input` (predict) parses
each chunk into a `FeatureChunk` of plain arrays; `open_labelled` (evaluate) adds the target
column; `records_chunk` / `frame_chunk` (serve, the MLflow model) apply the same rules to rows
given as JSON records or a DataFrame. Every problem is an `InputError` naming the file.
"""

from netsec_cli.sources.tabular.chunks import (
    MISSING_TOKENS,
    FeatureChunk,
    conform,
    numeric_features,
)
from netsec_cli.sources.tabular.coded import TextColumn
from netsec_cli.sources.tabular.formats import SUPPORTED_SUFFIXES
from netsec_cli.sources.tabular.frame import (
    conform_to_schema,
    normalise_dtypes,
    read_table,
)
from netsec_cli.sources.tabular.labelled import (
    LabelledChunk,
    LabelledInput,
    labelled_schema,
    normal_text,
    open_labelled,
)
from netsec_cli.sources.tabular.layout import (
    LAYOUT_ATTR,
    NSL_KDD,
    candidate_layouts,
    drop_columns,
)
from netsec_cli.sources.tabular.limits import MAX_FIELD_BYTES
from netsec_cli.sources.tabular.npy import CHUNK_BYTES, chunk_rows
from netsec_cli.sources.tabular.reader import PredictInput, open_input, open_table
from netsec_cli.sources.tabular.records import frame_chunk, records_chunk, table_chunk
from netsec_cli.sources.tabular.table import Block, Table
from netsec_cli.sources.tabular.text import detect_delimiter

__all__ = [
    "CHUNK_BYTES",
    "LAYOUT_ATTR",
    "MAX_FIELD_BYTES",
    "MISSING_TOKENS",
    "NSL_KDD",
    "SUPPORTED_SUFFIXES",
    "Block",
    "FeatureChunk",
    "LabelledChunk",
    "LabelledInput",
    "PredictInput",
    "Table",
    "TextColumn",
    "candidate_layouts",
    "chunk_rows",
    "conform",
    "conform_to_schema",
    "detect_delimiter",
    "drop_columns",
    "frame_chunk",
    "labelled_schema",
    "normal_text",
    "normalise_dtypes",
    "numeric_features",
    "open_input",
    "open_labelled",
    "open_table",
    "read_table",
    "records_chunk",
    "table_chunk",
]
