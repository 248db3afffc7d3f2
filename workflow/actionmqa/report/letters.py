"""Why a benchmark answer misses: the option it names, or the letter it gives that option.

The five benchmarks are scored by the answer's letter (lmms-eval's parsers). A model that answers
``"X. option text"`` can name the right option in its text and still put a wrong letter before it,
and the letter score cannot tell that from not knowing. This table
(``results/<dataset>/tables/benchmark_letters.{csv,md}``) reads the text of each answer against
the question's options, per model and benchmark, over the questions the lmms-eval score counts
(``n``; ``excluded``: those it leaves out, as MVBench's empty answers); ``LEGEND`` says what each
column holds. A model that answers with a letter alone names no option: its text shares are 0
and the shares among naming answers empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from actionmqa.bench.letters import index_of
from actionmqa.bench.records import ParseMode, Question
from actionmqa.errors import InputError
from actionmqa.report.analysis import analysis_markdown, read_answer_rows

LEGEND = {
    "accuracy": "the benchmark's score: the letter lmms-eval's parser reads is the right one",
    "chance": "the score of a uniform guess among each question's options",
    "names_option": "the answer's text (after its leading 'X. ', if any) is one option's text, word for word",
    "text_accuracy": "the answer's text is the right option's text",
    "right_when_named": "of the answers that name an option, the share that name the right one",
    "letter_when_named": "of the answers that name an option, the share that open with that option's letter",
}
COLUMNS = ("model", "benchmark", "n", "excluded", *LEGEND)
LMMS_EVAL = ParseMode.LMMS_EVAL.value

_LEADING_LETTER = re.compile(r"\s*([A-Z])\.\s+(.*\S)\s*", re.DOTALL)


class BenchPrediction(BaseModel):
    """The fields of an ``eval bench`` predictions row this table reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    output: str
    correct: Mapping[str, bool | None]


@dataclass(frozen=True)
class ReadAnswer:
    """An output split into the letter it opens with (if any) and its text."""

    letter: str | None
    text: str

    @classmethod
    def of(cls, output: str) -> ReadAnswer:
        match = _LEADING_LETTER.fullmatch(output)
        if match is None:
            return cls(None, output.strip())
        return cls(match[1], match[2])

    def named_option(self, question: Question) -> int | None:
        """The option whose text the answer's text is; ``None`` for none, or for two equal options."""
        hits = [i for i, option in enumerate(question.options) if option.strip() == self.text]
        return hits[0] if len(hits) == 1 else None


def read_predictions(path: Path) -> list[BenchPrediction]:
    """A benchmark predictions JSONL; a bad line, a repeated id or an empty file raises ``InputError``."""
    return read_answer_rows(path, BenchPrediction, "benchmark prediction", "id")


def letters_row(
    questions: Sequence[Question], predictions: Sequence[BenchPrediction], source: Path
) -> dict[str, Any]:
    """The table's numbers for one predictions file (``source``), over the questions its lmms-eval
    score counts; the others (MVBench's empty answers, unlabelled questions) are counted apart."""
    by_id = {question.id: question for question in questions}
    scored: list[tuple[bool, ReadAnswer, Question]] = []
    for row in predictions:
        question = by_id.get(row.id)
        if question is None:
            raise InputError(source, "the benchmark has no question with this id", key=row.id)
        if LMMS_EVAL not in row.correct:
            raise InputError(source, f"no {LMMS_EVAL!r} entry under 'correct'", key=row.id)
        score = row.correct[LMMS_EVAL]
        if score is not None:
            scored.append((score, ReadAnswer.of(row.output), question))
    n = len(scored)
    named = [
        (answer, question, option)
        for _, answer, question in scored
        if (option := answer.named_option(question)) is not None
    ]
    right = sum(option == question.answer for _, question, option in named)
    agree = sum(
        answer.letter is not None and index_of(answer.letter) == option for answer, _, option in named
    )
    return {
        "n": n,
        "excluded": len(predictions) - n,
        "accuracy": share(sum(score for score, _, _ in scored), n),
        "chance": share(sum(1 / len(question.options) for _, _, question in scored), n),
        "names_option": share(len(named), n),
        "text_accuracy": share(right, n),
        "right_when_named": share(right, len(named)),
        "letter_when_named": share(agree, len(named)),
    }


def share(count: float, of: int) -> float | None:
    """``count / of``, or ``None`` where there is nothing to count."""
    return count / of if of else None


_PREDICTIONS = re.compile(r"(?P<benchmark>\w+)\.predictions\.jsonl")


@dataclass(frozen=True)
class LettersInput:
    """One model's answers to one benchmark: ``eval/<model>/<benchmark>.predictions.jsonl``."""

    model: str
    benchmark: str
    predictions: Path

    @classmethod
    def of(cls, path: Path) -> LettersInput:
        match = _PREDICTIONS.fullmatch(path.name)
        if match is None:
            raise InputError(path, "not a benchmark predictions name (<benchmark>.predictions.jsonl)")
        return cls(path.parent.name, match["benchmark"], path)


def letters_table(
    inputs: Sequence[LettersInput], questions: Mapping[str, Sequence[Question]]
) -> pd.DataFrame:
    """One row per input, in the order given; ``questions`` holds each benchmark's questions by name."""
    rows = []
    for item in inputs:
        if item.benchmark not in questions:
            raise InputError(item.predictions, f"no questions given for the benchmark {item.benchmark!r}")
        row = letters_row(questions[item.benchmark], read_predictions(item.predictions), item.predictions)
        rows.append({"model": item.model, "benchmark": item.benchmark, **row})
    return pd.DataFrame(rows, columns=list(COLUMNS))


TITLE = "Benchmark answers: the option named and the letter given"


def to_markdown(table: pd.DataFrame) -> str:
    """The table as ``benchmark_letters.md`` holds it."""
    return analysis_markdown(table, TITLE, LEGEND)
