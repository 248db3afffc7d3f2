"""Step cost: step times from a controlled clock, the median that ignores warm-up, the logged line."""

from __future__ import annotations

import logging

from transformers import TrainerControl, TrainerState, TrainingArguments

from actionmqa.train.cost import StepCost, StepCostCallback


class Clock:
    def __init__(self, times: list[float]) -> None:
        self.times = iter(times)

    def __call__(self) -> float:
        return next(self.times)


def run_steps(callback: StepCostCallback, steps: int, state: TrainerState) -> None:
    args, control = TrainingArguments(output_dir="unused", report_to="none"), TrainerControl()
    callback.on_train_begin(args, state, control)
    for _ in range(steps):
        callback.on_step_end(args, state, control)
    callback.on_train_end(args, state, control)


def test_step_times_run_from_step_end_to_step_end_and_the_median_ignores_warm_up(caplog) -> None:
    # train begins at 10; steps end at 19 (9 s of warm-up), 20, 21.5, 22.5, 27.5 (a checkpoint save)
    callback = StepCostCallback(clock=Clock([10.0, 19.0, 20.0, 21.5, 22.5, 27.5]))
    with caplog.at_level(logging.INFO, logger="actionmqa.train.cost"):
        run_steps(callback, 5, TrainerState(is_world_process_zero=True))
    assert callback.durations == [9.0, 1.0, 1.5, 1.0, 5.0]
    assert callback.cost() == StepCost(5, 9.0, 1.5, None, None)
    assert caplog.messages == ["5 steps this run: median 1.500 s/step (first 9.000 s)"]


def test_only_rank_zero_logs(caplog) -> None:
    callback = StepCostCallback(clock=Clock([0.0, 1.0, 2.0]))
    with caplog.at_level(logging.INFO, logger="actionmqa.train.cost"):
        run_steps(callback, 2, TrainerState(is_world_process_zero=False))
    assert caplog.messages == []


def test_a_run_without_steps_has_no_cost() -> None:
    callback = StepCostCallback(clock=Clock([0.0]))
    run_steps(callback, 0, TrainerState(is_world_process_zero=True))
    assert callback.cost() is None


def test_gpu_memory_is_described_in_gib() -> None:
    cost = StepCost(steps=20, first_s=4.0, median_s=0.25, peak_allocated_gib=11.5, peak_reserved_gib=13.25)
    assert cost.describe() == (
        "20 steps this run: median 0.250 s/step (first 4.000 s),"
        " peak GPU memory 11.50 GiB allocated, 13.25 GiB reserved"
    )
