"""Sharded and resumable evaluation: shards + gather equal one job byte for byte; a job killed
mid-shard answers only what is left when rerun; another fingerprint starts over; gather refuses
parts that do not make one evaluation."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.evaluate.gather import gather
from actionmqa.evaluate.generation import GreedyGenerator
from actionmqa.evaluate.jobs import ClipSource, MQAJob, RecognitionJob
from actionmqa.evaluate.likelihood import LikelihoodScorer
from actionmqa.evaluate.loading import load_model
from actionmqa.evaluate.progress import progress_path
from actionmqa.evaluate.recognition import RecognitionTask
from actionmqa.evaluate.run import MQATask
from actionmqa.evaluate.runner import Answerer, Part, Whole, plan, run
from actionmqa.evaluate.shards import Shard
from actionmqa.mqa.builder import BuildConfig, build_records
from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.options import TextMode
from actionmqa.video.synthetic import write_pattern_tree
from mqa_tiny_world import HARD, write_hard_predictions, write_tiny_dir
from mvbench_tiny_world import write_mvbench
from tiny_llava_world import VIDEOS, mqa_records, write_base_model, write_benchmark

REPO = Path(__file__).resolve().parents[1]
EK100_FPS = 10
#: The tiny annotations' validation clips in reading order (by video, then start): the CSV
#: lists them string-sorted (_10 before _2), the reader by time.
READING_ORDER = ["P01_11_0", "P01_11_1", "P01_11_2", "P01_11_10", "P02_101_0", "P02_101_1"]
N_MQA = 12
N_LONG = 24  # the most the tiny videos hold (tiny_llava_world.segments)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A tiny model; an MQA benchmark over pattern videos; the tiny EK100 annotations with their
    hard benchmark, specialist predictions and videos; a tiny MVBench."""
    root = tmp_path_factory.mktemp("shards")
    annotations = write_tiny_dir(root / "annotations")
    config = BuildConfig(DistractorKind.HARD, TextMode.NARRATION, seed=0, distractor_source="tim")
    hard = build_records(load_annotation_dir(annotations), config, HARD).records
    ek100 = {("P01", "P01_11"): 52 * EK100_FPS, ("P02", "P02_101"): 4 * EK100_FPS}
    return {
        "root": root,
        "model": write_base_model(root / "model"),
        "mqa_videos": write_pattern_tree(root / "mqa_videos", VIDEOS, width=32, height=32).root,
        "mqa": write_benchmark(root / "mqa.jsonl", mqa_records(N_MQA)),
        "annotations": annotations,
        "specialist": write_hard_predictions(annotations),
        "hard": write_benchmark(root / "hard.jsonl", hard),
        "ek100_videos": write_pattern_tree(
            root / "ek100_videos", ek100, fps=EK100_FPS, width=32, height=32
        ).root,
        "mvbench": write_mvbench(root / "mvbench"),
    }


def whole_and_sharded(args: list[str], out: Path, predictions_flag: str, shards: int = 3) -> None:
    """Run a verb whole into ``out/whole.*`` and as ``shards`` shards gathered into ``out/gathered.*``."""
    whole = ["--summary", str(out / "whole.json"), predictions_flag, str(out / "whole.jsonl")]
    assert main([*args, *whole]) == 0
    parts = [out / f"part.{shard}-of-{shards}.jsonl" for shard in range(shards)]
    for shard, part in enumerate(parts):
        assert main([*args, "--shard", str(shard), "--shards", str(shards), "--part", str(part)]) == 0
    gathered = ["--summary", str(out / "gathered.json"), "--predictions", str(out / "gathered.jsonl")]
    assert main(["eval", "gather", "--parts", *map(str, parts), *gathered]) == 0


def assert_same_bytes(out: Path) -> None:
    for suffix in ("json", "jsonl"):
        assert (out / f"gathered.{suffix}").read_bytes() == (out / f"whole.{suffix}").read_bytes()
    assert not list(out.glob("*.progress.jsonl"))  # every job removed its progress file


def mqa_args(world: dict[str, Path], benchmark: Path, videos: Path) -> list[str]:
    return [
        *("eval", "mqa", "--model", str(world["model"]), "--benchmark", str(benchmark)),
        *("--video-root", str(videos), "--layout", "whole", "--frames", "2"),
        *("--batch-size", "2", "--max-new-tokens", "4"),
    ]


def test_sharded_mqa_equals_one_job_byte_for_byte(world, tmp_path):
    whole_and_sharded(mqa_args(world, world["mqa"], world["mqa_videos"]), tmp_path, "--predictions")
    assert_same_bytes(tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "gathered.jsonl").read_text().splitlines()]
    assert [row["uid"] for row in rows] == [record.uid for record in mqa_records(N_MQA)]
    assert json.loads((tmp_path / "gathered.json").read_text())["n"] == N_MQA


def test_sharded_sap_reads_the_gathered_first_pass_and_equals_one_job(world, tmp_path):
    first_pass = tmp_path / "first.jsonl"
    args = mqa_args(world, world["hard"], world["ek100_videos"])
    assert main([*args, "--summary", str(tmp_path / "first.json"), "--predictions", str(first_pass)]) == 0
    sap = [
        *("eval", "sap", "--model", str(world["model"]), "--benchmark", str(world["hard"])),
        *("--first-pass", str(first_pass), "--annotations-dir", str(world["annotations"])),
        *("--video-root", str(world["ek100_videos"]), "--layout", "whole", "--frames", "2"),
        *("--batch-size", "1", "--max-new-tokens", "4"),
    ]
    whole_and_sharded(sap, tmp_path, "--predictions")
    assert_same_bytes(tmp_path)
    summary = json.loads((tmp_path / "gathered.json").read_text())
    # P01_11_2's predecessors (P01_11_0, _1) are answered in shard 0, its own question in shard 1
    assert summary["prompts"]["prior_actions"] == 1


def test_sharded_recognition_equals_one_job(world, tmp_path):
    args = [
        *("eval", "recognition", "--model", str(world["model"])),
        *("--annotations-dir", str(world["annotations"]), "--predictions", str(world["specialist"])),
        *("--top-k", "5", "--video-root", str(world["ek100_videos"]), "--layout", "whole", "--frames", "2"),
        *("--batch-size", "1", "--max-new-tokens", "4"),
    ]
    whole_and_sharded(args, tmp_path, "--predictions-out")
    assert_same_bytes(tmp_path)


def test_sharded_benchmark_equals_one_job_with_more_shards_than_batches(world, tmp_path):
    args = [
        *("eval", "bench", "--model", str(world["model"]), "--benchmark", "mvbench"),
        *("--data", str(world["mvbench"]), "--frames", "2", "--max-new-tokens", "3", "--batch-size", "2"),
    ]
    whole_and_sharded(args, tmp_path, "--predictions", shards=3)  # 2 batches: one shard is empty
    assert_same_bytes(tmp_path)
    empty = [line for line in (tmp_path / "part.0-of-3.jsonl").read_text().splitlines()]
    assert len(empty) == 1  # the header alone


def test_shards_are_contiguous_runs_of_the_unsharded_batches(world, tmp_path):
    job = RecognitionJob(
        model=world["model"],
        annotations_dir=world["annotations"],
        specialist_predictions=world["specialist"],
        clips=ClipSource(world["ek100_videos"], "whole", frames=2),
        top_k=5,
        batch_size=2,
    )
    task = RecognitionTask(job)

    def names(batches):
        return [[candidates.segment.narration_id for candidates in batch] for batch in batches]

    assert names(plan(task)) == [READING_ORDER[0:2], READING_ORDER[2:4], READING_ORDER[4:6]]
    assert [names(plan(task, Shard(index, 2))) for index in range(2)] == [
        [READING_ORDER[0:2]],
        [READING_ORDER[2:4], READING_ORDER[4:6]],
    ]


# ---------------------------------------------------------------- resuming


class Interrupted(Exception):
    pass


def counting(generate, log: list[int], fail_after: int | None = None):
    """``generate`` that records each batch's size, and raises before batch ``fail_after + 1``."""

    def wrapped(samples):
        if fail_after is not None and len(log) == fail_after:
            raise Interrupted
        log.append(len(samples))
        return generate(samples)

    return wrapped


@pytest.fixture(scope="module")
def loaded(world):
    return load_model(world["model"])


def mqa_job(world, **overrides) -> MQAJob:
    settings = {
        "model": world["model"],
        "benchmark": world["mqa"],
        "clips": ClipSource(world["mqa_videos"], "whole", 2),
        "batch_size": 2,
        "max_new_tokens": 4,
    }
    return MQAJob(**{**settings, **overrides})


def run_part(job: MQAJob, loaded, part: Path, log: list[int], fail_after: int | None = None) -> None:
    """Shard 1 of 2 of ``job``, its generator counting (and failing after ``fail_after`` batches)."""
    answerer = Answerer(
        counting(GreedyGenerator(loaded, job.max_new_tokens), log, fail_after), LikelihoodScorer(loaded)
    )
    run([(MQATask(job), Part(part, Shard(1, 2)))], lambda task: answerer)


def batch_lines(progress: Path) -> int:
    return len(progress.read_text().splitlines()) - 1  # the header is line 1


def test_a_job_killed_mid_shard_answers_only_the_rest_when_rerun(world, loaded, tmp_path):
    reference, part = tmp_path / "reference.jsonl", tmp_path / "part.jsonl"
    run_part(mqa_job(world), loaded, reference, [])  # shard 1 of 2: 6 questions, 3 batches

    first: list[int] = []
    with pytest.raises(Interrupted):
        run_part(mqa_job(world), loaded, part, first, fail_after=2)
    progress = progress_path(part)
    assert not part.exists() and progress == tmp_path / "part.progress.jsonl"
    assert batch_lines(progress) == 2 and sum(first) == 4

    rerun: list[int] = []
    run_part(mqa_job(world), loaded, part, rerun)
    assert rerun == [2]  # the 2 questions left of 6, in the plan's last batch
    assert part.read_bytes() == reference.read_bytes()
    assert not progress.exists()


def test_another_fingerprint_starts_over(world, loaded, tmp_path, caplog):
    part = tmp_path / "part.jsonl"
    with pytest.raises(Interrupted):
        run_part(mqa_job(world), loaded, part, [], fail_after=2)
    rerun: list[int] = []
    run_part(mqa_job(world, max_new_tokens=5), loaded, part, rerun)
    assert sum(rerun) == 6
    assert "under another fingerprint (settings changed); starting over" in caplog.text

    # a rewritten model folder is another model, even at the same path
    model = tmp_path / "model"
    shutil.copytree(world["model"], model)
    job = mqa_job(world, model=model)
    with pytest.raises(Interrupted):
        run_part(job, loaded, part, [], fail_after=2)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes())  # as training or conversion writes a new file
    rerun = []
    run_part(job, loaded, part, rerun)
    assert sum(rerun) == 6
    assert "under another fingerprint (model changed); starting over" in caplog.text


def test_a_torn_last_line_is_answered_again(world, loaded, tmp_path):
    part = tmp_path / "part.jsonl"
    with pytest.raises(Interrupted):
        run_part(mqa_job(world), loaded, part, [], fail_after=2)
    progress = progress_path(part)
    text = progress.read_text()
    progress.write_text(text[: len(text) - 40])  # the job died while writing batch 2
    rerun: list[int] = []
    run_part(mqa_job(world), loaded, part, rerun)
    assert rerun == [2, 2]


@pytest.mark.slow
def test_sigkill_mid_job_then_rerun_resumes(world, tmp_path, caplog):
    """A real process killed at once, whatever it was doing; the rerun keeps its whole batches."""
    out = tmp_path / "out"
    benchmark = write_benchmark(tmp_path / "long.jsonl", mqa_records(N_LONG))
    args = [*mqa_args(world, benchmark, world["mqa_videos"]), "--batch-size", "1"]
    whole = ["--summary", str(out / "mqa.json"), "--predictions", str(out / "mqa.jsonl")]
    progress = out / "mqa.progress.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    killed_log = tmp_path / "killed.log"
    with open(killed_log, "w") as stderr:
        job = subprocess.Popen(
            [sys.executable, "-m", "actionmqa", *args, *whole],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        if progress.is_file() and batch_lines(progress) >= 2:
            os.kill(job.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    assert job.wait(timeout=30) == -signal.SIGKILL, killed_log.read_text()[-2000:]
    answered = batch_lines(progress)  # the kill may land mid-line: that batch counts as undone
    answered -= not progress.read_text().endswith("\n")
    assert 1 <= answered < N_LONG and not (out / "mqa.json").exists()

    caplog.set_level(logging.INFO, logger="actionmqa.evaluate.runner")
    assert main([*args, *whole]) == 0
    left = N_LONG - answered
    assert (
        f"{N_LONG} questions in {N_LONG} batches; {answered} answered before, {left} to answer" in caplog.text
    )
    reference = tmp_path / "reference"
    assert (
        main([*args, "--summary", str(reference / "s.json"), "--predictions", str(reference / "p.jsonl")])
        == 0
    )
    assert (out / "mqa.json").read_bytes() == (reference / "s.json").read_bytes()
    assert (out / "mqa.jsonl").read_bytes() == (reference / "p.jsonl").read_bytes()


# ---------------------------------------------------------------- gathering


@pytest.fixture(scope="module")
def parts(world, tmp_path_factory) -> list[Path]:
    """Three shards of the MQA benchmark, skipping likelihoods."""
    out = tmp_path_factory.mktemp("parts")
    args = [*mqa_args(world, world["mqa"], world["mqa_videos"]), "--skip-likelihood"]
    paths = [out / f"part.{shard}-of-3.jsonl" for shard in range(3)]
    for shard, path in enumerate(paths):
        assert main([*args, "--shard", str(shard), "--shards", "3", "--part", str(path)]) == 0
    return paths


def test_gather_needs_every_shard_once(parts, tmp_path):
    with pytest.raises(InputError, match=r"missing shards \[2\], repeated shards \[\]"):
        gather(parts[:2], tmp_path / "s.json", tmp_path / "p.jsonl")
    with pytest.raises(InputError, match=r"missing shards \[2\], repeated shards \[1\]"):
        gather([parts[0], parts[1], parts[1]], tmp_path / "s.json", tmp_path / "p.jsonl")


def test_gather_names_the_line_of_a_broken_part(parts, tmp_path):
    broken = tmp_path / parts[1].name
    header, first, *rest = parts[1].read_text().splitlines(keepends=True)
    broken.write_text(header + first.replace('"clipped":false', '"clipped":"no"') + "".join(rest))
    with pytest.raises(InputError, match=rf"{broken}, line 2: an answer is"):
        gather([parts[0], broken, parts[2]], tmp_path / "s.json", tmp_path / "p.jsonl")
    broken.write_text('{"part": {"kind": "mqa"}}\n')
    with pytest.raises(InputError, match=rf"{broken}, line 1: not an evaluation part file"):
        gather([parts[0], broken, parts[2]], tmp_path / "s.json", tmp_path / "p.jsonl")


def test_gather_refuses_a_part_of_another_evaluation(world, parts, tmp_path):
    other = tmp_path / "other.2-of-3.jsonl"
    args = [*mqa_args(world, world["mqa"], world["mqa_videos"]), "--skip-likelihood", "--max-new-tokens", "5"]
    assert main([*args, "--shard", "2", "--shards", "3", "--part", str(other)]) == 0
    with pytest.raises(InputError, match=rf"{other}: belongs to another evaluation .*max_new_tokens: 5 vs 4"):
        gather([*parts[:2], other], tmp_path / "s.json", tmp_path / "p.jsonl")


def test_gather_refuses_parts_of_a_question_file_rebuilt_since(world, tmp_path):
    benchmark = write_benchmark(tmp_path / "mqa.jsonl", mqa_records(N_MQA))
    args = [*mqa_args(world, benchmark, world["mqa_videos"]), "--skip-likelihood"]
    parts = [tmp_path / f"part.{shard}-of-3.jsonl" for shard in range(3)]
    for shard, path in enumerate(parts):
        assert main([*args, "--shard", str(shard), "--shards", "3", "--part", str(path)]) == 0
    records = mqa_records(N_MQA)
    records[-1] = records[-1].model_copy(update={"start_sec": records[-1].start_sec + 0.1})
    write_benchmark(benchmark, records)  # the last clip (shard 2's) moved
    with pytest.raises(
        InputError, match=r"part\.2-of-3\.jsonl: its questions differ from what the evaluation"
    ):
        gather(parts, tmp_path / "s.json", tmp_path / "p.jsonl")


def test_cli_takes_whole_outputs_or_a_shard_not_both(world, tmp_path, capsys):
    args = mqa_args(world, world["mqa"], world["mqa_videos"])
    both = ["--summary", str(tmp_path / "s.json"), "--predictions", str(tmp_path / "p.jsonl"), "--shard", "0"]
    assert main([*args, *both, "--shards", "2", "--part", str(tmp_path / "x.jsonl")]) == 2
    assert (
        "give --summary and --predictions, or --shard, --shards and --part, not both"
        in capsys.readouterr().err
    )
    assert main([*args, "--shard", "2", "--shards", "2", "--part", str(tmp_path / "x.jsonl")]) == 2
    assert "shard 2 of 2: expected 0 <= shard < shards" in capsys.readouterr().err
    assert main([*args, "--shard", "0", "--part", str(tmp_path / "x.jsonl")]) == 2
    assert "a shard needs --shard, --shards and 1 --part path(s)" in capsys.readouterr().err


def test_a_whole_run_leaves_no_progress_and_writes_where_told(world, tmp_path):
    job = mqa_job(world, summary=tmp_path / "s.json", predictions=tmp_path / "p.jsonl", limit=3)
    answerer = Answerer(lambda samples: ["A"] * len(samples))
    summaries = run([(MQATask(job), Whole(tmp_path / "s.json", tmp_path / "p.jsonl"))], lambda task: answerer)
    assert summaries[0]["n"] == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["p.jsonl", "s.json"]
