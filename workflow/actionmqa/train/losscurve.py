"""The loss curve as CSV, one row per logged step, that survives a kill and a resume.

Rows are appended and flushed as they are logged, so a killed run keeps its curve. A resumed
run restarts from its last checkpoint, which may be older than the last logged row; those
later rows are dropped when training begins again, so every step appears once and the
curve is the one the final weights actually went through.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from actionmqa.io import atomic_open
from actionmqa.train.trainer import LOSS_TERMS

COLUMNS = ("step", "epoch", "loss", *LOSS_TERMS, "learning_rate")


def read_loss_curve(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class LossCurveCallback(TrainerCallback):
    """Writes ``step,epoch,loss,lm_loss,verb_loss,noun_loss,action_loss,learning_rate`` (rank 0 only)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        kept = []
        if self.path.is_file():
            kept = [row for row in read_loss_curve(self.path) if int(row["step"]) <= state.global_step]
        with atomic_open(self.path, newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(kept)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, **{c: logs.get(c, "") for c in COLUMNS[2:]}}
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            csv.DictWriter(handle, COLUMNS, lineterminator="\n").writerow(row)
