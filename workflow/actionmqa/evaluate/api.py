"""``eval api``: any OpenAI-compatible chat model on EK100-MQA, as upstream ran GPT-4o (spec §6.2).

Upstream's request: the system prompt is the time instruction plus the MQA prompt, the user
turn is empty text and the frames, the reply a structured ``{answer}`` at temperature 0, read
with ``process_raw_pred`` alone (its LLaVA path strips trailing commas first; this one does not).
Requests go through :mod:`actionmqa.teacher`, so every reply is cached on disk and a rerun costs
nothing; the answers are otherwise scored as ``eval mqa`` scores them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from actionmqa.bench.scoring import UNIT
from actionmqa.evaluate.answering import batched
from actionmqa.evaluate.clips import ClipSource, clips_for, in_order
from actionmqa.evaluate.mqa import check_unique_uids, clip_request, prediction, summarise
from actionmqa.io import sha256_file, write_json, write_jsonl
from actionmqa.mqa.records import MQARecord, read_benchmark
from actionmqa.prompts import gpt_benchmark_system_prompt
from actionmqa.sft.teacher_run import load_teacher_config
from actionmqa.teacher import ChatRequest, MQAResponse, TeacherClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class APIJob:
    """Everything ``actionmqa eval api`` was told; ``batch_size`` bounds the frames held at once."""

    benchmark: Path
    teacher_config: Path
    clips: ClipSource
    summary: Path
    predictions: Path
    batch_size: int = 32
    limit: int | None = None


def api_request(record: MQARecord, frames: np.ndarray) -> ChatRequest:
    """Upstream's request; the duration is the unclipped span, as upstream states it."""
    system = gpt_benchmark_system_prompt(record.options, record.end_sec - record.start_sec, len(frames))
    return ChatRequest(system=system, user_text="", frames=list(frames), response_model=MQAResponse)


def run_api(job: APIJob, client: TeacherClient | None = None) -> dict[str, Any]:
    """Ask, score, write both outputs atomically; ``client`` replaces the one the config builds."""
    records = read_benchmark(job.benchmark)[: job.limit]
    check_unique_uids(records)
    client = client or TeacherClient(load_teacher_config(job.teacher_config))
    reader = job.clips.reader()
    clips = clips_for(reader, records, lambda record: clip_request(record, job.clips.frames))
    rows = []
    for batch in batched(tqdm(clips, total=len(records), desc="API MQA", unit="q"), job.batch_size):
        replies = client.map(api_request(record, frames) for record, frames in batch)
        for (record, _), reply in zip(batch, replies, strict=True):
            assert isinstance(reply, MQAResponse)
            # upstream read GPT's answers with process_raw_pred alone, commas and all
            rows.append(prediction(record, reply.answer, None, strip_trailing_commas=False))
    rows = in_order(rows, [record.uid for record in records], "uid")
    summary = {
        **summarise(rows),
        "api_model": client.config.model,
        "temperature": client.config.temperature,
        "frames": job.clips.frames,
        "clipped": len(reader.stats.clipped),
        "benchmark": str(job.benchmark),
        "benchmark_sha256": sha256_file(job.benchmark),
        "unit": UNIT,
    }
    write_jsonl(job.predictions, rows)
    write_json(job.summary, summary)
    log.info("%s on %d questions: accuracy %.2f%%", client.config.model, summary["n"], summary["accuracy"])
    return summary
