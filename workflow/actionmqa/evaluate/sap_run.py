"""``eval sap``: the second, prior-actions pass over a frozen EK100-MQA benchmark.

Scored exactly as ``eval mqa`` scores (upstream parser, strict letter, likelihoods), so the
summary's ``first_pass`` and ``second_pass`` accuracies, over the same questions, differ only
by what the prompt told the model.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError
from actionmqa.evaluate.answering import answer_all, chat_sample
from actionmqa.evaluate.clips import ClipSource, clips_for, in_order
from actionmqa.evaluate.generation import Generate, GreedyGenerator
from actionmqa.evaluate.likelihood import LikelihoodScorer, ScoreAnswers
from actionmqa.evaluate.loading import load_model
from actionmqa.evaluate.mqa import check_unique_uids, clip_request, option_answers, prediction, summarise
from actionmqa.evaluate.sap import PromptKind, SAPPrompt, first_pass_texts, predecessors, sap_prompt
from actionmqa.io import sha256_file, write_json, write_jsonl
from actionmqa.mqa.records import MQARecord, read_benchmark
from actionmqa.sft.segments import segments_in_order

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SAPJob:
    """Everything ``actionmqa eval sap`` was told."""

    model: Path
    benchmark: Path
    first_pass: Path
    annotations_dir: Path
    clips: ClipSource
    summary: Path
    predictions: Path
    split: str = "validation"
    max_gap_sec: float = 3.0
    time_instruction: bool = False
    batch_size: int = 8
    max_new_tokens: int = 32
    likelihood: bool = True
    limit: int | None = None


def sap_prompts(job: SAPJob, records: list[MQARecord], answered: dict[str, str]) -> dict[str, SAPPrompt]:
    """uid -> the clip's second-pass prompt; predecessors come from every segment of the split."""
    ann = load_annotation_dir(job.annotations_dir)
    segments = segments_in_order(ann.split(job.split), ann.root / SPLIT_FILES[job.split])
    lookup = predecessors(segments, job.max_gap_sec)
    return {record.uid: sap_prompt(record, lookup.get(record.narration_id), answered) for record in records}


def first_pass_rows(rows: list[dict[str, Any]], records: list[MQARecord], path: Path) -> list[dict[str, Any]]:
    """The first pass's rows for exactly the questions of this pass, so both accuracies compare."""
    by_uid = {row["uid"]: row for row in rows}
    missing = [record.uid for record in records if record.uid not in by_uid]
    if missing:
        raise InputError(path, f"{len(missing)} questions have no first-pass answer (first: {missing[0]})")
    return [by_uid[record.uid] for record in records]


def run_sap(
    job: SAPJob, generate: Generate | None = None, score_answers: ScoreAnswers | None = None
) -> dict[str, Any]:
    """The second pass; both outputs written atomically. ``generate``/``score_answers`` replace the model."""
    benchmark = read_benchmark(job.benchmark)
    check_unique_uids(benchmark)
    records = benchmark[: job.limit]
    answered, first_rows = first_pass_texts(job.first_pass, benchmark)
    prompts = sap_prompts(job, records, answered)
    if generate is None:
        loaded = load_model(job.model)
        generate = GreedyGenerator(loaded, job.max_new_tokens)
        score_answers = LikelihoodScorer(loaded) if job.likelihood else None
    reader = job.clips.reader()
    samples = (
        (record, chat_sample(prompts[record.uid].text, frames, _duration(record, job)))
        for record, frames in clips_for(reader, records, lambda r: clip_request(r, job.clips.frames))
    )
    rows = []
    for record, sample, raw in answer_all(
        tqdm(samples, total=len(records), desc="SAP", unit="q"), generate, job.batch_size
    ):
        scores = None if score_answers is None else score_answers(sample, option_answers(record))
        asked = prompts[record.uid]
        rows.append(
            {
                **prediction(record, raw, scores),
                "prompt_kind": asked.kind.value,
                "prior_actions": None if asked.prior_texts is None else list(asked.prior_texts),
            }
        )
    rows = in_order(rows, [record.uid for record in records], "uid")
    summary = sap_summary(job, rows, first_pass_rows(first_rows, records, job.first_pass))
    summary["clipped"] = len(reader.stats.clipped)
    write_jsonl(job.predictions, rows)
    write_json(job.summary, summary)
    log.info(
        "SAP on %d questions (%d with prior actions): accuracy %.4f -> %.4f",
        summary["n"],
        summary["prompts"][PromptKind.PRIOR.value],
        summary["first_pass"]["accuracy"],
        summary["second_pass"]["accuracy"],
    )
    return summary


def sap_summary(job: SAPJob, rows: list[dict[str, Any]], first_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Both passes' accuracies, the prompt counts, and the second pass split by prompt kind."""
    kinds = Counter(row["prompt_kind"] for row in rows)
    return {
        "n": len(rows),
        "first_pass": summarise(first_rows),
        "second_pass": summarise(rows),
        "prompts": {kind.value: kinds[kind.value] for kind in PromptKind},
        "second_pass_by_prompt": {
            kind: summarise([row for row in rows if row["prompt_kind"] == kind]) for kind in sorted(kinds)
        },
        "max_gap_sec": job.max_gap_sec,
        "split": job.split,
        "frames": job.clips.frames,
        "time_instruction": job.time_instruction,
        "max_new_tokens": job.max_new_tokens,
        "model": str(job.model),
        "benchmark": str(job.benchmark),
        "benchmark_sha256": sha256_file(job.benchmark),
        "first_pass_file": str(job.first_pass),
        "first_pass_sha256": sha256_file(job.first_pass),
    }


def _duration(record: MQARecord, job: SAPJob) -> float | None:
    return record.end_sec - record.start_sec if job.time_instruction else None
