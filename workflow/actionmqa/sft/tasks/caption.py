"""Captioning: "describe what you see" answered with a teacher's first-person caption (``gpt-gt-reason``).

Asked with LLaVAction's egocentric caption prompt in the recipe's mixture, or with a general
description request in the toy base's instruction data (``caption.prompt``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from actionmqa.prompts import caption_prompt, general_caption_prompt
from actionmqa.sft.clip_texts import ClipTexts
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample, Skip

TASK = "caption"
QUESTION_TYPE = "gpt-gt-reason"
#: ``caption.prompt`` of a mixture -> the prompt it asks with.
PROMPTS: dict[str, Callable[[], str]] = {"llavaction": caption_prompt, "general": general_caption_prompt}


@dataclass(frozen=True)
class Caption:
    texts: ClipTexts
    fraction: float
    prompt: str = "llavaction"
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample] | Skip:
        text = self.texts.for_segment(segment)
        if text.dropped is not None:
            return Skip(text.dropped)
        return [Sample(self.name, QUESTION_TYPE, PROMPTS[self.prompt](), text.caption, teacher=text.teacher)]
