"""Why a generated EK100-MQA answer misses: the action, or only its wording.

The paper's score asks for the right option's text word for word. An answer can name the right
action in other words ("close cupboard" where the option reads "shut cupboard") and score
nothing, so the score mixes two skills: recognising the action and reading its wording off the
option list. This table (``results/<dataset>/tables/answer_wording.{csv,md}``) splits them per
model and distractor set; ``LEGEND`` says what each column holds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from actionmqa.ek100.annotations import AnnotationSet
from actionmqa.ek100.labels import narration_pools
from actionmqa.errors import InputError
from actionmqa.mqa.records import MQARecord, read_benchmark
from actionmqa.report.analysis import analysis_markdown, read_answer_rows
from actionmqa.report.collect import DISTRACTORS

LEGEND = {
    "accuracy": "the paper's score: the parsed answer equals the right option's text",
    "names_action": "the parsed answer is a narration the annotations give to the right class",
    "wording": "of the answers that name the right action, the share in the option's own words",
    "letter": "the strict letter score",
    "letter_text_agree": "the answer's text is the option its own letter labels",
    "plain_wording": (
        "the score of a model that names every action right, always in its class's most frequent"
        " train narration; above it, a model reads wordings off the list"
    ),
}
COLUMNS = ("model", "distractors", "frames", "n", *LEGEND)


class Prediction(BaseModel):
    """The fields of an ``eval mqa`` predictions row this table reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    uid: str
    parsed_answer: str
    parsed_index: int | None
    correct: bool
    correct_strict: bool


@dataclass(frozen=True)
class NarrationIndex:
    """The classes each narration belongs to (train and validation), and each class's commonest
    train narration (ties: the first in string order)."""

    classes_of: Mapping[str, frozenset[str]]
    plain: Mapping[str, str]

    @classmethod
    def from_annotations(cls, annotations: AnnotationSet) -> NarrationIndex:
        classes: dict[str, set[str]] = {}
        for split in ("train", "validation"):
            for vn, narrations in narration_pools(annotations.split(split)).items():
                for narration in narrations:
                    classes.setdefault(narration, set()).add(vn)
        plain = {
            vn: min(Counter(narrations).items(), key=lambda item: (-item[1], item[0]))[0]
            for vn, narrations in narration_pools(annotations.split("train")).items()
        }
        return cls({text: frozenset(vns) for text, vns in classes.items()}, plain)

    def names(self, text: str, vn: str) -> bool:
        return vn in self.classes_of.get(text, frozenset())


def read_predictions(path: Path) -> list[Prediction]:
    """An EK100-MQA predictions JSONL; a bad line, a repeated uid or an empty file raises ``InputError``."""
    return read_answer_rows(path, Prediction, "EK100-MQA prediction", "uid")


def wording_row(
    records: Sequence[MQARecord], predictions: Sequence[Prediction], index: NarrationIndex, source: Path
) -> dict[str, Any]:
    """The table's numbers for one predictions file (``source``), over the questions it answers."""
    by_uid = {record.uid: record for record in records}
    missing = [row.uid for row in predictions if row.uid not in by_uid]
    if missing:
        raise InputError(source, "the benchmark has no question with this uid", key=missing[0])
    answered = [(row, by_uid[row.uid]) for row in predictions]
    n = len(answered)
    correct = sum(row.correct for row, _ in answered)
    named = sum(index.names(row.parsed_answer, record.gt_vn) for row, record in answered)
    agree = sum(
        row.parsed_index is not None and record.options[row.parsed_index] == row.parsed_answer
        for row, record in answered
    )
    plain = sum(
        index.plain.get(record.gt_vn) == record.options[record.answer_index] for _, record in answered
    )
    return {
        "n": n,
        "accuracy": correct / n,
        "names_action": named / n,
        "wording": correct / named if named else None,
        "letter": sum(row.correct_strict for row, _ in answered) / n,
        "letter_text_agree": agree / n,
        "plain_wording": plain / n,
    }


_DISTRACTORS = "|".join(DISTRACTORS)
_PREDICTIONS = re.compile(rf"ek100_mqa_(?P<distractors>{_DISTRACTORS})_(?P<frames>\d+)f\.predictions\.jsonl")
_BENCHMARK = re.compile(rf"\w+_(?P<distractors>{_DISTRACTORS})\.jsonl")


@dataclass(frozen=True)
class WordingInput:
    """One evaluated distractor set: its predictions and the benchmark they answer."""

    model: str
    distractors: str
    frames: int
    predictions: Path
    benchmark: Path


def pair_inputs(predictions: Sequence[Path], benchmarks: Sequence[Path]) -> list[WordingInput]:
    """Each ``eval/<model>/ek100_mqa_<distractors>_<N>f.predictions.jsonl`` with the benchmark
    ``<split>_<distractors>.jsonl`` of its distractor set, in the order the predictions come."""
    by_distractors: dict[str, Path] = {}
    for path in benchmarks:
        match = _BENCHMARK.fullmatch(path.name)
        if match is None:
            raise InputError(path, "not an EK100-MQA benchmark name (<split>_<random|medium|hard>.jsonl)")
        if match["distractors"] in by_distractors:
            raise InputError(path, f"a second benchmark for {match['distractors']} distractors")
        by_distractors[match["distractors"]] = path
    inputs = []
    for path in predictions:
        match = _PREDICTIONS.fullmatch(path.name)
        if match is None:
            raise InputError(
                path, "not an EK100-MQA predictions name (ek100_mqa_<distractors>_<N>f.predictions.jsonl)"
            )
        if match["distractors"] not in by_distractors:
            raise InputError(path, f"no benchmark given for {match['distractors']} distractors")
        benchmark = by_distractors[match["distractors"]]
        inputs.append(
            WordingInput(path.parent.name, match["distractors"], int(match["frames"]), path, benchmark)
        )
    return inputs


def wording_table(inputs: Sequence[WordingInput], index: NarrationIndex) -> pd.DataFrame:
    """One row per input, in the order given; each benchmark is read once, however many models answer it."""
    benchmarks = {path: read_benchmark(path) for path in dict.fromkeys(item.benchmark for item in inputs)}
    rows = [
        {
            "model": item.model,
            "distractors": item.distractors,
            "frames": item.frames,
            **wording_row(
                benchmarks[item.benchmark], read_predictions(item.predictions), index, item.predictions
            ),
        }
        for item in inputs
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


TITLE = "Generated EK100-MQA answers: the action and its wording"


def to_markdown(table: pd.DataFrame) -> str:
    """The table as ``answer_wording.md`` holds it."""
    return analysis_markdown(table, TITLE, LEGEND)
