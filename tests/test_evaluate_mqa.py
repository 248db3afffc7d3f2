"""EK100-MQA evaluation: prompts, scoring of injected outputs, batched generation, likelihoods, outputs."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from actionmqa.cli import main
from actionmqa.evaluate.generation import GreedyGenerator
from actionmqa.evaluate.jobs import ClipSource, MQAJob
from actionmqa.evaluate.likelihood import LikelihoodScorer, answer_span, summed_logprobs
from actionmqa.evaluate.loading import load_model
from actionmqa.evaluate.mqa import answer_question, option_answers, question, summarise
from actionmqa.evaluate.run import run_mqa
from actionmqa.io import read_jsonl, sha256_file
from actionmqa.prompts import PERSPECTIVE_PREFIX
from actionmqa.video.synthetic import write_pattern_tree
from tiny_llava_world import VIDEOS, mqa_records, write_base_model, write_benchmark

FRAMES = 4
SUMMARY_KEYS = {
    "n",
    "accuracy",
    "accuracy_strict",
    "accuracy_likelihood",
    "unparsed",
    "frames",
    "time_instruction",
    "max_new_tokens",
    "clipped",
    "model",
    "benchmark",
    "benchmark_sha256",
    "unit",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("mqa_eval")
    return {
        "model": write_base_model(root / "model"),
        "videos": write_pattern_tree(root / "videos", VIDEOS, width=32, height=32).root,
        "benchmark": write_benchmark(root / "benchmark.jsonl", mqa_records(6)),
        "root": root,
    }


@pytest.fixture(scope="module")
def loaded(world):
    return load_model(world["model"])


def blank_clip() -> np.ndarray:
    return np.zeros((FRAMES, 32, 32, 3), dtype=np.uint8)


def test_question_is_the_upstream_prompt_in_chatml():
    record = mqa_records(1)[0]
    plain = question(record, blank_clip(), with_time_instruction=False).prompt
    assert plain.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
    assert f"<video>\n{PERSPECTIVE_PREFIX}Given multiple choices" in plain
    assert plain.endswith(
        "A. take cup, B. open drawer, C. put down knife, D. wash plate, E. turn on tap<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    timed = question(record, blank_clip(), with_time_instruction=True).prompt
    assert "<video>\nThe provided video lasts for 1.000 seconds, and 4 frames are uniformly sampled " in timed
    assert "sampled from it.You are seeing" in timed  # upstream joins them without a separator


def answered(clips, generate, score_answers=None):
    """Prediction rows as ``eval mqa`` makes them: each clip asked (no time instruction), the
    batch answered in one call, each answer read by ``answer_question``."""
    asked = [(record, question(record, frames, with_time_instruction=False)) for record, frames in clips]
    raws = generate([sample for _, sample in asked])
    return [
        answer_question(record, sample, raw, score_answers)
        for (record, sample), raw in zip(asked, raws, strict=True)
    ]


def scripted(outputs: list[str]):
    """A fake generator: the question whose frames are all ``i`` gets ``outputs[i]``."""

    def generate(samples):
        return [outputs[int(sample.frames[0, 0, 0, 0])] for sample in samples]

    return generate


def test_injected_outputs_are_scored_by_upstream_parser_and_strict_letter():
    records = mqa_records(4)  # answers at A, C, E, B
    gt = [r.options[r.answer_index] for r in records]
    outputs = [
        f"A. {gt[0]}",  # right letter, right text
        f"The answer is C. {gt[1]}.",  # upstream reads the text, the strict letter reading does not
        f"B. {records[2].options[1]}",  # wrong
        "I am not sure",  # nothing to parse
    ]
    clips = [(record, np.full((FRAMES, 32, 32, 3), i, dtype=np.uint8)) for i, record in enumerate(records)]
    rows = answered(clips, scripted(outputs))
    assert [row["correct"] for row in rows] == [True, True, False, False]
    assert [row["correct_strict"] for row in rows] == [True, False, False, False]
    assert [row["parsed_index"] for row in rows] == [0, None, 1, None]
    assert [row["unparsed"] for row in rows] == [False, False, False, True]
    assert rows[1]["parsed_answer"] == gt[1]
    assert summarise(rows) == {
        "n": 4,
        "accuracy": 50.0,
        "accuracy_strict": 25.0,
        "accuracy_likelihood": None,
        "unparsed": 1,
    }


def test_a_trailing_comma_is_stripped_as_upstream_strips_it():
    """ek_eval.ensemble_llava_evaluation: ``pred.rstrip(',')`` before ``process_raw_pred``."""
    record = mqa_records(1)[0]
    rows = answered([(record, blank_clip())], scripted([f"A. {record.answer},"]))
    assert (rows[0]["parsed_answer"], rows[0]["correct"], rows[0]["unparsed"]) == (record.answer, True, False)


def test_batched_generation_equals_one_question_at_a_time(loaded):
    records = mqa_records(3)
    rng = np.random.default_rng(0)
    questions = [
        question(record, rng.integers(0, 256, (FRAMES, 32, 32, 3), dtype=np.uint8), False)
        for record in records
    ]
    generate = GreedyGenerator(loaded, max_new_tokens=6)
    assert len({len(q.prompt) for q in questions}) > 1  # different lengths: left padding is exercised
    assert generate(questions) == [generate([q])[0] for q in questions]


def test_summed_logprobs_counts_only_labelled_tokens():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]]]))
    labels = torch.tensor([[-100, 1, 0]])
    assert summed_logprobs(logits, labels).item() == pytest.approx(np.log(0.5) + np.log(0.25))


def test_likelihood_picks_the_option_a_rigged_model_prefers(world):
    rigged = load_model(world["model"])
    record = mqa_records(1)[0]
    answers = option_answers(record)
    first_tokens = [rigged.tokenizer(answer, add_special_tokens=False).input_ids[0] for answer in answers]
    assert len(set(first_tokens)) == len(answers)
    asked = question(record, blank_clip(), False)
    before = LikelihoodScorer(rigged)(asked, answers)
    head = rigged.model.lm_head
    biased = nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        for k, token in enumerate(first_tokens):  # every letter but C becomes all but impossible
            biased.bias[token] = 0.0 if k == 2 else -30.0
    rigged.model.lm_head = biased
    scores = LikelihoodScorer(rigged)(asked, answers)
    assert max(range(len(before)), key=before.__getitem__) != 2  # C was not the model's own choice
    assert max(range(len(scores)), key=scores.__getitem__) == 2
    assert scores[2] == pytest.approx(before[2], abs=0.5)
    assert all(scores[k] < before[k] - 25 for k in (0, 1, 3, 4))
    rows = answered([(record, blank_clip())], GreedyGenerator(rigged, 2), LikelihoodScorer(rigged))
    assert rows[0]["likelihood_index"] == 2 and rows[0]["option_loglikelihoods"] == pytest.approx(scores)
    assert rows[0]["correct_likelihood"] is (record.answer_index == 2)


def test_likelihood_of_an_answer_matches_a_manual_forward(loaded):
    record = mqa_records(1)[0]
    asked = question(record, blank_clip(), False)
    score = LikelihoodScorer(loaded)(asked, ["B. open drawer"])[0]
    collate = loaded.collator(train=True, end_of_turn="")
    batch = collate([replace(asked, answer="B. open drawer")])
    labels = batch.pop("labels")
    batch.pop("actions")
    with torch.no_grad():
        logprobs = torch.log_softmax(loaded.model(**batch).logits[0], -1)
    answer_positions = (labels[0] != -100).nonzero().flatten()
    manual = sum(logprobs[p - 1, labels[0, p]].item() for p in answer_positions)
    assert len(answer_positions) == len(loaded.tokenizer("B. open drawer").input_ids)
    assert score == pytest.approx(manual, abs=1e-4)


def test_run_writes_a_consistent_summary_and_predictions_in_benchmark_order(world):
    out = world["root"] / "out"
    job = MQAJob(
        model=world["model"],
        benchmark=world["benchmark"],
        clips=ClipSource(world["videos"], "whole", FRAMES),
        summary=out / "summary.json",
        predictions=out / "predictions.jsonl",
        batch_size=4,
        max_new_tokens=4,
        limit=5,
    )
    summary = run_mqa(job)
    assert json.loads(job.summary.read_text()) == summary
    assert set(summary) == SUMMARY_KEYS
    rows = read_jsonl(job.predictions)
    assert [row["uid"] for row in rows] == [record.uid for record in mqa_records(5)]
    assert summary["n"] == len(rows) == 5
    assert summary["unit"] == "percent"  # every accuracy below, as in every evaluation summary
    assert summary["accuracy"] == 100 * sum(row["correct"] for row in rows) / 5
    assert summary["accuracy_strict"] == 100 * sum(row["correct_strict"] for row in rows) / 5
    assert summary["accuracy_likelihood"] == 100 * sum(row["correct_likelihood"] for row in rows) / 5
    assert summary["unparsed"] == sum(row["unparsed"] for row in rows)
    assert all(len(row["option_loglikelihoods"]) == 5 for row in rows)
    assert summary["benchmark_sha256"] == sha256_file(world["benchmark"])
    assert (summary["frames"], summary["clipped"], summary["time_instruction"]) == (FRAMES, 0, False)


def test_cli_evaluates_and_names_a_bad_benchmark_line(world, capsys):
    out = world["root"] / "cli"
    common = [
        *("eval", "mqa", "--model", str(world["model"]), "--video-root", str(world["videos"])),
        *("--layout", "whole", "--frames", "2", "--batch-size", "2", "--limit", "2", "--skip-likelihood"),
        *("--summary", str(out / "summary.json"), "--predictions", str(out / "predictions.jsonl")),
    ]
    assert main([*common, "--benchmark", str(world["benchmark"]), "--time-instruction"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["n"], summary["frames"], summary["accuracy_likelihood"]) == (2, 2, None)
    assert summary["time_instruction"] is True

    broken = world["root"] / "broken.jsonl"
    lines = world["benchmark"].read_text().splitlines()
    broken.write_text("\n".join([lines[0], lines[1].replace('"answer_index":', '"answer_idx":')]) + "\n")
    assert main([*common, "--benchmark", str(broken)]) == 2
    assert f"{broken}, line 2" in capsys.readouterr().err


def test_cli_runs_several_benchmarks_on_one_model_each_to_its_own_outputs(world, capsys):
    out = world["root"] / "several"
    second = world["root"] / "first_three.jsonl"
    second.write_text("".join(world["benchmark"].read_text().splitlines(keepends=True)[:3]))
    args = [
        *("eval", "mqa", "--model", str(world["model"]), "--video-root", str(world["videos"])),
        *("--layout", "whole", "--frames", "2", "--batch-size", "2", "--skip-likelihood"),
        *("--benchmark", str(world["benchmark"]), str(second)),
        *("--summary", str(out / "all.json"), str(out / "three.json")),
    ]
    predictions = ("--predictions", str(out / "all.jsonl"), str(out / "three.jsonl"))
    assert main([*args, *predictions]) == 0
    everything, three = (json.loads((out / name).read_text()) for name in ("all.json", "three.json"))
    assert (everything["benchmark"], everything["n"]) == (str(world["benchmark"]), 6)
    assert (three["benchmark"], three["n"]) == (str(second), 3)
    # the same model answers the same clip the same way in either run
    assert read_jsonl(out / "three.jsonl") == read_jsonl(out / "all.jsonl")[:3]

    capsys.readouterr()
    assert main([*args, "--predictions", str(out / "all.jsonl")]) == 2
    expected = "2 benchmarks need as many --summary and --predictions paths, got 2 and 1"
    assert expected in capsys.readouterr().err


def test_answer_span_starts_one_before_the_earliest_answer_token():
    labels = torch.tensor([[-100, -100, -100, 7, 8, -100], [-100, -100, 5, 6, 7, 8]])
    assert answer_span(labels) == 5
    logits = torch.randn(2, 6, 10, generator=torch.Generator().manual_seed(0))
    kept = summed_logprobs(logits[:, -5:], labels[:, -5:])
    assert torch.allclose(kept, summed_logprobs(logits, labels), rtol=0, atol=1e-6)
    assert not torch.allclose(
        summed_logprobs(logits[:, -4:], labels[:, -4:]), kept
    )  # one fewer drops a token
