"""The one place a sample becomes an SFT record (spec/llavaction.md §2.1, LLaVA conversation JSONL).

Upstream stored only the option list in the human turn and rebuilt the prompt inside
``train.py``; here the human turn holds the full user text the model sees (``<video>``
placeholder, optional time instruction, task prompt), so the file alone says what was trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actionmqa.ek100.labels import LabelMap
from actionmqa.prompts import llava_user_text, time_instruction
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample

DATASET_NAME = "EK100"


class Turn(BaseModel):
    """One LLaVA turn, ``{"from": "human" | "gpt", "value": ...}`` on disk."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    speaker: Literal["human", "gpt"] = Field(alias="from")
    value: str


class SFTRecord(BaseModel):
    """One EK100 conversation; ``verb_id``/``noun_id``/``action_id`` feed the action heads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    uid: str
    narration_id: str
    task: str
    video: str
    participant_id: str
    video_id: str
    conversations: tuple[Turn, Turn]
    split: str
    question_type: str
    dataset_name: str
    start_timestamp: float
    end_timestamp: float
    verb_id: int
    noun_id: int
    action_id: int
    teacher: str | None

    def to_json(self) -> dict[str, Any]:
        """The JSONL object (turns under LLaVA's ``from`` key)."""
        return self.model_dump(mode="json", by_alias=True)


def record_id(key: str, task: str, part: int | None = None) -> str:
    """``"<uid>:<task>"``, plus ``":<part>"`` when one segment gives a task several records."""
    return f"{key}:{task}" if part is None else f"{key}:{task}:{part}"


@dataclass(frozen=True)
class RecordMaker:
    """Shared context of every record; ``frames`` set means the time instruction is on."""

    labels: LabelMap
    split: str
    frames: int | None = None

    def record(self, segment: Segment, sample: Sample) -> SFTRecord:
        start = segment.start_sec if sample.start_sec is None else sample.start_sec
        stop = segment.stop_sec if sample.stop_sec is None else sample.stop_sec
        timing = None if self.frames is None else time_instruction(stop - start, self.frames)
        return SFTRecord(
            id=record_id(segment.key, sample.task, sample.part),
            uid=segment.uid,
            narration_id=segment.narration_id,
            task=sample.task,
            video=segment.video,
            participant_id=segment.participant_id,
            video_id=segment.video_id,
            conversations=(
                Turn(speaker="human", value=llava_user_text(sample.prompt, time_instruction=timing)),
                Turn(speaker="gpt", value=sample.answer),
            ),
            split=self.split,
            question_type=sample.question_type,
            dataset_name=DATASET_NAME,
            start_timestamp=start,
            end_timestamp=stop,
            verb_id=segment.verb_class,
            noun_id=segment.noun_class,
            action_id=self.labels.action_id(segment.vn),
            teacher=sample.teacher,
        )
