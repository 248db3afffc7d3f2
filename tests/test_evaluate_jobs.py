"""The ``eval`` verbs build the jobs their flags say (``evaluate.jobs`` defines each knob once).

The expected jobs spell every field out by hand, with the defaults the verbs had when argparse
wrote them separately (frames 8, batch 8, 32 new tokens, top-K 20, ...), so a default changed by
accident in ``evaluate.jobs`` fails here.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest

import actionmqa.evaluate.cli as eval_cli
from actionmqa.bench import ParseMode
from actionmqa.cli import build_parser
from actionmqa.evaluate.jobs import (
    APIJob,
    BenchJob,
    ClipSource,
    MQAJob,
    RecognitionJob,
    SAPJob,
    ThroughputJob,
)
from actionmqa.evaluate.runner import Whole
from actionmqa.mqa.options import TextMode

CLIPS = ("--video-root", "v", "--layout", "chunks")
DEFAULT_CLIPS = ClipSource(video_root=Path("v"), layout="chunks", frames=8, backend="pyav")


@pytest.fixture
def built(monkeypatch) -> list[Any]:
    """What each verb would run: its tasks' jobs (the tasks are not built) and its outputs."""
    import actionmqa.evaluate.api as api
    import actionmqa.evaluate.bench as bench
    import actionmqa.evaluate.recognition as recognition
    import actionmqa.evaluate.run as run
    import actionmqa.evaluate.sap_run as sap_run
    import actionmqa.evaluate.throughput as throughput

    for module, task in (
        (run, "MQATask"),
        (sap_run, "SAPTask"),
        (recognition, "RecognitionTask"),
        (bench, "BenchTask"),
        (api, "APITask"),
    ):
        monkeypatch.setattr(module, task, lambda job: job)
    seen: list[Any] = []

    def capture(args, tasks, predictions_flag, answerers=None):
        seen.append((list(tasks), eval_cli._targets(args, len(tasks), predictions_flag)))

    monkeypatch.setattr(eval_cli, "_run", capture)
    monkeypatch.setattr(throughput, "measure", lambda job, out: seen.append((job, out)))
    return seen


def run_verb(*argv: str) -> None:
    args = build_parser().parse_args(["eval", *argv])
    args.func(args)


def test_mqa_takes_several_benchmarks_one_job_each(built):
    run_verb(
        *("mqa", "--model", "m", "--benchmark", "r.jsonl", "h.jsonl", *CLIPS),
        *("--summary", "r.json", "h.json", "--predictions", "r.jsonl", "h.jsonl"),
    )
    (jobs, targets) = built[0]

    def job(benchmark: str) -> MQAJob:
        return MQAJob(
            model=Path("m"),
            benchmark=Path(benchmark),
            clips=DEFAULT_CLIPS,
            time_instruction=False,
            batch_size=8,
            max_new_tokens=32,
            likelihood=True,
            limit=None,
        )

    assert jobs == [job("r.jsonl"), job("h.jsonl")]
    assert targets == [Whole(Path("r.json"), Path("r.jsonl")), Whole(Path("h.json"), Path("h.jsonl"))]


def test_sap_and_recognition_take_their_own_knobs_and_turn_likelihood_off(built):
    run_verb(
        *("sap", "--model", "m", "--benchmark", "b.jsonl", "--first-pass", "p.jsonl"),
        *("--annotations-dir", "ann", *CLIPS, "--frames", "16", "--skip-likelihood", "--time-instruction"),
        *("--summary", "s.json", "--predictions", "p2.jsonl"),
    )
    run_verb(
        *("recognition", "--model", "m", "--annotations-dir", "ann", "--predictions", "avion.json"),
        *(*CLIPS, "--top-k", "5", "--text", "label", "--batch-size", "2", "--limit", "3"),
        *("--shard", "1", "--shards", "2", "--part", "part.jsonl"),
    )
    assert built[0][0] == [
        SAPJob(
            model=Path("m"),
            benchmark=Path("b.jsonl"),
            first_pass=Path("p.jsonl"),
            annotations_dir=Path("ann"),
            clips=ClipSource(video_root=Path("v"), layout="chunks", frames=16, backend="pyav"),
            split="validation",
            max_gap_sec=3.0,
            time_instruction=True,
            batch_size=8,
            max_new_tokens=32,
            likelihood=False,
            limit=None,
        )
    ]
    assert built[1][0] == [
        RecognitionJob(
            model=Path("m"),
            annotations_dir=Path("ann"),
            specialist_predictions=Path("avion.json"),
            clips=DEFAULT_CLIPS,
            split="validation",
            top_k=5,
            text=TextMode.LABEL,
            seed=0,
            time_instruction=False,
            batch_size=2,
            max_new_tokens=32,
            likelihood=True,
            limit=3,
        )
    ]


def test_bench_reads_its_modes_and_leaves_the_cap_to_the_task(built):
    run_verb(
        *("bench", "--model", "m", "--benchmark", "mvbench", "--data", "mvb", "--frames", "4"),
        *("--summary", "s.json", "--predictions", "p.jsonl"),
    )
    run_verb(
        *("bench", "--model", "m", "--benchmark", "videomme", "--data", "vm", "--frames", "4"),
        *("--mode", "strict", "--subtitles", "--max-new-tokens", "7", "--summary", "s", "--predictions", "p"),
    )
    common = {"model": Path("m"), "frames": 4, "videos": None, "seed": 0, "batch_size": 1, "limit": None}
    assert built[0][0] == [
        BenchJob(
            benchmark="mvbench",
            data=Path("mvb"),
            modes=(ParseMode.LMMS_EVAL, ParseMode.OFFICIAL, ParseMode.STRICT),
            subtitles=False,
            max_new_tokens=None,
            backend="pyav",
            **common,
        )
    ]
    assert built[1][0] == [
        BenchJob(
            benchmark="videomme",
            data=Path("vm"),
            modes=(ParseMode.STRICT,),
            subtitles=True,
            max_new_tokens=7,
            backend="pyav",
            **common,
        )
    ]


def test_api_and_throughput_jobs(built):
    run_verb(
        *("api", "--benchmark", "b.jsonl", "--teacher-config", "t.yaml", *CLIPS),
        *("--summary", "s.json", "--predictions", "p.jsonl"),
    )
    run_verb(
        *("throughput", "--model", "m", "--benchmark", "b.jsonl", *CLIPS, "--batch-sizes", "2", "8"),
        *("--out", "perf.json"),
    )
    assert built[0][0] == [
        APIJob(
            benchmark=Path("b.jsonl"),
            teacher_config=Path("t.yaml"),
            clips=DEFAULT_CLIPS,
            batch_size=32,
            limit=None,
        )
    ]
    timed = MQAJob(
        model=Path("m"),
        benchmark=Path("b.jsonl"),
        clips=DEFAULT_CLIPS,
        time_instruction=False,
        batch_size=2,
        max_new_tokens=32,
        likelihood=True,
        limit=None,
    )
    assert built[1] == (ThroughputJob(job=timed, batch_sizes=(2, 8), warmup=8), Path("perf.json"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ("bench", "--model", "m", "--benchmark", "nextqa", "--data", "d", "--frames", "4"),
            "invalid choice",
        ),
        (
            ("mqa", "--model", "m", "--benchmark", "b", *CLIPS, "--frames", "0"),
            "expected an integer >= 1, got 0",
        ),
        (
            ("throughput", "--model", "m", "--benchmark", "b", *CLIPS, "--out", "o", "--warmup", "-1"),
            "argument --warmup: expected an integer >= 0, got -1",
        ),
    ],
)
def test_a_flag_outside_its_knob_is_refused_by_name(argv, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", *argv])
    assert message in capsys.readouterr().err


def test_bench_offers_exactly_the_benchmarks_that_have_an_adapter():
    from actionmqa.bench import ADAPTERS
    from actionmqa.evaluate.jobs import BenchmarkName

    assert sorted(typing.get_args(BenchmarkName)) == sorted(ADAPTERS)
