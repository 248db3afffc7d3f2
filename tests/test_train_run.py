"""``actionmqa train run`` end to end on the tiny model: DeepSpeed ZeRO-2, loss curve, SIGKILL and resume.

One run is killed (SIGKILL, no chance to clean up) once its first checkpoint is complete, then
rerun with the same output folder; every test below reads that pair of runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from actionmqa.evaluate.loading import load_model
from actionmqa.model.configuration import PAPER_ACTION_LOSS_WEIGHTS
from actionmqa.train.checkpoints import latest_checkpoint
from actionmqa.train.losscurve import COLUMNS, read_loss_curve
from actionmqa.video.synthetic import write_pattern_tree
from tiny_llava_world import VIDEOS, sft_records, write_base_model, write_sft

N_RECORDS, BATCH, MAX_STEPS, SAVE_STEPS = 16, 2, 8, 2
RECIPE = f"""\
learning_rate: 5.0e-3
vision_tower_lr: 1.0e-3
warmup_ratio: 0.0
max_steps: {MAX_STEPS}
per_device_batch_size: {BATCH}
gradient_accumulation_steps: 1
bf16: false
deepspeed: zero2
save_steps: {SAVE_STEPS}
frames: 4
clip_cache: true
"""


def world(root: Path, recipe: str) -> dict[str, Path]:
    """Base model, videos, SFT data and recipe under ``root``; the paths a run is given."""
    paths = {
        "base": write_base_model(root / "base"),
        "videos": write_pattern_tree(root / "videos", VIDEOS, width=32, height=32).root,
        "data": write_sft(root / "sft.jsonl", sft_records(N_RECORDS)),
        "recipe": root / "recipe.yaml",
        "output": root / "train",
        "final": root / "models" / "tiny",
    }
    paths["recipe"].write_text(recipe)
    return paths


def train_command(paths: dict[str, Path]) -> list[str]:
    return [
        *("-m", "actionmqa", "train", "run"),
        *("--base", str(paths["base"]), "--data", str(paths["data"])),
        *("--video-root", str(paths["videos"]), "--layout", "whole", "--recipe", str(paths["recipe"])),
        *("--output-dir", str(paths["output"]), "--final", str(paths["final"])),
    ]


def quiet_env(root: Path) -> dict[str, str]:
    """One thread per process (the test machine is shared) and DeepSpeed's build cache under ``root``."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "TORCH_EXTENSIONS_DIR": str(root / "torch_extensions")}


def kill_after_first_checkpoint(
    command: list[str], checkpoints: Path, env: dict[str, str], log: Path
) -> None:
    with open(log, "w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 300
            while latest_checkpoint(checkpoints) is None:
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "no checkpoint within 300 s"
                time.sleep(0.05)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A run SIGKILLed after its first checkpoint, and its rerun: paths, logs, the step resumed from."""
    root = tmp_path_factory.mktemp("train_run")
    paths = world(root, RECIPE)
    env = quiet_env(root)
    command = [sys.executable, *train_command(paths)]
    kill_after_first_checkpoint(command, paths["output"] / "checkpoints", env, root / "killed.log")
    checkpoint = latest_checkpoint(paths["output"] / "checkpoints")
    drawn_before = (paths["output"] / "samples" / "rank0.txt").read_text().splitlines()
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    return {**paths, "log": rerun.stderr, "checkpoint": checkpoint, "drawn_before": drawn_before}


def test_rerun_resumes_from_the_checkpoint_the_kill_left(resumed):
    step = int(resumed["checkpoint"].name.split("-")[1])
    assert step % SAVE_STEPS == 0 and step < MAX_STEPS
    assert f"resuming from checkpoint {resumed['checkpoint']} (global step {step})" in resumed["log"]
    assert f"to global step {MAX_STEPS}" in resumed["log"]
    # One epoch is exactly MAX_STEPS batches: the killed run's first `step` batches and the rerun's
    # batches are the same seeded order, so together they cover every record once.
    drawn = (resumed["output"] / "samples" / "rank0.txt").read_text().splitlines()
    rerun_ids = drawn[len(resumed["drawn_before"]) :]
    assert len(rerun_ids) == BATCH * (MAX_STEPS - step)
    assert sorted(resumed["drawn_before"][: BATCH * step] + rerun_ids) == sorted(
        r.id for r in sft_records(N_RECORDS)
    )


def test_the_rerun_times_only_its_own_steps(resumed):
    step = int(resumed["checkpoint"].name.split("-")[1])
    assert f"{MAX_STEPS - step} steps this run: median " in resumed["log"]
    assert "peak GPU memory" not in resumed["log"]  # on a CPU there is none to report


def test_deepspeed_engine_ran_the_steps(resumed):
    assert "DeepSpeed ZeRO stage 2 from" in resumed["log"]
    assert "trained on DeepSpeedEngine" in resumed["log"]
    assert "`gradient_checkpointing` is deprecated" not in resumed["log"]  # passed by its current name
    assert (resumed["output"] / "deepspeed_zero2.json").is_file()


def test_loss_curve_has_the_header_and_one_row_per_step(resumed):
    path = resumed["output"] / "loss.csv"
    assert (
        path.read_text().splitlines()[0]
        == "step,epoch,loss,lm_loss,verb_loss,noun_loss,action_loss,learning_rate"
    )
    rows = read_loss_curve(path)
    assert [int(row["step"]) for row in rows] == list(range(1, MAX_STEPS + 1))
    assert all(row[column] != "" for row in rows for column in COLUMNS)
    assert float(rows[-1]["epoch"]) == 1.0


def test_loss_decreases(resumed):
    losses = [float(row["loss"]) for row in read_loss_curve(resumed["output"] / "loss.csv")]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses


def test_logged_loss_is_the_lm_loss_plus_the_weighted_head_losses(resumed):
    for row in read_loss_curve(resumed["output"] / "loss.csv"):
        heads = sum(weight * float(row[f"{head}_loss"]) for head, weight in PAPER_ACTION_LOSS_WEIGHTS.items())
        assert float(row["loss"]) == pytest.approx(float(row["lm_loss"]) + heads, rel=1e-5)


def test_final_model_is_published_complete_and_trained(resumed):
    final = resumed["final"]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"):
        assert (final / name).is_file(), name
    assert not (final / "training_args.bin").exists()  # the final model holds no pickle
    assert not (final.parent / f".{final.name}.partial").exists()
    provenance = json.loads((final / "training.json").read_text())
    assert provenance["global_step"] == MAX_STEPS and provenance["recipe"]["deepspeed"] == "zero2"
    trained, base = load_model(final).model, load_model(resumed["base"]).model
    assert trained.config.action_token
    assert not torch.equal(trained.lm_head.weight, base.lm_head.weight)
    assert not torch.equal(trained.verb_head.weight, base.verb_head.weight)


def test_a_rerun_of_a_finished_run_publishes_the_same_model_without_another_step(tmp_path):
    """A rerun resumes from the checkpoint of the last step; mid-epoch, the Trainer alone trains one more."""
    steps = MAX_STEPS - SAVE_STEPS  # a checkpoint step inside the first (and only) epoch
    paths = world(tmp_path, RECIPE.replace(f"max_steps: {MAX_STEPS}", f"max_steps: {steps}"))
    env = quiet_env(tmp_path)
    command = [sys.executable, *train_command(paths)]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-5000:]
    weights = (paths["final"] / "model.safetensors").read_bytes()

    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    checkpoint = paths["output"] / "checkpoints" / f"checkpoint-{steps}"
    assert f"resuming from checkpoint {checkpoint} (global step {steps})" in rerun.stderr
    assert f"to global step {steps}" in rerun.stderr
    assert "steps this run" not in rerun.stderr  # none was trained, so none was timed
    assert [int(row["step"]) for row in read_loss_curve(paths["output"] / "loss.csv")] == list(
        range(1, steps + 1)
    )
    assert json.loads((paths["final"] / "training.json").read_text())["global_step"] == steps
    assert (paths["final"] / "model.safetensors").read_bytes() == weights


def test_switching_the_action_token_on_trains_the_same_model_twice(tmp_path):
    """The token and heads a base without them lacks are drawn from the recipe's seed: two runs
    write the same bytes (they were drawn from an unseeded generator, so every run differed)."""
    recipe = RECIPE.replace(f"max_steps: {MAX_STEPS}", "max_steps: 2") + "action_token: true\n"
    weights = []
    for run in ("first", "second"):
        paths = world(tmp_path / run, recipe)
        write_base_model(paths["base"], action_token=False)
        result = subprocess.run(
            [sys.executable, *train_command(paths)],
            capture_output=True,
            text=True,
            env=quiet_env(tmp_path),
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-5000:]
        assert "action token switched on by the recipe" in result.stderr
        weights.append((paths["final"] / "model.safetensors").read_bytes())
    assert weights[0] == weights[1]


@pytest.mark.slow
def test_two_processes_shard_the_data_save_once_and_resume(tmp_path):
    """torchrun with 2 CPU processes on gloo: one epoch in 4 steps, then extended to 6 steps by a rerun."""
    epoch_steps = N_RECORDS // (2 * BATCH)
    paths = world(tmp_path, RECIPE.replace(f"max_steps: {MAX_STEPS}", f"max_steps: {epoch_steps}"))
    env = quiet_env(tmp_path)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    first = subprocess.run(
        [*command, *train_command(paths)], capture_output=True, text=True, env=env, timeout=600
    )
    assert first.returncode == 0, first.stderr[-5000:]

    samples = paths["output"] / "samples"
    rank0, rank1 = (set((samples / f"rank{r}.txt").read_text().splitlines()) for r in (0, 1))
    assert len(rank0) == len(rank1) == N_RECORDS // 2 and not rank0 & rank1
    assert rank0 | rank1 == {r.id for r in sft_records(N_RECORDS)}
    assert first.stderr.count("final model saved to") == 1
    assert [int(row["step"]) for row in read_loss_curve(paths["output"] / "loss.csv")] == [1, 2, 3, 4]
    assert json.loads((paths["final"] / "training.json").read_text())["world_size"] == 2

    paths["recipe"].write_text(RECIPE.replace(f"max_steps: {MAX_STEPS}", f"max_steps: {epoch_steps + 2}"))
    second = subprocess.run(
        [*command, *train_command(paths)], capture_output=True, text=True, env=env, timeout=600
    )
    assert second.returncode == 0, second.stderr[-5000:]
    checkpoint = paths["output"] / "checkpoints" / f"checkpoint-{epoch_steps}"
    assert f"resuming from checkpoint {checkpoint} (global step {epoch_steps})" in second.stderr
    assert [int(row["step"]) for row in read_loss_curve(paths["output"] / "loss.csv")] == [1, 2, 3, 4, 5, 6]
    assert json.loads((paths["final"] / "training.json").read_text())["global_step"] == epoch_steps + 2


def test_a_rerun_with_another_recipe_starts_over_instead_of_resuming(resumed):
    """After a finished run, the same output folder with a changed recipe trains from step 0.

    (Last in the file: it retrains into the folder the tests above read.)
    """
    recipe = resumed["recipe"].with_name("recipe_changed.yaml")
    recipe.write_text(RECIPE.replace("learning_rate: 5.0e-3", "learning_rate: 4.0e-3"))
    command = [sys.executable, *train_command({**resumed, "recipe": recipe})]
    env = quiet_env(resumed["output"].parent)
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    assert "of a run with other inputs (changed: recipe): training starts at step 0" in rerun.stderr
    assert "resuming from checkpoint" not in rerun.stderr
    assert f"to global step {MAX_STEPS}" in rerun.stderr
    steps = [int(row["step"]) for row in read_loss_curve(resumed["output"] / "loss.csv")]
    assert steps == list(range(1, MAX_STEPS + 1))
    record = json.loads((resumed["output"] / "checkpoints" / "inputs.json").read_text())
    assert record["recipe"]["learning_rate"] == 4.0e-3
