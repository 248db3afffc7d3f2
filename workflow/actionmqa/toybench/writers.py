"""Writing benchmark files the way their hosts publish them: HF parquet with typed columns, JSON.

HF ``datasets`` stores its feature types in the parquet schema metadata (key ``huggingface``);
writing it too means ``datasets.load_dataset("parquet", ...)`` reads the toy files back with
the same features as the real ones. Everything goes through ``actionmqa.io``'s atomic writes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from actionmqa.io import atomic_open

STRING, INT, FLOAT = pa.string(), pa.int64(), pa.float64()
STRINGS = pa.list_(pa.string())


def hf_feature(kind: pa.DataType) -> dict[str, Any]:
    """The HF ``datasets`` feature JSON of an arrow type (``Value`` or ``Sequence`` of one)."""
    if pa.types.is_list(kind):
        return {"feature": hf_feature(kind.value_type), "_type": "Sequence"}
    return {"dtype": str(kind).replace("double", "float64"), "_type": "Value"}


def hf_schema(columns: Mapping[str, pa.DataType]) -> pa.Schema:
    """An arrow schema carrying the ``huggingface`` feature metadata, columns in the given order."""
    features = {name: hf_feature(kind) for name, kind in columns.items()}
    metadata = {"huggingface": json.dumps({"info": {"features": features}})}
    return pa.schema(list(columns.items()), metadata=metadata)


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]], columns: Mapping[str, pa.DataType]) -> None:
    """Rows as one parquet file with exactly ``columns`` (a missing key is null, an extra one an error)."""
    import pyarrow.parquet as pq

    unknown = {key for row in rows for key in row} - set(columns)
    if unknown:
        raise ValueError(f"{path.name}: fields {sorted(unknown)} are not columns of the schema")
    table = pa.Table.from_pylist(list(rows), schema=hf_schema(columns))
    with atomic_open(path, "wb") as handle:
        pq.write_table(table, handle)


def write_json_records(path: Path, records: Any) -> None:
    """JSON in the key order given (real files are not key-sorted), indented, with a final newline."""
    with atomic_open(path) as handle:
        json.dump(records, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
