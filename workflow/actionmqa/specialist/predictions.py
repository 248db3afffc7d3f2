"""The TIM/AVION prediction file (spec/llavaction.md §0), read and written in one place.

The upstream consumers index the file by the 0-based CSV row index as a string and assert that
``target`` equals the row's ``"verb_class:noun_class"``; a file made for another CSV, or for the
same CSV in another row order, would otherwise pair every segment with a stranger's ranking.
The loader therefore checks the whole file against the segments before anyone uses it.

Layout::

    {"0": {"predictions": ["3:12", "3:4", ...], "target": "3:12"}, "1": {...}}

``predictions`` are sorted by descending confidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from actionmqa.errors import InputError
from actionmqa.io import atomic_open, dumps_canonical, sha256_file

_VN = re.compile(r"^\d+:\d+$")
#: How many missing or unexpected keys an error message lists before "...".
_SHOWN = 5


def write_predictions(
    path: Path,
    ranked: Mapping[int, Sequence[str]],
    segments: pd.DataFrame,
    *,
    key_order: Literal["sorted", "rows"] = "sorted",
) -> None:
    """Write ``ranked[row] = [vn, ...]`` (best first) with each row's target from ``segments``.

    Keys are ``str(row)``, compact JSON, so the same ranking always gives the same bytes: keys
    sorted as strings (canonical JSON), or with ``key_order="rows"`` in ``ranked``'s order, as
    upstream's files list them (CSV row order). The entries are checked as the loader checks them.
    """
    document: dict[str, dict[str, Any]] = {}
    for row, predictions in ranked.items():
        if row not in segments.index:
            raise ValueError(f"row {row} is not a row of the segments table")
        document[str(row)] = {"predictions": list(predictions), "target": str(segments.at[row, "vn"])}
        _check_entry(path, str(row), document[str(row)], document[str(row)]["target"], min_k=1)
    text = (
        dumps_canonical(document)
        if key_order == "sorted"
        else json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    )
    with atomic_open(path) as handle:
        handle.write(text)
        handle.write("\n")


def load_predictions(path: Path, segments: pd.DataFrame, *, min_k: int = 1) -> dict[int, list[str]]:
    """Read a prediction file that must cover exactly the rows of ``segments``.

    Returns ``{row: predictions}`` in the order of ``segments.index``. Raises ``InputError``
    naming the file and key for: invalid JSON, a non-object, missing or unexpected row keys,
    an entry without a list of at least ``min_k`` distinct ``"v:n"`` predictions, or a
    ``target`` that is not the row's ``vn``.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(document, dict):
        raise InputError(
            path, f"expected a JSON object keyed by CSV row index, got {type(document).__name__}"
        )
    expected = [str(row) for row in segments.index]
    _check_keys(path, expected, document.keys())
    loaded: dict[int, list[str]] = {}
    for row, key in zip(segments.index, expected, strict=True):
        loaded[int(row)] = _check_entry(path, key, document[key], str(segments.at[row, "vn"]), min_k=min_k)
    return loaded


#: What a benchmark or SFT manifest repeats from the manifest of a public-weights specialist's
#: predictions: which models, whether it stands in for the paper's, whether train is in-sample.
SOURCE_KEYS = ("variant", "description", "stands_in_for", "split", "in_sample", "in_sample_note", "members")


def read_prediction_source(manifest: Path, predictions: Path) -> dict[str, Any]:
    """The ``SOURCE_KEYS`` of ``manifest``, which must describe exactly the bytes of ``predictions``."""
    try:
        document = json.loads(Path(manifest).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(manifest, f"cannot read the predictions' manifest ({exc})") from exc
    described = document.get("predictions", {}) if isinstance(document, dict) else {}
    if not isinstance(described, dict) or described.get("sha256") != sha256_file(predictions):
        raise InputError(manifest, f"describes another file than {predictions}", key="predictions.sha256")
    return {key: document.get(key) for key in SOURCE_KEYS}


def _check_keys(path: Path, expected: Sequence[str], found: Iterable[str]) -> None:
    """Both directions: a missing row would silently lose a sample, an extra one hints at the wrong CSV."""
    expected_set, found_set = set(expected), set(found)
    missing = [key for key in expected if key not in found_set]
    extra = sorted(found_set - expected_set, key=_numeric_first)
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} rows missing (first: {_listing(missing)})")
    if extra:
        problems.append(
            f"{len(extra)} keys that are not rows of the segments table (first: {_listing(extra)})"
        )
    if problems:
        raise InputError(path, "; ".join(problems))


def _check_entry(path: Path, key: str, entry: Any, target: str, *, min_k: int) -> list[str]:
    if not isinstance(entry, dict) or "predictions" not in entry or "target" not in entry:
        raise InputError(path, "expected an object with 'predictions' and 'target'", key=key)
    predictions = entry["predictions"]
    if not isinstance(predictions, list) or not all(
        isinstance(vn, str) and _VN.match(vn) for vn in predictions
    ):
        raise InputError(
            path, f"'predictions' must be a list of \"verb:noun\" strings, got {predictions!r}", key=key
        )
    if len(set(predictions)) != len(predictions):
        raise InputError(path, f"'predictions' repeats a class: {predictions!r}", key=key)
    if len(predictions) < min_k:
        raise InputError(path, f"{len(predictions)} predictions, at least {min_k} needed", key=key)
    if entry["target"] != target:
        raise InputError(
            path, f"target {entry['target']!r} does not match the segment's class {target!r}", key=key
        )
    return list(predictions)


def _numeric_first(key: str) -> tuple[int, int, str]:
    return (0, int(key), key) if key.isdigit() else (1, 0, key)


def _listing(keys: Sequence[str]) -> str:
    shown = ", ".join(repr(key) for key in keys[:_SHOWN])
    return shown + (", ..." if len(keys) > _SHOWN else "")
