"""EK100-MQA evaluation (spec/llavaction.md §6.1): one question per benchmark record, three readings,
each summarised as a percentage, the paper's unit:

- ``accuracy``: upstream's reading (trailing commas stripped, ``process_raw_pred``) + exact
  match on the option text, the number the paper reports;
- ``accuracy_strict``: the answer must be a letter (``"C"``, ``"C."``, ``"C. text"``);
- ``accuracy_likelihood``: the option whose ``"X. text"`` the model finds most probable.

Options are lettered A.. in the record's order, the order the benchmark froze.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from actionmqa.answers import score_mqa_output
from actionmqa.errors import InputError
from actionmqa.evaluate.answering import chat_sample
from actionmqa.evaluate.clips import ClipTask
from actionmqa.evaluate.likelihood import ScoreAnswers, best_answer
from actionmqa.model.processing import ChatSample
from actionmqa.mqa.records import MQARecord
from actionmqa.prompts import mqa_answer, mqa_prompt
from actionmqa.video.readers import ClipRequest

SUMMARY_ACCURACIES = ("accuracy", "accuracy_strict", "accuracy_likelihood")


class MQAQuestions(ClipTask[MQARecord]):
    """A task over a frozen benchmark's questions, keyed by uid (EK100-MQA, its SAP pass, an API
    model on it); subclasses set ``records`` and ``clips``."""

    records: list[MQARecord]

    def items(self) -> Sequence[MQARecord]:
        return self.records

    def key(self, item: MQARecord) -> str:
        return item.uid

    def describe(self, item: MQARecord) -> Any:
        return item.model_dump(mode="json")

    def clip_request(self, item: MQARecord) -> ClipRequest:
        return clip_request(item, self.clips.frames)


def clip_request(record: MQARecord, n_frames: int) -> ClipRequest:
    return ClipRequest(
        record.uid, record.participant_id, record.video_id, record.start_sec, record.end_sec, n_frames
    )


def question(record: MQARecord, frames: np.ndarray, with_time_instruction: bool) -> ChatSample:
    """The §1.4 prompt in ChatML; the time instruction states the unclipped span, as upstream."""
    duration = record.end_sec - record.start_sec if with_time_instruction else None
    return chat_sample(mqa_prompt(record.options), frames, duration)


def option_answers(record: MQARecord) -> list[str]:
    """``["A. take cup", "B. ...", ...]``: the answers the likelihood view compares."""
    return [mqa_answer(index, text) for index, text in enumerate(record.options)]


def prediction(
    record: MQARecord,
    raw_output: str,
    loglikelihoods: Sequence[float] | None,
    strip_trailing_commas: bool = True,
) -> dict[str, Any]:
    """One row of the predictions JSONL; ``strip_trailing_commas`` as in ``answers.score_mqa_output``."""
    scored = score_mqa_output(record.model_dump(), raw_output, strip_trailing_commas=strip_trailing_commas)
    likelihood_index = None if loglikelihoods is None else best_answer(loglikelihoods)
    return {
        "uid": record.uid,
        "answer_index": record.answer_index,
        "raw_output": raw_output,
        "parsed_answer": scored.parsed_text,
        "parsed_index": scored.parsed_index,
        "correct": scored.correct_upstream,
        "correct_strict": scored.correct_strict,
        "option_loglikelihoods": None if loglikelihoods is None else list(loglikelihoods),
        "likelihood_index": likelihood_index,
        "correct_likelihood": None if likelihood_index is None else likelihood_index == record.answer_index,
        "unparsed": scored.parsed_text not in record.options,
    }


def check_unique_uids(records: Sequence[MQARecord]) -> None:
    repeated = sorted(uid for uid, count in Counter(r.uid for r in records).items() if count > 1)
    if repeated:
        raise InputError(None, f"benchmark uids repeat: {repeated[:5]}", key="uid")


def answer_question(
    record: MQARecord, asked: ChatSample, raw_output: str, score_answers: ScoreAnswers | None
) -> dict[str, Any]:
    """The prediction row of one generated answer, with the options' likelihoods when scored."""
    scores = None if score_answers is None else score_answers(asked, option_answers(record))
    return prediction(record, raw_output, scores)


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracies in % over the rows (``accuracy_likelihood`` is None when likelihoods were skipped)."""
    if not rows:
        raise InputError(None, "no benchmark questions were evaluated")
    n = len(rows)
    scored = [row["correct_likelihood"] for row in rows if row["correct_likelihood"] is not None]
    return {
        "n": n,
        "accuracy": 100 * sum(row["correct"] for row in rows) / n,
        "accuracy_strict": 100 * sum(row["correct_strict"] for row in rows) / n,
        "accuracy_likelihood": 100 * sum(scored) / n if len(scored) == n else None,
        "unparsed": sum(row["unparsed"] for row in rows),
    }
