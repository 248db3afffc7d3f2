"""``eval throughput``: EK100-MQA questions per second at several batch sizes, and the share of
answers each batch size leaves as they are at the first.

A larger batch answers faster on a GPU, but left padding and other kernels change the last bits
of bf16 numbers, so some greedy answers change; this measures both on the same questions with
the model loaded once, through the runner the evaluation rules use (frame decoding, generation,
the option likelihoods unless skipped, the progress file). Answers are compared as generated
token ids: a random-weight model's ids mostly lie beyond a small tokenizer's vocabulary and
decode to nothing, which would make every answer look the same.
"""

from __future__ import annotations

import logging
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from actionmqa.evaluate.generation import GreedyGenerator
from actionmqa.evaluate.jobs import MQAJob, ThroughputJob
from actionmqa.evaluate.likelihood import LikelihoodScorer
from actionmqa.evaluate.loading import LoadedModel, load_model
from actionmqa.evaluate.run import MQATask
from actionmqa.evaluate.runner import Answerer, answer_shard
from actionmqa.evaluate.shards import Shard
from actionmqa.io import write_json

log = logging.getLogger(__name__)


def id_answerer(loaded: LoadedModel, job: MQAJob) -> Answerer:
    """The evaluation's answerer, with answers spelled as their generated token ids."""
    generator = GreedyGenerator(loaded, job.max_new_tokens)

    def generate(samples: Sequence[Any]) -> list[str]:
        return [" ".join(map(str, ids)) for ids in generator.token_ids(samples)]

    return Answerer(generate, LikelihoodScorer(loaded) if job.likelihood else None)


def timed_answers(job: MQAJob, answerer: Answerer) -> tuple[dict[str, str], float]:
    """uid -> answer (token ids) of one evaluation, and its wall time in seconds."""
    task = MQATask(job)
    with tempfile.TemporaryDirectory() as scratch:
        synchronize()
        start = time.perf_counter()
        answers, _ = answer_shard(task, Shard(), Path(scratch) / "progress.jsonl", lambda _: answerer)
        synchronize()
        seconds = time.perf_counter() - start
    return {answer.key: answer.record["raw_output"] for answer in answers}, seconds


def measure(spec: ThroughputJob, out: Path) -> dict[str, Any]:
    """Time every batch size, compare its answers with the first's, write and return the figures."""
    if not spec.batch_sizes:
        raise ValueError("no batch sizes to measure")
    loaded = load_model(spec.job.model)
    answerer = id_answerer(loaded, spec.job)
    if spec.warmup:
        timed_answers(replace(spec.job, batch_size=max(spec.batch_sizes), limit=spec.warmup), answerer)
    runs: list[dict[str, Any]] = []
    first: dict[str, str] = {}
    for batch_size in spec.batch_sizes:
        reset_peak_memory()
        answers, seconds = timed_answers(replace(spec.job, batch_size=batch_size), answerer)
        first = first or answers
        same = sum(answers[uid] == first[uid] for uid in first)
        runs.append(
            {
                "batch_size": batch_size,
                "questions": len(answers),
                "seconds": round(seconds, 3),
                "questions_per_second": round(len(answers) / seconds, 3),
                "identical_to_first": round(same / len(first), 4),
                "peak_gpu_memory_gib": peak_memory_gib(),
            }
        )
        log.info(
            "batch %d: %.3f questions/s, %d of %d answers as at batch %d",
            batch_size,
            runs[-1]["questions_per_second"],
            same,
            len(first),
            spec.batch_sizes[0],
        )
    figures = {
        "model": str(spec.job.model),
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
        "dtype": str(loaded.model.dtype).removeprefix("torch."),
        "device": device_name(),
        "torch": torch.__version__,
        "benchmark": str(spec.job.benchmark),
        "frames": spec.job.clips.frames,
        "max_new_tokens": spec.job.max_new_tokens,
        "likelihood": spec.job.likelihood,
        "warmup_questions": spec.warmup,
        "first_batch_size": spec.batch_sizes[0],
        "runs": runs,
    }
    write_json(out, figures)
    return figures


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_memory_gib() -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None


def device_name() -> str:
    return (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU ({platform.processor() or platform.machine()})"
    )
