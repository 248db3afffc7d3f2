"""``eval api``: any OpenAI-compatible chat model on EK100-MQA, as upstream ran GPT-4o (spec §6.2).

Upstream's request: the system prompt is the time instruction plus the MQA prompt, the user
turn is empty text and the frames, the reply a structured ``{answer}`` at temperature 0, read
with ``process_raw_pred`` alone (its LLaVA path strips trailing commas first; this one does not).
Requests go through :mod:`actionmqa.teacher`, so every reply is cached on disk and a rerun costs
nothing. The evaluation is a task of the shared runner (:mod:`.runner`), so it is planned,
resumed, sharded and written as ``eval mqa`` is, and scored as it scores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from actionmqa.evaluate.jobs import APIJob
from actionmqa.evaluate.loading import LoadedModel
from actionmqa.evaluate.mqa import MQAQuestions, check_unique_uids, prediction, summarise
from actionmqa.evaluate.runner import Answerer, EvalTask, Finished, Record, Seen, run, whole_target
from actionmqa.io import sha256_file
from actionmqa.mqa.records import MQARecord, read_benchmark
from actionmqa.prompts import gpt_benchmark_system_prompt
from actionmqa.sft.teacher_run import load_teacher_config
from actionmqa.teacher import ChatRequest, MQAResponse, TeacherClient

log = logging.getLogger(__name__)


def api_request(record: MQARecord, frames: np.ndarray) -> ChatRequest:
    """Upstream's request; the duration is the unclipped span, as upstream states it."""
    system = gpt_benchmark_system_prompt(record.options, record.end_sec - record.start_sec, len(frames))
    return ChatRequest(system=system, user_text="", frames=list(frames), response_model=MQAResponse)


class APITask(MQAQuestions):
    """EK100-MQA asked of the endpoint ``teacher_config`` names; no likelihoods (an API has none)."""

    kind = "api"
    label = "API EK100-MQA"
    job_type = APIJob

    def __init__(self, job: APIJob) -> None:
        self.job = job
        self.clips = job.clips
        self.config = load_teacher_config(job.teacher_config)
        self.records = read_benchmark(job.benchmark)[: job.limit]
        check_unique_uids(self.records)

    def model_identity(self) -> Any:
        """The endpoint and what shapes its replies, in place of a model folder's stamp."""
        config = self.config
        return [config.base_url, config.model, config.temperature, config.jpeg_quality]

    def ask(self, seen: Seen[MQARecord]) -> ChatRequest:
        return api_request(seen.item, seen.frames)

    def answer(self, item: MQARecord, sample: Any, raw: str, answerer: Answerer) -> Record:
        # upstream read GPT's answers with process_raw_pred alone, commas and all
        return prediction(item, raw, None, strip_trailing_commas=False)

    def answerer(self, loaded: LoadedModel) -> Answerer:
        raise TypeError("an API task is answered by its endpoint (EndpointAnswerers), not a loaded model")

    def finish(self, records: list[Record], clipped: int) -> Finished:
        summary = {
            **summarise(records),
            "api_model": self.config.model,
            "temperature": self.config.temperature,
            "frames": self.clips.frames,
            "clipped": clipped,
            "benchmark": str(self.job.benchmark),
            "benchmark_sha256": sha256_file(self.job.benchmark),
        }
        log.info("%s on %d questions: accuracy %.2f%%", self.config.model, summary["n"], summary["accuracy"])
        return records, summary


class EndpointAnswerers:
    """The runner's answerers for API tasks: one client, built when the first batch is asked."""

    def __init__(self, client: TeacherClient | None = None) -> None:
        self.client = client

    def __call__(self, task: EvalTask[Any]) -> Answerer:
        if not isinstance(task, APITask):
            raise TypeError(f"{task.label} needs a saved model, not an API endpoint")
        if self.client is None:
            self.client = TeacherClient(task.config)
        return Answerer(self.ask_all)

    def ask_all(self, requests: Sequence[ChatRequest]) -> list[str]:
        """The structured answer of each request, in order (cached replies are not asked again)."""
        assert self.client is not None
        replies = self.client.map(requests)
        answers = []
        for reply in replies:
            if not isinstance(reply, MQAResponse):
                raise TypeError(f"expected an {MQAResponse.__name__} reply, got {type(reply).__name__}")
            answers.append(reply.answer)
        return answers


def run_api(job: APIJob, client: TeacherClient | None = None) -> dict[str, Any]:
    """Ask, score, write both outputs atomically; ``client`` replaces the one the config builds."""
    summary = run([(APITask(job), whole_target(job))], EndpointAnswerers(client))[0]
    assert summary is not None
    return summary
