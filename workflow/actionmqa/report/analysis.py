"""Our own analysis tables beside the paper's (``answer_wording``, ``benchmark_letters``): shares
per model, written as CSV and as Markdown under a title and over the legend of their columns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from actionmqa.io import atomic_open

ANALYSIS_FORMATS = ("csv", "md")


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
