"""One benchmark question: the JSONL record of the frozen EK100-MQA file (spec/llavaction.md §1.6).

The model validates itself, so the builder cannot emit and an evaluator cannot read a record
whose answer does not point at the ground truth or whose options repeat.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from actionmqa.io import read_jsonl_models


class MQARecord(BaseModel):
    """``options`` are plain texts (no letters); ``option_vns[answer_index] == gt_vn``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: str
    narration_id: str
    video_id: str
    participant_id: str
    start_sec: float
    end_sec: float
    narration: str
    options: tuple[str, ...]
    option_vns: tuple[str, ...]
    answer_index: int
    gt_vn: str
    distractor_source: str
    seed: int

    @model_validator(mode="after")
    def _consistent(self) -> MQARecord:
        if len(self.options) != len(self.option_vns) or len(self.options) < 2:
            raise ValueError(f"{len(self.options)} options for {len(self.option_vns)} classes")
        if not 0 <= self.answer_index < len(self.options):
            raise ValueError(f"answer_index {self.answer_index} outside 0..{len(self.options) - 1}")
        if self.option_vns[self.answer_index] != self.gt_vn:
            raise ValueError(f"option_vns[{self.answer_index}] is not the ground truth {self.gt_vn}")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"options repeat a text: {list(self.options)!r}")
        if len(set(self.option_vns)) != len(self.option_vns):
            raise ValueError(f"options repeat a class: {list(self.option_vns)!r}")
        return self

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


def read_benchmark(path: Path) -> list[MQARecord]:
    """All records of a benchmark file; a bad line raises ``InputError`` naming its line number."""
    return [record for _, record in read_jsonl_models(path, MQARecord, "MQA record")]
