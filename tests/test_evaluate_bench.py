"""``eval bench``: lmms-eval frame sampling, bounds and frame folders, every parser mode, oracle, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from actionmqa.bench import ParseMode
from actionmqa.bench.mvbench import MVBench
from actionmqa.cli import main
from actionmqa.evaluate.bench import MAX_NEW_TOKENS, run_bench, score_modes
from actionmqa.evaluate.bench_frames import frame_ids, sample_question_video
from actionmqa.evaluate.jobs import BenchJob
from actionmqa.io import read_jsonl
from actionmqa.video.synthetic import read_pattern_index
from mvbench_tiny_world import ORACLE, oracle, write_mvbench
from tiny_llava_world import write_base_model

SUMMARY_KEYS = {
    "benchmark",
    "model",
    "frames",
    "max_new_tokens",
    "seed",
    "prompt_style",
    "settings",
    "modes",
    "headline_mode",
    "accuracy",
    "n",
    "unparsed",
    "unit",
}


@pytest.fixture(scope="module")
def mvbench(tmp_path_factory) -> Path:
    return write_mvbench(tmp_path_factory.mktemp("mvbench"))


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return write_base_model(tmp_path_factory.mktemp("bench_model") / "model")


def test_generation_caps_are_lmms_eval_s():
    assert MAX_NEW_TOKENS == {
        "egoschema": 16,
        "videomme": 16,
        "mvbench": 16,
        "longvideobench": 32,
        "perceptiontest": 1024,  # no cap in the task: llava_vid's default
    }


def test_frame_ids_are_lmms_eval_linspace_or_bounded():
    assert frame_ids(40, 4, 10.0).tolist() == [0, 13, 26, 39]
    assert frame_ids(40, 4, 10.0).tolist() == np.linspace(0, 39, 4, dtype=int).tolist()
    assert frame_ids(40, 3, 10.0, 1.0, 2.0).tolist() == [10, 15, 20]
    assert frame_ids(40, 3, 10.0, 1.0, 9.0).tolist() == [10, 24, 39]  # the end is clamped to the last frame
    with pytest.raises(ValueError, match="hold no frame"):
        frame_ids(40, 3, 10.0, 5.0, 6.0)


def test_sampled_frames_are_the_ones_asked_for(mvbench):
    questions = {q.id: q for q in MVBench().load(mvbench)}
    whole = sample_question_video(questions["action_antonym_0"], 4)
    assert [read_pattern_index(f) for f in whole.frames] == [0, 13, 26, 39] == whole.frame_ids.tolist()
    assert (whole.meta.fps, whole.meta.n_frames) == (10.0, 40)
    bounded = sample_question_video(questions["action_sequence_0"], 3)
    assert [read_pattern_index(f) for f in bounded.frames] == [10, 15, 20]
    folder = sample_question_video(questions["episodic_reasoning_0"], 3)  # 1-3 s at 3 fps: frames 3..9
    assert [read_pattern_index(f) for f in folder.frames] == [3, 6, 9]
    assert (folder.meta.fps, folder.meta.n_frames) == (3.0, 12)


def test_oracle_outputs_score_100_in_every_mode_and_wrong_ones_split_the_modes(mvbench):
    adapter = MVBench()
    questions = adapter.load(mvbench)
    modes = list(ParseMode)
    summaries, rows = score_modes(adapter, questions, ORACLE, modes, seed=0)
    assert {mode: s.accuracy for mode, s in summaries.items()} == {m.value: 100.0 for m in modes}
    assert all(row["correct"] == dict.fromkeys(summaries, True) for row in rows)

    outputs = {**ORACLE, "action_antonym_0": "", "action_sequence_0": "a person took the box"}
    summaries, rows = score_modes(adapter, questions, outputs, modes, seed=0)
    row = {r["id"]: r for r in rows}
    # An empty output is "(" to the official check_ans (correct), dropped by lmms-eval, wrong if strict.
    assert row["action_antonym_0"]["correct"] == {"lmms_eval": None, "official": True, "strict": False}
    # The article "a" reads as option A in lmms-eval (and to check_ans); strict finds no letter.
    assert row["action_sequence_0"]["parsed"] == {"lmms_eval": "A", "official": "A", "strict": None}
    # The headline is the mean over the 3 tasks (antonym, sequence, episodic).
    assert summaries["lmms_eval"].accuracy == pytest.approx((100 + 0 + 100) / 3)
    assert summaries["official"].accuracy == pytest.approx((100 + 0 + 100) / 3)
    assert summaries["strict"].accuracy == pytest.approx((50 + 0 + 100) / 3)
    assert (summaries["lmms_eval"].denominator, summaries["strict"].unparsed) == (3, 2)


def test_run_writes_all_modes_and_per_sample_rows(mvbench, tmp_path):
    job = BenchJob(
        model=tmp_path / "unused",
        benchmark="mvbench",
        data=mvbench,
        frames=4,
        summary=tmp_path / "mvbench.json",
        predictions=tmp_path / "mvbench.jsonl",
        batch_size=3,
    )
    summary = run_bench(job, generate=oracle)
    assert json.loads(job.summary.read_text()) == summary
    assert set(summary) == SUMMARY_KEYS
    assert set(summary["modes"]) == {"lmms_eval", "official", "strict"}
    assert all(mode["accuracy"] == 100.0 and mode["n"] == 4 for mode in summary["modes"].values())
    assert (summary["accuracy"], summary["n"], summary["unparsed"]) == (100.0, 4, 0)
    assert (summary["headline_mode"], summary["max_new_tokens"]) == ("lmms_eval", 16)
    assert summary["modes"]["lmms_eval"]["groups"]["task"]["action_antonym"]["n"] == 2
    rows = read_jsonl(job.predictions)
    assert [row["id"] for row in rows] == [q.id for q in MVBench().load(mvbench)]  # the adapter's order
    assert {row["id"]: row for row in rows}["action_antonym_0"] == {
        "id": "action_antonym_0",
        "output": "B",
        "answer": "B",
        "parsed": {"lmms_eval": "B", "official": "B", "strict": "B"},
        "correct": {"lmms_eval": True, "official": True, "strict": True},
    }


def test_cli_runs_the_tiny_model_in_the_chosen_modes(mvbench, model, tmp_path):
    summary_path, predictions = tmp_path / "out" / "mvbench.json", tmp_path / "out" / "mvbench.jsonl"
    argv = [
        *("eval", "bench", "--model", str(model), "--benchmark", "mvbench", "--data", str(mvbench)),
        *("--frames", "2", "--mode", "strict", "lmms_eval", "--max-new-tokens", "3", "--limit", "3"),
        *("--batch-size", "2", "--summary", str(summary_path), "--predictions", str(predictions)),
    ]
    assert main(argv) == 0
    summary = json.loads(summary_path.read_text())
    assert set(summary["modes"]) == {"strict", "lmms_eval"}
    assert (summary["n"], summary["frames"], summary["max_new_tokens"]) == (3, 2, 3)
    assert summary["accuracy"] == summary["modes"]["lmms_eval"]["accuracy"]
    rows = read_jsonl(predictions)
    assert [row["id"] for row in rows] == [q.id for q in MVBench().load(mvbench)][:3]
    assert all(
        set(row["parsed"]) == {"strict", "lmms_eval"} and isinstance(row["output"], str) for row in rows
    )
    correct = sum(row["correct"]["strict"] for row in rows)
    assert summary["modes"]["strict"]["correct"] == correct


def test_cli_names_a_missing_video(mvbench, model, tmp_path, capsys):
    argv = [
        *("eval", "bench", "--model", str(model), "--benchmark", "mvbench", "--data", str(mvbench)),
        *("--videos", str(tmp_path / "nowhere"), "--frames", "2"),
        *("--summary", str(tmp_path / "s.json"), "--predictions", str(tmp_path / "p.jsonl")),
    ]
    assert main(argv) == 2
    assert "video not found" in capsys.readouterr().err
