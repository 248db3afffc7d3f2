"""Stopping before the job's time limit with a checkpoint, so that the resubmitted job resumes from it.

SLURM kills a job at its time limit (SIGTERM, then SIGKILL after ``KillWait``, 30 s by default):
too soon to save a large ZeRO-3 checkpoint. So rank 0 asks SLURM once, when training starts, how
long the job has left (``squeue -o %L``), and after every optimizer step checks whether what is
left still exceeds the recipe's ``time_limit_reserve_s`` (the time a checkpoint save needs) plus
the longest step so far. When it does not, all ranks save a checkpoint and training stops; the
run then exits with status 75 (EX_TEMPFAIL), the job fails, Snakemake resubmits it (the
profile's ``retries``) and the new job resumes from that checkpoint. Rank 0's view is broadcast,
so every rank stops at the same step. Outside SLURM there is no limit unless one is given.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

log = logging.getLogger(__name__)

#: Exit status of a run stopped for its time limit (sysexits' EX_TEMPFAIL: try again).
EXIT_TIME_LIMIT = 75
_DURATION = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(?:(\d+):)?(\d+)$")


def parse_slurm_duration(text: str) -> float | None:
    """Seconds in SLURM's ``[days-][hours:]minutes:seconds``; ``None`` for UNLIMITED, NOT_SET, INVALID."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    days, first, second, last = match.groups()
    # one colon: minutes:seconds; two: hours:minutes:seconds (SLURM's %L never gives bare seconds
    # with a day part, so "d-h:m:s" is the only form with both)
    hours, minutes = (first, second) if second is not None else (None, first)
    return float(int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(last))


def slurm_time_left(job_id: str) -> float | None:
    """What SLURM says is left of the job's time limit, in seconds; ``None`` when it cannot say."""
    try:
        done = subprocess.run(
            ["squeue", "--noheader", "--jobs", job_id, "--format", "%L"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not read the time left of SLURM job %s (%s): no time limit", job_id, exc)
        return None
    return parse_slurm_duration(done.stdout)


def job_time_left(explicit_s: float | None) -> tuple[float | None, str]:
    """The time this run may take, and where that comes from: given, SLURM's, or none."""
    if explicit_s is not None:
        return explicit_s, "given with --time-left"
    job_id = os.environ.get("SLURM_JOB_ID")
    if job_id is None:
        return None, "not a SLURM job"
    return slurm_time_left(job_id), f"SLURM job {job_id}"


def _from_rank0(value: float, device: torch.device) -> float:
    """Rank 0's ``value`` on every rank (a collective: every rank calls it at the same point)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


class TimeLimitCallback(TrainerCallback):
    """Saves a checkpoint and stops training when the job's time is nearly up; ``stopped_at`` says when.

    ``time_left_s`` is only read on rank 0 (the others may pass ``None``).
    """

    def __init__(
        self,
        time_left_s: float | None,
        reserve_s: float,
        source: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.time_left_s = time_left_s
        self.reserve_s = reserve_s
        self.source = source
        self.clock = clock
        self.deadline: float | None = None
        self.longest_step_s = 0.0
        self.stopped_at: int | None = None
        self._last: float | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        left = _from_rank0(-1.0 if self.time_left_s is None else self.time_left_s, args.device)
        self._last = self.clock()
        if left < 0:
            return
        self.deadline = self._last + left
        if state.is_world_process_zero:
            log.info(
                "time limit: %.0f s left (%s); training stops with a checkpoint when less than"
                " %.0f s (time_limit_reserve_s) plus the longest step remain",
                left,
                self.source,
                self.reserve_s,
            )

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.deadline is None or self._last is None:
            return
        now = self.clock()
        self.longest_step_s = max(self.longest_step_s, now - self._last)
        self._last = now
        if state.global_step >= state.max_steps:
            return  # the last step: training ends here anyway, with the final model
        left = self.deadline - now
        stop = _from_rank0(float(left < self.reserve_s + self.longest_step_s), args.device)
        if not stop:
            return
        control.should_save = True
        control.should_training_stop = True
        self.stopped_at = state.global_step
        if state.is_world_process_zero:
            log.warning(
                "time limit: %.0f s left after global step %d of %d (longest step %.1f s, reserve %.0f s):"
                " saving checkpoint-%d and stopping",
                left,
                state.global_step,
                state.max_steps,
                self.longest_step_s,
                self.reserve_s,
                state.global_step,
            )
