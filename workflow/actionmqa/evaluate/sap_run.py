"""``eval sap``: the second, prior-actions pass over a frozen EK100-MQA benchmark.

Scored exactly as ``eval mqa`` scores (upstream parser, strict letter, likelihoods), so the
summary's ``first_pass`` and ``second_pass`` accuracies, over the same questions, differ only
by what the prompt told the model.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError
from actionmqa.evaluate.answering import chat_sample
from actionmqa.evaluate.generation import Generate, GreedyGenerator
from actionmqa.evaluate.jobs import SAPJob
from actionmqa.evaluate.likelihood import LikelihoodScorer, ScoreAnswers
from actionmqa.evaluate.loading import LoadedModel
from actionmqa.evaluate.mqa import MQAQuestions, answer_question, check_unique_uids, summarise
from actionmqa.evaluate.runner import Answerer, Finished, Record, Seen, answerers_for, run, whole_target
from actionmqa.evaluate.sap import PromptKind, SAPPrompt, first_pass_texts, predecessors, sap_prompt
from actionmqa.io import sha256_file
from actionmqa.model.processing import ChatSample
from actionmqa.mqa.records import MQARecord, read_benchmark
from actionmqa.sft.segments import segments_in_order

log = logging.getLogger(__name__)


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


class SAPTask(MQAQuestions):
    """The second pass. Its prompts read the whole first pass (a clip's predecessors may be any
    earlier questions), so every shard needs the gathered first pass, never one shard of it."""

    kind = "sap"
    label = "SAP"
    job_type = SAPJob

    def __init__(self, job: SAPJob) -> None:
        self.job = job
        self.clips = job.clips
        benchmark = read_benchmark(job.benchmark)
        check_unique_uids(benchmark)
        self.records = benchmark[: job.limit]
        answered, rows = first_pass_texts(job.first_pass, benchmark)
        self.first_rows = first_pass_rows(rows, self.records, job.first_pass)
        self.prompts = sap_prompts(job, self.records, answered)

    def describe(self, item: MQARecord) -> Any:
        return {"record": item.model_dump(mode="json"), "prompt": self.prompts[item.uid].text}

    def ask(self, seen: Seen[MQARecord]) -> ChatSample:
        record = seen.item
        duration = record.end_sec - record.start_sec if self.job.time_instruction else None
        return chat_sample(self.prompts[record.uid].text, seen.frames, duration)

    def answer(self, item: MQARecord, sample: ChatSample, raw: str, answerer: Answerer) -> Record:
        asked = self.prompts[item.uid]
        return {
            **answer_question(item, sample, raw, answerer.score_answers),
            "prompt_kind": asked.kind.value,
            "prior_actions": None if asked.prior_texts is None else list(asked.prior_texts),
        }

    def answerer(self, loaded: LoadedModel) -> Answerer:
        likelihood = LikelihoodScorer(loaded) if self.job.likelihood else None
        return Answerer(GreedyGenerator(loaded, self.job.max_new_tokens), likelihood)

    def finish(self, records: list[Record], clipped: int) -> Finished:
        summary = sap_summary(self.job, records, self.first_rows)
        summary["clipped"] = clipped
        log.info(
            "SAP on %d questions (%d with prior actions): accuracy %.2f%% -> %.2f%%",
            summary["n"],
            summary["prompts"][PromptKind.PRIOR.value],
            summary["first_pass"]["accuracy"],
            summary["second_pass"]["accuracy"],
        )
        return records, summary


def run_sap(
    job: SAPJob, generate: Generate | None = None, score_answers: ScoreAnswers | None = None
) -> dict[str, Any]:
    """The second pass; both outputs written atomically. ``generate``/``score_answers`` replace the model."""
    summary = run([(SAPTask(job), whole_target(job))], answerers_for(job.model, generate, score_answers))[0]
    assert summary is not None
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
