"""``eval bench``: a saved model on EgoSchema, Perception Test, LongVideoBench, Video-MME or MVBench.

The paper ran these through lmms-eval (spec/llavaction.md §6.3); this does what lmms-eval's
``llava_vid`` does with the benchmark adapters' lmms-eval prompts: uniform frames, the prompt
after the video placeholder, greedy decoding capped per task. Generation happens once; the raw
outputs are then read by every requested parser mode, so the lmms-eval number and the official
and strict ones (spec/benchmarks.md §9) always come from the same answers.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from actionmqa.bench import ADAPTERS, BenchmarkAdapter, ParseMode, PromptStyle, Question, make_adapter
from actionmqa.bench.base import evaluate
from actionmqa.bench.records import SampleResult
from actionmqa.bench.scoring import Summary
from actionmqa.evaluate.answering import chat_sample
from actionmqa.evaluate.bench_frames import sample_question_video
from actionmqa.evaluate.generation import Generate, GreedyGenerator
from actionmqa.evaluate.jobs import BenchJob
from actionmqa.evaluate.loading import LoadedModel
from actionmqa.evaluate.runner import (
    Answerer,
    EvalTask,
    Finished,
    Record,
    Seen,
    answerers_for,
    run,
    whole_target,
)
from actionmqa.model.processing import ChatSample

log = logging.getLogger(__name__)

#: lmms-eval's generation caps (spec/benchmarks.md §2). Perception Test sets none, so the
#: model wrapper's own default (1024 in ``llava_vid``) applies.
MAX_NEW_TOKENS: dict[str, int] = {
    "egoschema": 16,
    "perceptiontest": 1024,
    "longvideobench": 32,
    "videomme": 16,
    "mvbench": 16,
}
#: The mode whose accuracy is the summary's headline: the protocol the paper's numbers follow.
HEADLINE_MODE = ParseMode.LMMS_EVAL


def generation_cap(job: BenchJob) -> int:
    """The job's own cap, or else the task's lmms-eval cap."""
    return job.max_new_tokens or MAX_NEW_TOKENS[job.benchmark]


def make_bench_adapter(name: str, frames: int, subtitles: bool) -> BenchmarkAdapter:
    """The adapter, told the frame count where it selects subtitles by frame (Video-MME, LVB)."""
    cls = ADAPTERS.get(name)
    fields = dataclasses.fields(cls) if cls is not None else ()  # type: ignore[arg-type]
    takes_frames = any(f.name == "frames" for f in fields)
    return make_adapter(name, subtitles=subtitles, frames=frames if takes_frames else None)


def score_modes(
    adapter: BenchmarkAdapter,
    questions: Sequence[Question],
    outputs: Mapping[str, str],
    modes: Sequence[ParseMode],
    seed: int,
) -> tuple[dict[str, Summary], list[dict[str, Any]]]:
    """One adapter summary per mode, and per question its output read by every mode.

    Unlabelled questions get rows too (parsed, ``correct`` None), so the predictions double as
    the ``{"id", "output"}`` file ``bench submit`` reads.
    """
    summaries: dict[str, Summary] = {}
    results: dict[str, dict[str, SampleResult]] = {}
    for mode in modes:
        summary, scored = evaluate(adapter, questions, outputs, mode, seed)
        summaries[mode.value] = summary
        results[mode.value] = {result.id: result for result in scored}
    rows = []
    for question in questions:
        raw = outputs[question.id]
        parsed, correct = {}, {}
        for mode in modes:
            result = results[mode.value].get(question.id)
            reading = result.parsed if result else adapter.parse(raw, question, mode, seed)
            parsed[mode.value] = reading.letter
            correct[mode.value] = result.correct if result else None
        rows.append(
            {
                "id": question.id,
                "output": raw,
                "answer": question.answer_letter,
                "parsed": parsed,
                "correct": correct,
            }
        )
    return summaries, rows


def bench_summary(
    job: BenchJob, adapter: BenchmarkAdapter, summaries: Mapping[str, Summary]
) -> dict[str, Any]:
    headline_mode = HEADLINE_MODE.value if HEADLINE_MODE.value in summaries else next(iter(summaries))
    headline = summaries[headline_mode]
    return {
        "benchmark": job.benchmark,
        "model": str(job.model),
        "frames": job.frames,
        "max_new_tokens": generation_cap(job),
        "seed": job.seed,
        "prompt_style": PromptStyle.LMMS_EVAL.value,
        "settings": adapter.settings(),
        "modes": {mode: summary.to_json() for mode, summary in summaries.items()},
        "headline_mode": headline_mode,
        "accuracy": headline.accuracy,
        "n": headline.n,
        "unparsed": headline.unparsed,
    }


class BenchTask(EvalTask[Question]):
    """One benchmark as lmms-eval's ``llava_vid`` runs it: the raw outputs are kept, and read by
    every parser mode at the end (lmms-eval's random fallbacks are seeded per question)."""

    kind = "bench"
    job_type = BenchJob

    def __init__(self, job: BenchJob) -> None:
        self.job = job
        self.label = job.benchmark
        self.adapter = make_bench_adapter(job.benchmark, job.frames, job.subtitles)
        self.questions = self.adapter.load(job.data, job.videos)[: job.limit]

    def items(self) -> Sequence[Question]:
        return self.questions

    def key(self, item: Question) -> str:
        return item.id

    def describe(self, item: Question) -> Any:
        return dataclasses.asdict(item)

    def read(self, items: Sequence[Question]) -> Iterator[Seen[Question]]:
        for question in items:
            video = sample_question_video(question, self.job.frames, self.job.backend)
            yield Seen(question, video.frames, meta=video.meta)

    def ask(self, seen: Seen[Question]) -> ChatSample:
        """lmms-eval's user text after ``<video>``, with the video's timing where subtitles need it."""
        style = PromptStyle.LMMS_EVAL
        meta = seen.meta if self.adapter.needs_video_meta(seen.item, style) else None
        return chat_sample(self.adapter.prompt(seen.item, style, meta).user, seen.frames)

    def answer(self, item: Question, sample: ChatSample, raw: str, answerer: Answerer) -> Record:
        return {"id": item.id, "output": raw}

    def answerer(self, loaded: LoadedModel) -> Answerer:
        return Answerer(GreedyGenerator(loaded, generation_cap(self.job)))

    def finish(self, records: list[Record], clipped: int) -> Finished:
        job = self.job
        outputs = {record["id"]: record["output"] for record in records}
        summaries, rows = score_modes(self.adapter, self.questions, outputs, job.modes, job.seed)
        summary = bench_summary(job, self.adapter, summaries)
        log.info(
            "%s on %d questions: %s",
            job.benchmark,
            summary["n"],
            ", ".join(f"{mode} {s.accuracy:.2f}%" for mode, s in summaries.items()),
        )
        return rows, summary


def run_bench(job: BenchJob, generate: Generate | None = None) -> dict[str, Any]:
    """Answer every question, score the answers in every mode, write both outputs atomically.

    ``generate`` replaces the model (tests inject chosen answers).
    """
    summary = run([(BenchTask(job), whole_target(job))], answerers_for(job.model, generate))[0]
    assert summary is not None
    return summary
