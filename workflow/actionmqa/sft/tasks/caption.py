"""Captioning: "describe what you see" answered with a teacher's first-person caption (``gpt-gt-reason``)."""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.prompts import caption_prompt
from actionmqa.sft.clip_texts import ClipTexts
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample, Skip

TASK = "caption"
QUESTION_TYPE = "gpt-gt-reason"


@dataclass(frozen=True)
class Caption:
    texts: ClipTexts
    fraction: float
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample] | Skip:
        text = self.texts.for_segment(segment)
        if text.dropped is not None:
            return Skip(text.dropped)
        return [Sample(self.name, QUESTION_TYPE, caption_prompt(), text.caption, teacher=text.teacher)]
