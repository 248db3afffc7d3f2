"""The loss curve as CSV, one row per logged step, that survives a kill and a resume.

Rows are appended and flushed as they are logged, so a killed run keeps its curve. When
training (re)starts, the file is rewritten from the Trainer's ``log_history``, which a resumed
run restores from its checkpoint: rows logged after that checkpoint are dropped, and rows lost
with the file (Snakemake deletes the outputs of an incomplete job) come back, so every step
appears once and the curve is the one the final weights went through.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from actionmqa.io import atomic_open
from actionmqa.train.trainer import LOSS_TERMS

COLUMNS = ("step", "epoch", "loss", *LOSS_TERMS, "learning_rate")


def curve_row(step: int, epoch: float, logs: dict[str, Any]) -> dict[str, Any]:
    """One CSV row; a term the run does not have (no action token: no head losses) stays empty."""
    return {"step": step, "epoch": epoch, **{column: logs.get(column, "") for column in COLUMNS[2:]}}


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
        logged = [entry for entry in state.log_history if "loss" in entry]
        with atomic_open(self.path, newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(curve_row(entry["step"], entry["epoch"], entry) for entry in logged)

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
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            csv.DictWriter(handle, COLUMNS, lineterminator="\n").writerow(
                curve_row(state.global_step, state.epoch, logs)
            )
