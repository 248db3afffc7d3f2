"""Stopping before the job's time limit: SLURM's durations, and when the callback stops."""

from __future__ import annotations

import pytest
from transformers import TrainerControl, TrainerState, TrainingArguments

from actionmqa.train.timelimit import TimeLimitCallback, job_time_left, parse_slurm_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0:45", 45),  # squeue %L: minutes:seconds under an hour
        ("1:58", 118),
        ("23:59:30", 86370),
        ("1-00:00:00", 86400),
        ("2-03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("UNLIMITED", None),
        ("NOT_SET", None),
        ("INVALID", None),
    ],
)
def test_slurm_durations(text, seconds):
    assert parse_slurm_duration(text + "\n") == seconds


def test_time_left_comes_from_the_option_then_slurm_then_nowhere(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert job_time_left(90.0) == (90.0, "given with --time-left")
    assert job_time_left(None) == (None, "not a SLURM job")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def args(tmp_path_factory):
    return TrainingArguments(output_dir=str(tmp_path_factory.mktemp("out")), use_cpu=True, report_to="none")


def run_steps(callback: TimeLimitCallback, clock: Clock, args, step_seconds: list[float], max_steps: int):
    """Steps of the given durations until the callback stops training; returns the control flags."""
    state, control = TrainerState(max_steps=max_steps), TrainerControl()
    callback.on_train_begin(args, state, control)
    for seconds in step_seconds:
        clock.now += seconds
        state.global_step += 1
        callback.on_step_end(args, state, control)
        if control.should_training_stop:
            break
    return control


def test_training_stops_with_a_checkpoint_when_the_reserve_and_a_step_no_longer_fit(args):
    clock = Clock()
    # 100 s left, 30 s reserve: after the steps ending at 10 and 20 s, 80 s are left (more than
    # 30 s + the longest step, 10 s); after the 30 s step ending at 50 s, 50 s are left, less than
    # 30 s + 30 s: it stops there, at step 3, before a step that might not fit
    callback = TimeLimitCallback(100.0, 30.0, "test", clock=clock)
    control = run_steps(callback, clock, args, [10, 10, 30, 15, 10], max_steps=100)
    assert callback.stopped_at == 3
    assert control.should_save and control.should_training_stop


def test_no_limit_never_stops(args):
    clock = Clock()
    callback = TimeLimitCallback(None, 30.0, "not a SLURM job", clock=clock)
    control = run_steps(callback, clock, args, [1000] * 5, max_steps=100)
    assert callback.stopped_at is None and not control.should_training_stop


def test_the_last_step_finishes_the_run_instead_of_stopping_it(args):
    clock = Clock()
    callback = TimeLimitCallback(0.0, 30.0, "test", clock=clock)
    control = run_steps(callback, clock, args, [5], max_steps=1)
    assert callback.stopped_at is None and not control.should_save
