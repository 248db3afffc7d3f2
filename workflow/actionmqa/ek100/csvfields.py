"""Strict reading of EK100-style CSV tables, cell by cell, with errors that name file, row and column.

EK100 tables are hand-curated. A silent coercion (pandas turning "" into NaN, an extra trailing
field becoming the index, a duplicated header renamed "x.1") would surface much later as a wrong
benchmark item, so tables are read with the ``csv`` module, exactly as upstream LLaVAction reads
them: the 0-based record number after the header is the row index that prediction files key on.
Messages name the line an editor shows instead (``errors.csv_line``: the header is line 1, data
row 0 is line 2); one record per line keeps the two in step.
"""

from __future__ import annotations

import ast
import csv
import math
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actionmqa.errors import InputError, csv_line

_COUNT = re.compile(r"[0-9]+")

#: What a failing parser may raise; ``ast.literal_eval`` adds SyntaxError, MemoryError and
#: RecursionError on hostile input.
_PARSE_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def _read_records(path: Path) -> list[list[str]]:
    """Every record; one that runs over several lines (a line break inside quotes) is an error."""
    # utf-8-sig: a spreadsheet's byte-order mark must not become part of the first column's name.
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            records = []
            for record in reader:
                if reader.line_num != len(records) + 1:
                    raise InputError(
                        path,
                        "a quoted field holds a line break; expected one record per line",
                        line=len(records) + 1,
                    )
                records.append(record)
            return records
    except FileNotFoundError as exc:
        raise InputError(path, "file not found") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(path, f"not a well-formed CSV ({exc})") from exc


def check_header(path: Path, found: Sequence[str], expected: Sequence[str]) -> None:
    """Raise unless the header is exactly ``expected``, saying which column is missing, extra or moved."""
    found, expected = list(found), list(expected)
    if found == expected:
        return
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected or found.count(name) > 1]
    problems = []
    if missing:
        problems.append(f"missing column(s) {missing}")
    if unexpected:
        problems.append(f"unexpected or repeated column(s) {sorted(set(unexpected))}")
    if problems:
        key = (missing or unexpected)[0]
    else:
        position = next(i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b)
        key = found[position]
        problems.append(f"column {position + 1} is '{key}' where '{expected[position]}' belongs")
    raise InputError(
        path, f"header line: {'; '.join(problems)}; expected exactly {','.join(expected)}", key=key
    )


def read_header(path: Path) -> list[str]:
    """The header fields alone, for files whose layout depends on it (the tail-class lists)."""
    records = _read_records(path)
    if not records:
        raise InputError(path, "empty file; expected a header line")
    return records[0]


def read_table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """Every cell as ``str`` ('' when empty), indexed by 0-based data row; the header must be exact."""
    records = _read_records(path)
    if not records:
        raise InputError(path, f"empty file; expected the header {','.join(columns)}")
    check_header(path, records[0], columns)
    rows = records[1:]
    for row, fields in enumerate(rows):
        if len(fields) != len(columns):
            raise InputError(path, f"has {len(fields)} fields, expected {len(columns)}", line=csv_line(row))
    return pd.DataFrame.from_records(rows, columns=list(columns)).astype(str)


def _first_position(mask: pd.Series) -> int | None:
    positions = np.flatnonzero(mask.to_numpy(dtype=bool))
    return int(positions[0]) if positions.size else None


def _cell(values: pd.Series, position: int) -> tuple[Any, int]:
    """(value as a plain Python object, its data row): messages show 5, not np.int64(5)."""
    value = values.iloc[position]
    return (value.item() if isinstance(value, np.generic) else value), int(values.index[position])


def first_row(mask: pd.Series) -> int | None:
    """The data row (index label) of the first True in ``mask``, or None.

    Works on exploded list columns too, whose index repeats each row once per item.
    """
    position = _first_position(mask)
    return None if position is None else int(mask.index[position])


def require_nonempty(frame: pd.DataFrame, path: Path, columns: Sequence[str]) -> None:
    """Every cell of ``columns`` must hold something other than whitespace."""
    for column in columns:
        row = first_row(frame[column].str.strip() == "")
        if row is not None:
            raise InputError(path, "empty value; this column is required", line=csv_line(row), key=column)


def parse_column(
    frame: pd.DataFrame,
    path: Path,
    column: str,
    parse: Callable[[str], Any],
    expected: str,
    dtype: str = "object",
) -> pd.Series:
    """Apply ``parse`` to every cell; the first failure names the row, the column and ``expected``."""
    values = []
    for row, text in enumerate(frame[column].tolist()):
        try:
            values.append(parse(text))
        except _PARSE_ERRORS as exc:
            raise InputError(
                path, f"expected {expected}, got {text!r}", line=csv_line(row), key=column
            ) from exc
    return pd.Series(values, index=frame.index, dtype=dtype, name=column)


def parse_count(text: str) -> int:
    """A non-negative decimal integer written plainly: no sign, blank, underscore or decimal point."""
    if not _COUNT.fullmatch(text):
        raise ValueError(text)
    return int(text)


def parse_positive_float(text: str) -> float:
    """A finite number above zero (durations, frame rates)."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(text)
    return value


def list_parser(item_type: type) -> Callable[[str], list[Any]]:
    """Parser for a Python list literal whose items are all exactly ``item_type`` (bools are not ints)."""

    def parse(text: str) -> list[Any]:
        value = ast.literal_eval(text)
        if not isinstance(value, list) or any(type(item) is not item_type for item in value):
            raise TypeError(f"not a list of {item_type.__name__}")
        return value

    return parse


def require_unique(values: pd.Series, path: Path, key: str) -> None:
    """No value may repeat; the error names the repeat's line and the line it first appeared on."""
    position = _first_position(values.duplicated())
    if position is not None:
        value, row = _cell(values, position)
        first = csv_line(first_row(values == value))
        raise InputError(path, f"{value!r} repeats line {first}", line=csv_line(row), key=key)


def require_below(values: pd.Series, path: Path, key: str, limit: int) -> None:
    """Integer ids (a column, or an exploded list column) must lie in ``[0, limit)``."""
    position = _first_position((values < 0) | (values >= limit))
    if position is not None:
        value, row = _cell(values, position)
        raise InputError(path, f"{value} is outside [0, {limit})", line=csv_line(row), key=key)


def require_member(values: pd.Series, allowed: Collection[Any], path: Path, key: str, table: str) -> None:
    """Each value must appear in ``allowed`` (the ids of a class table, the videos of the video info)."""
    position = _first_position(~values.isin(list(allowed)))
    if position is not None:
        value, row = _cell(values, position)
        raise InputError(path, f"{value!r} is not in {table}", line=csv_line(row), key=key)
