"""Two-stage EK100 recognition: stage 1 without the ground truth, picks mapped to classes, metrics, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.evaluate.jobs import ClipSource, RecognitionJob
from actionmqa.evaluate.recognition import run_recognition, stage_one
from actionmqa.evaluate.two_stage import Candidates, select
from actionmqa.io import read_jsonl
from actionmqa.model.processing import ChatSample
from actionmqa.mqa.options import TextMode
from actionmqa.prompts import format_options, mqa_answer
from actionmqa.video.synthetic import write_pattern_tree
from mqa_tiny_world import HARD, write_hard_predictions, write_tiny_dir
from tiny_llava_world import write_base_model

FPS = 10
ORDER = ["P01_11_0", "P01_11_1", "P01_11_2", "P01_11_10", "P02_101_0", "P02_101_1"]
#: CSV row of each narration id (the validation CSV is string-sorted: _10 before _2).
ROW = {"P01_11_0": 0, "P01_11_1": 1, "P01_11_10": 2, "P01_11_2": 3, "P02_101_0": 4, "P02_101_1": 5}
SUMMARY_KEYS = {
    "n",
    "top_k",
    "two_stage",
    "two_stage_parsed_only",
    "specialist",
    "top_k_recall",
    "unparsed",
    "likelihood_fallbacks",
    "split",
    "text",
    "seed",
    "frames",
    "time_instruction",
    "max_new_tokens",
    "likelihood_fallback",
    "text_fallbacks",
    "clipped",
    "model",
    "specialist_predictions",
    "specialist_predictions_sha256",
    "unit",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("recognition")
    annotations = write_tiny_dir(root / "annotations")
    videos = {("P01", "P01_11"): 52 * FPS, ("P02", "P02_101"): 4 * FPS}
    return {
        "annotations": annotations,
        "predictions": write_hard_predictions(annotations),
        "videos": write_pattern_tree(root / "videos", videos, fps=FPS, width=32, height=32).root,
        "root": root,
    }


def make_job(world: dict[str, Path], out: Path, **overrides) -> RecognitionJob:
    settings = {
        "model": world["root"] / "no-model",
        "annotations_dir": world["annotations"],
        "specialist_predictions": world["predictions"],
        "clips": ClipSource(world["videos"], "whole", frames=2),
        "summary": out / "recognition.json",
        "predictions": out / "recognition.jsonl",
        "top_k": 5,
    }
    return RecognitionJob(**{**settings, **overrides})


def answer_for(candidates: Candidates, vn: str) -> str:
    """The ``"X. text"`` answer that picks class ``vn``."""
    index = candidates.option_vns.index(vn)
    return mqa_answer(index, candidates.options[index])


def test_stage_one_keeps_the_specialist_top_k_as_it_is(world, tmp_path):
    asked = stage_one(make_job(world, tmp_path))
    assert [c.segment.narration_id for c in asked] == ORDER
    for candidates in asked:
        top = HARD[ROW[candidates.segment.narration_id]][:5]
        assert candidates.ranked == tuple(top)
        assert sorted(candidates.option_vns) == sorted(top)  # shuffled, nothing injected
    assert [c.in_top_k for c in asked] == [True, False, True, True, True, False]
    # Narration mode: the right class draws from the train pool like any other, never the clip's
    # own narration ("take plate").
    first = dict(zip(asked[0].option_vns, asked[0].options, strict=True))
    assert first["0:2"] in {"grab plate", "pick up plate"}
    assert first["3:3"] in {"open cupboard", "open cupboard door"}
    assert "take plate" not in asked[0].options


def test_label_texts_and_seeded_order(world, tmp_path):
    labelled = stage_one(make_job(world, tmp_path, text=TextMode.LABEL))
    assert dict(zip(labelled[0].option_vns, labelled[0].options, strict=True)) == {
        "0:1": "take spoon",
        "0:2": "take plate",
        "1:2": "put plate",
        "2:1": "wash spoon",
        "3:3": "open cupboard",
    }
    again = stage_one(make_job(world, tmp_path, text=TextMode.LABEL))
    reseeded = stage_one(make_job(world, tmp_path, text=TextMode.LABEL, seed=1))
    assert [c.option_vns for c in again] == [c.option_vns for c in labelled]
    assert [c.option_vns for c in reseeded] != [c.option_vns for c in labelled]


def test_stage_two_strips_a_trailing_comma_as_upstream(world, tmp_path):
    """Upstream's two-stage run reads answers in ``ensemble_llava_evaluation`` too: rstrip(',') first."""
    candidates = stage_one(make_job(world, tmp_path))[0]
    pick = select(candidates, answer_for(candidates, "0:2") + ",", ChatSample("unused"), None)
    assert (pick.source, candidates.option_vns[pick.index]) == ("parsed", "0:2")


def test_picks_map_back_to_classes_and_give_verb_noun_action_top1(world, tmp_path):
    job = make_job(world, tmp_path)
    asked = {c.segment.narration_id: c for c in stage_one(job)}
    outputs = {
        "P01_11_0": answer_for(asked["P01_11_0"], "0:2"),  # GT 0:2: all right
        "P01_11_1": answer_for(asked["P01_11_1"], "0:2"),  # GT 1:2 (not retrieved): noun right
        "P01_11_2": "I think knife",  # unparseable: the likelihood picks 2:1 for GT 2:4, verb right
        "P01_11_10": answer_for(asked["P01_11_10"], "1:2"),  # GT 3:3: all wrong
        "P02_101_0": answer_for(asked["P02_101_0"], "6:0"),  # GT 6:0: all right
        "P02_101_1": answer_for(asked["P02_101_1"], "0:1"),  # GT 0:18 (not retrieved): verb right
    }
    by_options = {format_options(c.options): outputs[nid] for nid, c in asked.items()}
    assert len(by_options) == len(asked)

    def generate(samples):
        return [next(raw for shown, raw in by_options.items() if shown in s.prompt) for s in samples]

    likelihood_calls = []

    def score_answers(sample, answers):
        likelihood_calls.append(answers)
        favoured = answer_for(asked["P01_11_2"], "2:1")
        return [0.0 if answer == favoured else -5.0 for answer in answers]

    summary = run_recognition(replace(job, batch_size=4), generate, score_answers)
    assert json.loads(job.summary.read_text()) == summary
    assert set(summary) == SUMMARY_KEYS
    assert len(likelihood_calls) == 1
    assert summary["two_stage"] == pytest.approx(
        {"verb_top1": 400 / 6, "noun_top1": 50.0, "action_top1": 200 / 6}
    )
    assert summary["two_stage_parsed_only"] == pytest.approx(
        {"verb_top1": 50.0, "noun_top1": 50.0, "action_top1": 200 / 6}
    )
    # The specialist's first prediction: 0:1, 0:2, 3:3, 2:1, 6:0, 0:2 against 0:2, 1:2, 3:3, 2:4, 6:0, 0:18.
    assert summary["specialist"] == pytest.approx(
        {"verb_top1": 500 / 6, "noun_top1": 50.0, "action_top1": 200 / 6}
    )
    assert summary["top_k_recall"] == pytest.approx(400 / 6)
    assert (summary["n"], summary["unparsed"], summary["likelihood_fallbacks"]) == (6, 1, 1)

    rows = {row["narration_id"]: row for row in read_jsonl(job.predictions)}
    assert list(rows) == ORDER
    fallback = rows["P01_11_2"]
    assert (fallback["pick_source"], fallback["pick_vn"], fallback["parsed_answer"]) == (
        "likelihood",
        "2:1",
        "I think knife",
    )
    assert (fallback["correct_verb"], fallback["correct_noun"], fallback["correct_action"]) == (
        True,
        False,
        False,
    )
    assert rows["P01_11_1"]["in_top_k"] is False and rows["P01_11_1"]["correct_noun"] is True


def test_cli_runs_the_tiny_model(world, tmp_path):
    model = write_base_model(tmp_path / "model")
    out = tmp_path / "out"
    argv = [
        *("eval", "recognition", "--model", str(model), "--annotations-dir", str(world["annotations"])),
        *("--predictions", str(world["predictions"]), "--top-k", "5", "--text", "label", "--seed", "3"),
        *("--video-root", str(world["videos"]), "--layout", "whole", "--frames", "2", "--limit", "2"),
        *(
            "--max-new-tokens",
            "4",
            "--summary",
            str(out / "s.json"),
            "--predictions-out",
            str(out / "p.jsonl"),
        ),
    ]
    assert main(argv) == 0
    summary = json.loads((out / "s.json").read_text())
    rows = read_jsonl(out / "p.jsonl")
    assert set(summary) == SUMMARY_KEYS
    assert (summary["n"], summary["top_k"], summary["text"], summary["seed"]) == (2, 5, "label", 3)
    assert [row["narration_id"] for row in rows] == ORDER[:2]
    assert all(row["pick_vn"] in row["option_vns"] for row in rows)  # the likelihood fills any gap
    assert (
        summary["unparsed"]
        == summary["likelihood_fallbacks"]
        == sum(r["pick_source"] != "parsed" for r in rows)
    )
    assert summary["two_stage"]["action_top1"] == 50 * sum(row["correct_action"] for row in rows)
