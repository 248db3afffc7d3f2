"""Direct prediction: the open question "what are you doing?" answered with the clip's narration."""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.prompts import direct_narration_prompt
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample

TASK = "direct_narration"


@dataclass(frozen=True)
class DirectNarration:
    fraction: float
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample]:
        return [Sample(self.name, TASK, direct_narration_prompt(), segment.narration)]
