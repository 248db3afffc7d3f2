"""EK100-MQA evaluation: a model and a frozen benchmark -> predictions JSONL and a summary JSON.

Clips are decoded grouped by video and sorted by start (one decoder per file), answered in
batches as they come, and the predictions are written back in benchmark order. Several
benchmarks (the random, medium and hard distractor sets) can share one loaded model, so a
process pays for the imports and the weights once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from actionmqa.evaluate.generation import GreedyGenerator
from actionmqa.evaluate.likelihood import LikelihoodScorer
from actionmqa.evaluate.loading import LoadedModel, load_model
from actionmqa.evaluate.mqa import check_unique_uids, clip_request, evaluate, summarise
from actionmqa.io import sha256_file, write_json, write_jsonl
from actionmqa.mqa.records import read_benchmark
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import make_layout
from actionmqa.video.readers import ClipReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MQAJob:
    """Everything ``actionmqa eval mqa`` was told."""

    model: Path
    benchmark: Path
    video_root: Path
    layout: Literal["whole", "chunks"]
    frames: int
    summary: Path
    predictions: Path
    time_instruction: bool = False
    batch_size: int = 8
    max_new_tokens: int = 32
    likelihood: bool = True
    limit: int | None = None
    backend: Backend = "pyav"


def run_mqa_all(jobs: Sequence[MQAJob]) -> list[dict[str, Any]]:
    """Run jobs of one model one after another on a single load of it; the summaries in order."""
    models = {job.model for job in jobs}
    if len(models) != 1:
        raise ValueError(f"jobs of one model expected, got {sorted(map(str, models))}")
    loaded = load_model(jobs[0].model)
    return [run_mqa(job, loaded) for job in jobs]


def run_mqa(job: MQAJob, loaded: LoadedModel | None = None) -> dict[str, Any]:
    """Evaluate, write both outputs atomically, return the summary; ``loaded`` is ``job.model``'s."""
    records = read_benchmark(job.benchmark)[: job.limit]
    check_unique_uids(records)
    by_uid = {record.uid: record for record in records}
    loaded = loaded or load_model(job.model)
    reader = ClipReader(make_layout(job.layout, job.video_root), job.backend)
    clips = (
        (by_uid[clip.request.key], clip.frames)
        for clip in reader.clips(clip_request(record, job.frames) for record in records)
    )
    rows = evaluate(
        tqdm(clips, total=len(records), desc="EK100-MQA", unit="q"),
        GreedyGenerator(loaded, job.max_new_tokens),
        LikelihoodScorer(loaded) if job.likelihood else None,
        job.batch_size,
        job.time_instruction,
    )
    position = {record.uid: index for index, record in enumerate(records)}
    rows.sort(key=lambda row: position[row["uid"]])
    summary = {
        **summarise(rows),
        "frames": job.frames,
        "time_instruction": job.time_instruction,
        "max_new_tokens": job.max_new_tokens,
        "clipped": len(reader.stats.clipped),
        "model": str(job.model),
        "benchmark": str(job.benchmark),
        "benchmark_sha256": sha256_file(job.benchmark),
    }
    write_jsonl(job.predictions, rows)
    write_json(job.summary, summary)
    log.info(
        "EK100-MQA on %d questions: accuracy %.4f, strict %.4f, likelihood %s",
        summary["n"],
        summary["accuracy"],
        summary["accuracy_strict"],
        summary["accuracy_likelihood"],
    )
    return summary
