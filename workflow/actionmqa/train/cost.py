"""What a run's steps cost: median step time and, on a GPU, peak memory, logged when training ends.

A step's time runs from the end of the one before (the start of training for the first), so it
holds data loading, logging and checkpoint saves too. The median, not the mean: the first steps
pay for warm-up (kernel selection, DeepSpeed's buckets) and a few for a checkpoint.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

log = logging.getLogger(__name__)

GIB = 2**30


@dataclass(frozen=True)
class StepCost:
    steps: int
    first_s: float
    median_s: float
    peak_allocated_gib: float | None
    peak_reserved_gib: float | None

    def describe(self) -> str:
        text = f"{self.steps} steps this run: median {self.median_s:.3f} s/step (first {self.first_s:.3f} s)"
        if self.peak_allocated_gib is not None:
            text += (
                f", peak GPU memory {self.peak_allocated_gib:.2f} GiB allocated,"
                f" {self.peak_reserved_gib:.2f} GiB reserved"
            )
        return text


class StepCostCallback(TrainerCallback):
    """Times every optimizer step of this process and logs a ``StepCost`` at the end (rank 0)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.durations: list[float] = []
        self._last: float | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self._last = self.clock()

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        now = self.clock()
        if self._last is not None:
            self.durations.append(now - self._last)
        self._last = now

    def cost(self) -> StepCost | None:
        if not self.durations:
            return None
        on_gpu = torch.cuda.is_available()
        return StepCost(
            steps=len(self.durations),
            first_s=self.durations[0],
            median_s=statistics.median(self.durations),
            peak_allocated_gib=torch.cuda.max_memory_allocated() / GIB if on_gpu else None,
            peak_reserved_gib=torch.cuda.max_memory_reserved() / GIB if on_gpu else None,
        )

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        cost = self.cost()
        if state.is_world_process_zero and cost is not None:
            log.info("%s", cost.describe())
