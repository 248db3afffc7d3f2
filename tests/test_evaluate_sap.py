"""SAP: predecessors by the SFT rule, prompts with the first pass's own answers, both accuracies, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError
from actionmqa.evaluate.jobs import ClipSource, SAPJob
from actionmqa.evaluate.mqa import prediction
from actionmqa.evaluate.sap import PromptKind, first_pass_texts, predecessors, sap_prompt
from actionmqa.evaluate.sap_run import run_sap
from actionmqa.io import read_jsonl, write_jsonl
from actionmqa.mqa.builder import BuildConfig, build_records
from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.options import TextMode
from actionmqa.mqa.records import MQARecord
from actionmqa.prompts import PERSPECTIVE_PREFIX, format_options, mqa_answer, mqa_prompt
from actionmqa.sft.prior import PriorActions
from actionmqa.sft.segments import segments_in_order
from actionmqa.video.synthetic import write_pattern_tree
from mqa_tiny_world import HARD, write_tiny_dir
from tiny_llava_world import write_base_model, write_benchmark

FPS = 10
ORDER = ["P01_11_0", "P01_11_1", "P01_11_2", "P01_11_10", "P02_101_0", "P02_101_1"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """The tiny annotations, their hard-distractor benchmark (real builder) and pattern videos."""
    root = tmp_path_factory.mktemp("sap")
    annotations = write_tiny_dir(root / "annotations")
    config = BuildConfig(DistractorKind.HARD, TextMode.NARRATION, seed=0, distractor_source="tim")
    records = build_records(load_annotation_dir(annotations), config, HARD).records
    videos = {("P01", "P01_11"): 52 * FPS, ("P02", "P02_101"): 4 * FPS}
    return {
        "annotations": annotations,
        "benchmark": write_benchmark(root / "benchmark.jsonl", records),
        "videos": write_pattern_tree(root / "videos", videos, fps=FPS, width=32, height=32).root,
        "root": root,
    }


def records_by_narration(world) -> dict[str, MQARecord]:
    return {r.narration_id: r for r in (MQARecord.model_validate(x) for x in read_jsonl(world["benchmark"]))}


def right(record: MQARecord) -> str:
    return mqa_answer(record.answer_index, record.answer)


def answer_text(record: MQARecord, text: str) -> str:
    return mqa_answer(record.options.index(text), text)


def test_predecessors_follow_the_sft_rule(world):
    ann = load_annotation_dir(world["annotations"])
    segments = segments_in_order(ann.split("validation"), ann.root / SPLIT_FILES["validation"])
    # P01_11_2 follows _0 and _1 closely; _10 starts 45 s after _2 ends; P02_101 has two segments only.
    assert predecessors(segments) == {"P01_11_2": PriorActions("P01_11_0", 3.0, "P01_11_1", 1.44)}


def test_prompt_kinds_and_the_golden_prior_prompt(world):
    record = records_by_narration(world)["P01_11_2"]
    prior = PriorActions("P01_11_0", 3.0, "P01_11_1", 1.44)
    answered = {"P01_11_0": "wash spoon", "P01_11_1": "put down plate"}
    asked = sap_prompt(record, prior, answered)
    assert (asked.kind, asked.prior_texts) == (PromptKind.PRIOR, ("wash spoon", "put down plate"))
    assert asked.text == (
        f"{PERSPECTIVE_PREFIX}\n3.0 seconds ago, you started an action wash spoon. "
        "1.44 seconds ago, you started an action put down plate. "
        "What action are you currently performing? Here are the options of actions you can select:\n"
        + format_options(record.options)
    )
    unanswered = sap_prompt(record, prior, {"P01_11_1": "put down plate"})
    assert (unanswered.kind, unanswered.text) == (PromptKind.UNANSWERED, mqa_prompt(record.options))
    assert sap_prompt(record, None, answered).kind is PromptKind.NO_PREDECESSORS


def test_first_pass_from_another_benchmark_is_named(world, tmp_path):
    path = tmp_path / "first.jsonl"
    write_jsonl(path, [{"uid": "P09-P09_01_1.00_2.00", "parsed_answer": "take cup"}])
    records = list(records_by_narration(world).values())
    with pytest.raises(InputError, match="line 1.*uid is not a question of the benchmark"):
        first_pass_texts(path, records)


def test_second_pass_prompts_carry_the_first_pass_answers(world, tmp_path):
    records = records_by_narration(world)
    first = {
        "P01_11_0": answer_text(records["P01_11_0"], "wash spoon"),  # wrong: its text feeds P01_11_2
        "P01_11_1": right(records["P01_11_1"]),
        "P01_11_2": mqa_answer((records["P01_11_2"].answer_index + 1) % 5, "something else"),
        "P01_11_10": right(records["P01_11_10"]),
        "P02_101_0": "no idea",
        "P02_101_1": right(records["P02_101_1"]),
    }
    first_pass = tmp_path / "first.jsonl"
    write_jsonl(first_pass, [prediction(records[nid], first[nid], None) for nid in ORDER])
    second = {nid: right(record) for nid, record in records.items()} | {"P02_101_0": "C"}
    by_options = {format_options(record.options): nid for nid, record in records.items()}
    assert len(by_options) == len(records)
    prompts: dict[str, str] = {}

    def generate(samples):
        answers = []
        for sample in samples:
            nid = next(nid for shown, nid in by_options.items() if shown in sample.prompt)
            prompts[nid] = sample.prompt
            answers.append(second[nid])
        return answers

    job = SAPJob(
        model=tmp_path / "no-model",
        benchmark=world["benchmark"],
        first_pass=first_pass,
        annotations_dir=world["annotations"],
        clips=ClipSource(world["videos"], "whole", frames=2),
        summary=tmp_path / "sap.json",
        predictions=tmp_path / "sap.jsonl",
        batch_size=4,
    )
    summary = run_sap(job, generate)
    assert json.loads(job.summary.read_text()) == summary
    history = "3.0 seconds ago, you started an action wash spoon. 1.44 seconds ago, you started an action "
    assert f"<video>\n{PERSPECTIVE_PREFIX}\n{history}put down plate. What action" in prompts["P01_11_2"]
    assert all("seconds ago" not in prompts[nid] for nid in ORDER if nid != "P01_11_2")
    assert summary["prompts"] == {
        "prior_actions": 1,
        "no_close_predecessors": 5,
        "predecessor_not_in_first_pass": 0,
    }
    assert summary["unit"] == "percent"
    assert summary["first_pass"]["accuracy"] == pytest.approx(50.0)
    assert summary["second_pass"]["accuracy"] == pytest.approx(500 / 6)
    assert summary["second_pass"]["accuracy_likelihood"] is None
    assert summary["second_pass_by_prompt"]["prior_actions"]["accuracy"] == 100.0
    assert summary["second_pass_by_prompt"]["no_close_predecessors"]["accuracy"] == pytest.approx(80.0)
    rows = read_jsonl(job.predictions)
    assert [row["uid"] for row in rows] == [records[nid].uid for nid in ORDER]
    assert rows[2]["prior_actions"] == ["wash spoon", "put down plate"]
    assert rows[2]["prompt_kind"] == "prior_actions" and rows[0]["prior_actions"] is None

    # Every question needs its own first-pass answer, or the two accuracies would not compare.
    partial = tmp_path / "partial.jsonl"
    write_jsonl(partial, [prediction(records[nid], first[nid], None) for nid in ORDER[1:]])
    with pytest.raises(InputError, match="1 questions have no first-pass answer"):
        run_sap(replace(job, first_pass=partial), generate)
    # A benchmark without P01_11_0 has no answer for it: P01_11_2 keeps the base prompt, counted.
    subset = write_benchmark(tmp_path / "subset.jsonl", [records[nid] for nid in ORDER[1:]])
    summary = run_sap(replace(job, benchmark=subset, first_pass=partial), generate)
    assert summary["prompts"] == {
        "prior_actions": 0,
        "no_close_predecessors": 4,
        "predecessor_not_in_first_pass": 1,
    }
    assert "seconds ago" not in prompts["P01_11_2"]


def test_cli_first_pass_then_sap_with_the_tiny_model(world, tmp_path):
    model = write_base_model(tmp_path / "model")
    out = tmp_path / "out"
    video = ("--video-root", str(world["videos"]), "--layout", "whole", "--frames", "2")
    first = [
        *("eval", "mqa", "--model", str(model), "--benchmark", str(world["benchmark"]), *video),
        *("--limit", "3", "--max-new-tokens", "4", "--skip-likelihood"),
        *("--summary", str(out / "mqa.json"), "--predictions", str(out / "mqa.jsonl")),
    ]
    assert main(first) == 0
    second = [
        *("eval", "sap", "--model", str(model), "--benchmark", str(world["benchmark"]), *video),
        *("--first-pass", str(out / "mqa.jsonl"), "--annotations-dir", str(world["annotations"])),
        *("--limit", "3", "--max-new-tokens", "4", "--batch-size", "2"),
        *("--summary", str(out / "sap.json"), "--predictions", str(out / "sap.jsonl")),
    ]
    assert main(second) == 0
    summary = json.loads((out / "sap.json").read_text())
    first_pass = read_jsonl(out / "mqa.jsonl")
    assert summary["first_pass"]["accuracy"] == json.loads((out / "mqa.json").read_text())["accuracy"]
    assert summary["n"] == summary["second_pass"]["n"] == 3
    assert summary["prompts"]["prior_actions"] == 1
    rows = read_jsonl(out / "sap.jsonl")
    assert rows[2]["prior_actions"] == [first_pass[0]["parsed_answer"], first_pass[1]["parsed_answer"]]
    assert all(len(row["option_loglikelihoods"]) == 5 for row in rows)
