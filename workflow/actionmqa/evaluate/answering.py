"""What every generative evaluation shares: the chat sample around a task prompt, and batches.

The MQA, SAP and two-stage verbs differ only in the task prompt and in how an answer is read;
wrapping the prompt lives here once, so those verbs hold nothing but their own rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

from actionmqa.model.processing import ChatSample
from actionmqa.prompts import chat_prompt, llava_user_text, time_instruction

T = TypeVar("T")


def chat_sample(task_prompt: str, frames: np.ndarray, duration: float | None = None) -> ChatSample:
    """The upstream ChatML user turn around ``task_prompt`` (``mqa.question``: the MQA prompt).

    With ``duration`` the time instruction states it and the frame count; callers pass the
    unclipped span, as upstream does.
    """
    timing = None if duration is None else time_instruction(duration, len(frames))
    return ChatSample(
        prompt=chat_prompt(llava_user_text(task_prompt, time_instruction=timing)), frames=frames
    )


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"batch size must be positive, got {size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
