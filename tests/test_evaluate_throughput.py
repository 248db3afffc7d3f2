"""``eval throughput``: figures per batch size from the runner, answers compared as token ids."""

from __future__ import annotations

import json

import numpy as np

from actionmqa.cli import main
from actionmqa.evaluate.generation import GreedyGenerator
from actionmqa.evaluate.loading import load_model
from actionmqa.evaluate.mqa import question
from actionmqa.video.synthetic import write_pattern_tree
from tiny_llava_world import VIDEOS, mqa_records, write_base_model, write_benchmark


def test_token_ids_are_what_the_generator_decodes(tmp_path):
    loaded = load_model(write_base_model(tmp_path / "model"))
    rng = np.random.default_rng(0)
    asked = [question(r, rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), False) for r in mqa_records(3)]
    generator = GreedyGenerator(loaded, max_new_tokens=6)
    ids = generator.token_ids(asked)
    assert all(len(answer) <= 6 for answer in ids)
    stops = {loaded.tokenizer.eos_token_id, loaded.tokenizer.pad_token_id}
    assert not any(token in stops for answer in ids for token in answer)
    decoded = [loaded.tokenizer.decode(answer, skip_special_tokens=True).strip() for answer in ids]
    assert decoded == generator(asked)


def test_throughput_reports_every_batch_size_against_the_first(tmp_path):
    model = write_base_model(tmp_path / "model")
    videos = write_pattern_tree(tmp_path / "videos", VIDEOS, width=32, height=32).root
    benchmark = write_benchmark(tmp_path / "mqa.jsonl", mqa_records(6))
    out = tmp_path / "throughput.json"
    argv = [
        *("eval", "throughput", "--model", str(model), "--benchmark", str(benchmark)),
        *("--video-root", str(videos), "--layout", "whole", "--frames", "2", "--max-new-tokens", "4"),
        *("--batch-sizes", "1", "4", "--warmup", "2", "--out", str(out)),
    ]
    assert main(argv) == 0
    figures = json.loads(out.read_text())
    assert [run["batch_size"] for run in figures["runs"]] == [1, 4]
    assert figures["first_batch_size"] == 1 and figures["likelihood"] is True
    assert all(run["questions"] == 6 and run["questions_per_second"] > 0 for run in figures["runs"])
    # fp32 on a CPU: a left-padded batch answers as one question at a time (test_evaluate_mqa)
    assert [run["identical_to_first"] for run in figures["runs"]] == [1.0, 1.0]
    assert figures["device"].startswith("CPU") and figures["dtype"] == "float32"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "model",
        "mqa.jsonl",
        "throughput.json",
        "videos",
    ]
