"""What every task generator returns, so one record builder serves them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from actionmqa.sft.segments import Segment


@dataclass(frozen=True)
class Sample:
    """One conversation before it becomes a record.

    ``prompt`` is the task prompt without the video placeholder or time instruction (the record
    builder adds those). ``start_sec``/``stop_sec`` override the segment's span (temporal
    detection pads it). ``part`` numbers several samples of one segment and task (QA pairs).
    ``tags`` are counted per task in the manifest (``prior_actions``, text fallbacks, ...).
    """

    task: str
    question_type: str
    prompt: str
    answer: str
    start_sec: float | None = None
    stop_sec: float | None = None
    teacher: str | None = None
    part: int | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skip:
    """A selected segment that yields nothing, and why (counted and listed in the manifest)."""

    reason: str


class TaskGenerator(Protocol):
    """``name`` is the records' ``task`` and the purpose of its keep draw."""

    @property
    def name(self) -> str: ...

    @property
    def fraction(self) -> float: ...

    def samples(self, segment: Segment) -> Sequence[Sample] | Skip: ...
