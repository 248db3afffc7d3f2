"""Evaluation summaries (results/<dataset>/eval/<model>/*.json) into tidy DataFrames.

The workflow names each summary by what it measured, so the file name says the kind:

- ``ek100_mqa_<distractors>_<N>f.json``: EK100-MQA,
- ``ek100_mqa_hard_<N>f_sap.json``: its sequential (SAP) second pass,
- ``recognition_top<K>_<N>f.json``: two-stage action recognition,
- ``<benchmark>.json``: EgoSchema, Perception Test, LongVideoBench, Video-MME, MVBench.

Every summary states the unit of its accuracies (``"unit": "percent"``), and each must be it:
a summary in another unit, or one written before summaries stated theirs (EK100-MQA and SAP
then held fractions), is an error rather than a table off by a factor of 100. The run's layout
(models, frame counts, K, benchmarks) says which summaries must exist: one that is missing, or
a field that is missing or not a number in range, raises ``InputError`` naming the file and the
key, so no row is ever silently dropped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actionmqa.bench.scoring import UNIT
from actionmqa.errors import InputError, csv_line

DISTRACTORS = ("random", "medium", "hard")
BENCHMARKS = ("egoschema", "perceptiontest", "longvideobench", "videomme", "mvbench")

_MQA = re.compile(rf"ek100_mqa_(?P<distractors>{'|'.join(DISTRACTORS)})_(?P<frames>\d+)f\.json")
_SAP = re.compile(r"ek100_mqa_hard_(?P<frames>\d+)f_sap\.json")
_RECOGNITION = re.compile(r"recognition_top(?P<top_k>\d+)_(?P<frames>\d+)f\.json")


@dataclass(frozen=True)
class RunLayout:
    """What the run evaluated: the config's ``evaluate`` section, models in its order."""

    models: tuple[str, ...]
    frames: tuple[int, ...]
    top_k: int
    benchmarks: tuple[str, ...]

    def expected(self, model: str) -> list[tuple[Any, ...]]:
        """The summary keys of one model, as the workflow's ``get_eval_targets`` lists them."""
        first = self.frames[0]
        return [
            *(("mqa", d, n) for d in DISTRACTORS for n in self.frames),
            ("sap", first),
            ("recognition", self.top_k, first),
            *(("bench", b) for b in self.benchmarks),
        ]


def summary_name(key: tuple[Any, ...]) -> str:
    """The file name the workflow gives the summary of ``key`` (inverse of ``classify``)."""
    kind = key[0]
    if kind == "mqa":
        return f"ek100_mqa_{key[1]}_{key[2]}f.json"
    if kind == "sap":
        return f"ek100_mqa_hard_{key[1]}f_sap.json"
    if kind == "recognition":
        return f"recognition_top{key[1]}_{key[2]}f.json"
    return f"{key[1]}.json"


def classify(path: Path) -> tuple[Any, ...]:
    """``("mqa", distractors, frames)``, ``("sap", frames)``, ``("recognition", k, frames)`` or
    ``("bench", name)`` from a summary's file name."""
    name = path.name
    if match := _MQA.fullmatch(name):
        return ("mqa", match["distractors"], int(match["frames"]))
    if match := _SAP.fullmatch(name):
        return ("sap", int(match["frames"]))
    if match := _RECOGNITION.fullmatch(name):
        return ("recognition", int(match["top_k"]), int(match["frames"]))
    if path.suffix == ".json" and path.stem in BENCHMARKS:
        return ("bench", path.stem)
    raise InputError(path, "not an evaluation summary name (ek100_mqa_*, recognition_top*, or a benchmark)")


# ---------------------------------------------------------------- fields


class _Summary:
    """One summary file's JSON, with typed lookups that name the file and key on error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise InputError(path, "evaluation summary is missing (run `snakemake evaluate` to make it)")
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(path, f"cannot read the evaluation summary ({exc})") from exc
        if not isinstance(self.data, dict):
            raise InputError(path, "an evaluation summary is a JSON object")

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise InputError(self.path, "missing field", key=key)
            node = node[part]
        return node

    def number(self, key: str, *, scale: float = 100.0, nullable: bool = False) -> float | None:
        """A fraction (``scale`` 100) or a % (``scale`` 1) as a %, checked to lie in 0-100."""
        value = self.get(key)
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(self.path, f"expected a number, found {value!r}", key=key)
        upper = 100.0 / scale
        if not 0.0 <= value <= upper:
            unit = "a fraction in [0, 1]" if scale == 100.0 else "a percentage in [0, 100]"
            raise InputError(self.path, f"expected {unit}, found {value!r}", key=key)
        return round(float(value) * scale, 10)

    def percent(self, key: str, *, nullable: bool = False) -> float | None:
        """An accuracy of an evaluation summary, whose ``unit`` must be percent."""
        if "unit" not in self.data:
            raise InputError(
                self.path,
                f"missing field: summaries state their unit ('{UNIT}') since EK100-MQA and SAP"
                " stopped writing fractions; evaluate again to rewrite this one",
                key="unit",
            )
        if self.data["unit"] != UNIT:
            raise InputError(self.path, f"expected '{UNIT}', found {self.data['unit']!r}", key="unit")
        return self.number(key, scale=1.0, nullable=nullable)

    def integer(self, key: str, *, equals: int | None = None) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(self.path, f"expected a non-negative integer, found {value!r}", key=key)
        if equals is not None and value != equals:
            raise InputError(self.path, f"is {value}, but the file name says {equals}", key=key)
        return value

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value:
            raise InputError(self.path, f"expected a non-empty string, found {value!r}", key=key)
        return value


def _mqa_row(summary: _Summary, model: str, distractors: str, frames: int) -> dict[str, Any]:
    return {
        "model": model,
        "distractors": distractors,
        "frames": summary.integer("frames", equals=frames),
        "n": summary.integer("n"),
        "accuracy": summary.percent("accuracy"),
        "accuracy_strict": summary.percent("accuracy_strict"),
        "accuracy_likelihood": summary.percent("accuracy_likelihood", nullable=True),
        "path": str(summary.path),
    }


def _sap_row(summary: _Summary, model: str, frames: int) -> dict[str, Any]:
    return {
        "model": model,
        "frames": summary.integer("frames", equals=frames),
        "n": summary.integer("n"),
        "first_pass": summary.percent("first_pass.accuracy"),
        "second_pass": summary.percent("second_pass.accuracy"),
        "second_pass_strict": summary.percent("second_pass.accuracy_strict"),
        "second_pass_likelihood": summary.percent("second_pass.accuracy_likelihood", nullable=True),
        "path": str(summary.path),
    }


def _recognition_row(summary: _Summary, model: str, top_k: int, frames: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model": model,
        "top_k": summary.integer("top_k", equals=top_k),
        "frames": summary.integer("frames", equals=frames),
        "text": summary.text("text"),
        "n": summary.integer("n"),
    }
    for part in ("verb", "noun", "action"):
        row[f"{part}_top1"] = summary.percent(f"two_stage.{part}_top1")
    for part in ("verb", "noun", "action"):
        row[f"specialist_{part}_top1"] = summary.percent(f"specialist.{part}_top1")
    row["top_k_recall"] = summary.percent("top_k_recall")
    row["path"] = str(summary.path)
    return row


def _bench_row(summary: _Summary, model: str, benchmark: str) -> dict[str, Any]:
    found = summary.text("benchmark")
    if found != benchmark:
        raise InputError(summary.path, f"is '{found}', but the file name says '{benchmark}'", key="benchmark")
    return {
        "model": model,
        "benchmark": benchmark,
        "n": summary.integer("n"),
        "accuracy": summary.percent("accuracy"),
        "mode": summary.text("headline_mode"),
        "path": str(summary.path),
    }


# ---------------------------------------------------------------- collection


@dataclass(frozen=True)
class Results:
    """Tidy tables of one run's summaries, accuracies in %, rows in the layout's model order."""

    layout: RunLayout
    mqa: pd.DataFrame
    sap: pd.DataFrame
    recognition: pd.DataFrame
    bench: pd.DataFrame

    def mqa_accuracy(
        self, model: str, distractors: str, frames: int, column: str = "accuracy"
    ) -> float | None:
        rows = self.mqa[
            (self.mqa.model == model) & (self.mqa.distractors == distractors) & (self.mqa.frames == frames)
        ]
        value = rows[column].iloc[0]
        return None if pd.isna(value) else float(value)

    def row(self, frame: str, model: str) -> dict[str, Any]:
        table: pd.DataFrame = getattr(self, frame)
        return table[table.model == model].iloc[0].to_dict()


_COLUMNS = {
    "mqa": [
        "model",
        "distractors",
        "frames",
        "n",
        "accuracy",
        "accuracy_strict",
        "accuracy_likelihood",
        "path",
    ],
    "sap": [
        "model",
        "frames",
        "n",
        "first_pass",
        "second_pass",
        "second_pass_strict",
        "second_pass_likelihood",
        "path",
    ],
    "recognition": [
        "model",
        "top_k",
        "frames",
        "text",
        "n",
        "verb_top1",
        "noun_top1",
        "action_top1",
        "specialist_verb_top1",
        "specialist_noun_top1",
        "specialist_action_top1",
        "top_k_recall",
        "path",
    ],
    "bench": ["model", "benchmark", "n", "accuracy", "mode", "path"],
}


def collect(summaries: Sequence[str | Path], layout: RunLayout) -> Results:
    """Read every summary of the run; each one the layout expects must be among ``summaries``."""
    if not layout.models or not layout.frames:
        raise InputError(None, "the run evaluates no model or no frame count: nothing to tabulate")
    given: dict[tuple[str, tuple[Any, ...]], Path] = {}
    for raw in summaries:
        path = Path(raw)
        model = path.parent.name
        if model not in layout.models:
            raise InputError(
                path, f"summary of model '{model}', which is not among the run's models {list(layout.models)}"
            )
        key = classify(path)
        if (model, key) in given:
            raise InputError(path, f"given twice (also as {given[model, key]})")
        given[model, key] = path
    # Where a summary that was not given would be: beside the given ones.
    eval_dir = Path(summaries[0]).parent.parent if summaries else Path("results/eval")

    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _COLUMNS}
    for model in layout.models:
        for key in layout.expected(model):
            path = given.get((model, key))
            if path is None:
                expected = eval_dir / model / summary_name(key)
                raise InputError(
                    expected, "evaluation summary is missing: it is not among the given summaries"
                )
            summary = _Summary(path)
            kind = key[0]
            if kind == "mqa":
                rows[kind].append(_mqa_row(summary, model, key[1], key[2]))
            elif kind == "sap":
                rows[kind].append(_sap_row(summary, model, key[1]))
            elif kind == "recognition":
                rows[kind].append(_recognition_row(summary, model, key[1], key[2]))
            else:
                rows[kind].append(_bench_row(summary, model, key[1]))
    frames = {kind: pd.DataFrame(rows[kind], columns=columns) for kind, columns in _COLUMNS.items()}
    return Results(layout=layout, **frames)


def read_specialist_accuracy(path: str | Path, variant: str) -> dict[str, float]:
    """Validation top-1 (verb, noun, action) in % of a built-in specialist, from the summary of
    ``results/<dataset>/specialist/metrics.json``."""
    summary = _Summary(Path(path))
    return {
        f"{part}_top1": summary.number(f"variants.{variant}.val.{part}_top1")  # type: ignore[misc]
        for part in ("verb", "noun", "action")
    }


LOSS_COLUMNS = ("step", "loss", "lm_loss")


def read_loss_curve(path: str | Path) -> pd.DataFrame:
    """``step, loss, lm_loss`` of a training run's ``loss.csv``, in step order."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "training loss curve is missing")
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read the loss curve ({exc})") from exc
    for column in LOSS_COLUMNS:
        if column not in frame.columns:
            raise InputError(path, "missing column", key=column)
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(
                path, f"expected a number, found {frame[column].iloc[row]!r}", line=csv_line(row), key=column
            )
        frame[column] = values
    if frame.empty:
        raise InputError(path, "the loss curve has no rows")
    return frame.loc[:, list(LOSS_COLUMNS)].sort_values("step", kind="stable").reset_index(drop=True)


def loss_curves(paths: Mapping[str, str | Path]) -> dict[str, pd.DataFrame]:
    return {model: read_loss_curve(path) for model, path in paths.items()}
