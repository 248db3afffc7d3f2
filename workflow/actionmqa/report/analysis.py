"""Our own analysis tables beside the paper's (``answer_wording``, ``benchmark_letters``): each
reads prediction files, one row per question, and writes its shares as CSV and as Markdown
under a title and over the legend of its columns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import pandas as pd
from pydantic import BaseModel

from actionmqa.errors import InputError
from actionmqa.io import atomic_open, read_jsonl_models

RowT = TypeVar("RowT", bound=BaseModel)

ANALYSIS_FORMATS = ("csv", "md")


def read_answer_rows(path: Path, row_model: type[RowT], what: str, key: str) -> list[RowT]:
    """A predictions JSONL as ``row_model`` rows, one per question: a bad line, a ``key`` answered
    twice or an empty file raises ``InputError`` naming the file (and the line and key)."""
    rows: list[RowT] = []
    seen: set[str] = set()
    for line, row in read_jsonl_models(path, row_model, what):
        value = getattr(row, key)
        if value in seen:
            raise InputError(path, f"this {key} was already answered", key=value, line=line)
        seen.add(value)
        rows.append(row)
    if not rows:
        raise InputError(path, "no predictions to analyse")
    return rows


def analysis_markdown(table: pd.DataFrame, title: str, legend: Mapping[str, str]) -> str:
    """Three decimals (– where a share has no answers to count), the title above, the legend below."""
    table = table.astype(object).where(table.notna(), None)
    lines = "\n".join(f"- {column}: {meaning}." for column, meaning in legend.items())
    return f"### {title}\n\n{table.to_markdown(index=False, floatfmt='.3f', missingval='–')}\n\n{lines}\n"


def write_analysis(
    table: pd.DataFrame, out_dir: Path, name: str, title: str, legend: Mapping[str, str]
) -> list[Path]:
    """``<out_dir>/<name>.csv`` (four decimals) and ``<name>.md``, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, md = (out_dir / f"{name}.{ext}" for ext in ANALYSIS_FORMATS)
    with atomic_open(csv) as handle:
        table.to_csv(handle, index=False, float_format="%.4f")
    with atomic_open(md) as handle:
        handle.write(analysis_markdown(table, title, legend))
    return [csv, md]
