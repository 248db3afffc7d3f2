"""The workflow end to end on a small toy world: every stage's targets, their content, reruns."""

from __future__ import annotations

import json

import pytest

from actionmqa.io import sha256_file
from workflow_helpers import snakemake

pytestmark = pytest.mark.slow

DATA_STAGES = ("data", "specialist", "benchmark", "sft")

SMALL_WORLD = """\
toyworld: {n_train: 200, n_val: 60}
specialist: {folds: 3}
"""


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """One complete run of the stages before training on a 200/60-segment world.

    (``all`` also trains and evaluates the demo models: tests/test_workflow_report.py runs that
    path on a tiny recipe.)
    """
    workdir = tmp_path_factory.mktemp("toy_run")
    (workdir / "small.yaml").write_text(SMALL_WORLD)
    result = snakemake(workdir, "-c2", *DATA_STAGES, configfiles=_configs(workdir))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return workdir


def _configs(workdir):
    return ("config/config.yaml", workdir / "small.yaml")


def _json(path):
    return json.loads(path.read_text())


def test_every_stage_target_exists(toy_run):
    results = toy_run / "results" / "toy"
    for relative in (
        "data/report.json",
        "data/labels.json",
        "video/index.json",
        "specialist/metrics.json",
        "specialist/hard/metrics.json",
        "specialist/medium/metrics.json",
        "mqa/validation_random.jsonl",
        "mqa/validation_medium.jsonl",
        "mqa/validation_hard.jsonl",
        "sft/train.jsonl",
        "benchmarks/manifest.json",
    ):
        assert (results / relative).is_file(), relative
    for rule in ("toyworld", "validate_annotations", "specialist_fit", "mqa_build"):
        assert any((toy_run / "logs" / "toy").glob(f"{rule}*.log")), rule


def test_benchmark_files_hold_one_record_per_val_segment(toy_run):
    mqa = toy_run / "results" / "toy" / "mqa"
    for level in ("random", "medium", "hard"):
        records = [json.loads(line) for line in (mqa / f"validation_{level}.jsonl").read_text().splitlines()]
        manifest = _json(mqa / f"validation_{level}.manifest.json")
        assert len(records) == manifest["records"] == 60
        assert all(
            len(set(r["options"])) == 5 and r["option_vns"][r["answer_index"]] == r["gt_vn"] for r in records
        )
        assert manifest["benchmark"]["sha256"] == sha256_file(mqa / f"validation_{level}.jsonl")


def test_hard_distractors_share_verb_or_noun_more_than_random(toy_run):
    mqa = toy_run / "results" / "toy" / "mqa"
    rate = {
        level: _json(mqa / f"validation_{level}.manifest.json")["distractor_shares_verb_or_noun_rate"]
        for level in ("random", "hard")
    }
    assert rate["hard"] > 2 * rate["random"]


def test_specialist_metrics_are_fractions_with_top1_below_top5(toy_run):
    metrics = _json(toy_run / "results" / "toy" / "specialist" / "metrics.json")
    assert metrics["primary"] == "hard" and sorted(metrics["variants"]) == ["hard", "medium"]
    for part in ("verb", "noun", "action"):
        top1, top5 = metrics["val"][f"{part}_top1"], metrics["val"][f"{part}_top5"]
        assert 0.0 <= top1 <= top5 <= 1.0


def test_completed_run_has_nothing_left_to_do(toy_run):
    result = snakemake(toy_run, "-n", *DATA_STAGES, configfiles=_configs(toy_run))
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_forced_rebuild_of_the_benchmark_is_byte_identical(toy_run):
    mqa = toy_run / "results" / "toy" / "mqa"
    before = {p.name: sha256_file(p) for p in sorted(mqa.iterdir())}
    # (-R takes every name after it, so the targets come first)
    result = snakemake(toy_run, "-c2", *DATA_STAGES, "-R", "mqa_build", configfiles=_configs(toy_run))
    assert result.returncode == 0, result.stderr[-3000:]
    assert {p.name: sha256_file(p) for p in sorted(mqa.iterdir())} == before


def test_sft_mixture_has_every_toy_task_with_action_ids(toy_run):
    sft = toy_run / "results" / "toy" / "sft"
    records = [json.loads(line) for line in (sft / "train.jsonl").read_text().splitlines()]
    counts = _json(sft / "train.manifest.json")["counts"]
    assert sum(counts.values()) == len(records)
    assert set(counts) == {
        "hard_mqa_medium",
        "hard_mqa_hard",
        "random_mqa",
        "direct_narration",
        "temporal_detection",
        "caption",
        "open_qa",
        "replay",
    }
    assert counts["hard_mqa_medium"] == counts["hard_mqa_hard"] == 200  # one per clip and source
    assert 60 < counts["direct_narration"] < 140  # half of the clips
    # config/sft/toy.yaml replays a quarter of the base's instruction data (800 records: 4 tasks x
    # 200), so about 200 of them (binomial sd 12)
    base = (sft / "base.jsonl").read_text().splitlines()
    assert len(base) == 800 and 140 < counts["replay"] < 260
    own, replayed = (
        [r for r in records if r["task"] != "replay"],
        [r for r in records if r["task"] == "replay"],
    )
    assert all(r["verb_id"] >= 0 and r["noun_id"] >= 0 and r["action_id"] >= 0 for r in own)
    # a replayed record is one of the base's own conversations, about a scene or a window, not one action
    conversations = {json.dumps(json.loads(line)["conversations"]) for line in base}
    assert all(json.dumps(r["conversations"]) in conversations for r in replayed)
    assert all(r["verb_id"] == r["noun_id"] == r["action_id"] == -1 for r in replayed)
    captions = [r for r in records if r["task"] == "caption"]
    assert captions and all(r["teacher"] == "toyworld-scenes" for r in captions)
