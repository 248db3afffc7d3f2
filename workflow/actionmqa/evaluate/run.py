"""EK100-MQA evaluation: a model and a frozen benchmark -> predictions JSONL and a summary JSON.

The task for the shared runner (:mod:`.runner`): the benchmark's records, the MQA prompt, and
each answer read by upstream's parser, the strict letter and the option likelihoods. Several
benchmarks (the random, medium and hard distractor sets) share one loaded model, so a process
pays for the imports and the weights once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from actionmqa.evaluate.generation import GreedyGenerator
from actionmqa.evaluate.jobs import MQAJob
from actionmqa.evaluate.likelihood import LikelihoodScorer
from actionmqa.evaluate.loading import LoadedModel
from actionmqa.evaluate.mqa import MQAQuestions, answer_question, check_unique_uids, question, summarise
from actionmqa.evaluate.runner import Answerer, Finished, ModelAnswerers, Record, Seen, run, whole_target
from actionmqa.io import sha256_file
from actionmqa.model.processing import ChatSample
from actionmqa.mqa.records import MQARecord, read_benchmark

log = logging.getLogger(__name__)


class MQATask(MQAQuestions):
    kind = "mqa"
    label = "EK100-MQA"
    job_type = MQAJob

    def __init__(self, job: MQAJob) -> None:
        self.job = job
        self.clips = job.clips
        self.records = read_benchmark(job.benchmark)[: job.limit]
        check_unique_uids(self.records)

    def ask(self, seen: Seen[MQARecord]) -> ChatSample:
        return question(seen.item, seen.frames, self.job.time_instruction)

    def answer(self, item: MQARecord, sample: ChatSample, raw: str, answerer: Answerer) -> Record:
        return answer_question(item, sample, raw, answerer.score_answers)

    def answerer(self, loaded: LoadedModel) -> Answerer:
        likelihood = LikelihoodScorer(loaded) if self.job.likelihood else None
        return Answerer(GreedyGenerator(loaded, self.job.max_new_tokens), likelihood)

    def finish(self, records: list[Record], clipped: int) -> Finished:
        job = self.job
        summary = {
            **summarise(records),
            "frames": job.clips.frames,
            "time_instruction": job.time_instruction,
            "max_new_tokens": job.max_new_tokens,
            "clipped": clipped,
            "model": str(job.model),
            "benchmark": str(job.benchmark),
            "benchmark_sha256": sha256_file(job.benchmark),
        }
        log.info(
            "EK100-MQA on %d questions: accuracy %.2f%%, strict %.2f%%, likelihood %s%%",
            summary["n"],
            summary["accuracy"],
            summary["accuracy_strict"],
            summary["accuracy_likelihood"],
        )
        return records, summary


def run_mqa_all(jobs: Sequence[MQAJob]) -> list[dict[str, Any]]:
    """Whole runs of jobs of one model on a single load of it; the summaries in order."""
    models = {job.model for job in jobs}
    if len(models) != 1:
        raise ValueError(f"jobs of one model expected, got {sorted(map(str, models))}")
    summaries = run([(MQATask(job), whole_target(job)) for job in jobs], ModelAnswerers(jobs[0].model))
    return [summary for summary in summaries if summary is not None]


def run_mqa(job: MQAJob) -> dict[str, Any]:
    """Evaluate, write both outputs atomically, return the summary."""
    return run_mqa_all([job])[0]
