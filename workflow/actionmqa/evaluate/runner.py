"""The evaluation loop every task shares: plan, shard, answer in batches, resume, write.

lmms-eval splits an evaluation in two: a task supplies its questions, prompt, parser and scorer,
and one runner owns the model, batching and outputs. Here a task is an :class:`EvalTask`
(EK100-MQA in ``run``, SAP in ``sap_run``, two-stage recognition in ``recognition``, the five
video-QA benchmarks in ``bench``, an API model on EK100-MQA in ``api``) and this module is the
runner:

- **plan**: the questions in the order their frames are read (one decoder per video), cut into
  batches of ``batch_size``. A shard is a contiguous run of those batches, so each batch a shard
  answers is a batch of the unsharded run, and its answers are the same to the bit (on a GPU,
  which questions share a batch changes the numbers).
- **resume**: every finished batch goes to a progress file (:mod:`.progress`) at once; a rerun
  answers only the batches it lacks, and a job with nothing left never loads the model.
- **output**: the whole evaluation's predictions and summary (:class:`Whole`), or one shard's
  answers in a part file that ``eval gather`` merges (:class:`Part`). Both end in the task's
  ``finish``, so a gathered evaluation equals an unsharded one byte for byte.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import TypeAdapter
from tqdm import tqdm

from actionmqa.bench.scoring import UNIT
from actionmqa.evaluate.answering import batched
from actionmqa.evaluate.progress import Answer, Fingerprint, Progress, digest, model_stamp, progress_path
from actionmqa.evaluate.shards import Shard, write_part
from actionmqa.io import dumps_canonical, write_json, write_jsonl

if TYPE_CHECKING:
    from actionmqa.evaluate.generation import Generate
    from actionmqa.evaluate.likelihood import ScoreAnswers
    from actionmqa.evaluate.loading import LoadedModel
    from actionmqa.model.processing import ChatSample
    from actionmqa.teacher import ChatRequest

    #: What a task asks: a prompt with frames for a saved model, a chat request for an API model.
    Prompt = ChatSample | ChatRequest

log = logging.getLogger(__name__)

T = TypeVar("T")

#: A task's record of one answer, and what ``finish`` makes of them all: prediction rows and a summary.
Record = dict[str, Any]
Finished = tuple[list[Record], dict[str, Any]]

#: Job fields that say where results go, not how they are made: outside the fingerprint.
OUTPUT_FIELDS = ("summary", "predictions")


@dataclass(frozen=True)
class Seen(Generic[T]):
    """A question with what the model is shown: its frames, whether its clip ran past the end of
    the video, and anything else its prompt needs (a benchmark video's frame rate)."""

    item: T
    frames: np.ndarray
    clipped: bool = False
    meta: Any = None


@dataclass(frozen=True)
class Answerer:
    """The model's side of a task: greedy answers (a batch of prompts in, one answer each out),
    and option likelihoods where the task uses them."""

    generate: Callable[[Sequence[Prompt]], list[str]]
    score_answers: ScoreAnswers | None = None


class EvalTask(abc.ABC, Generic[T]):
    """One evaluation over a question set: what is asked, how it is shown, read and scored.

    Subclasses set ``kind`` (the name parts and ``eval gather`` know it by), ``label`` (for logs
    and progress bars), ``job_type`` (the dataclass of its settings) and ``job``.
    """

    kind: ClassVar[str]
    label: str
    job_type: ClassVar[type[Any]]
    job: Any

    @abc.abstractmethod
    def items(self) -> Sequence[T]:
        """Every question, in the order the predictions list them."""

    @abc.abstractmethod
    def key(self, item: T) -> str:
        """The question's unique key."""

    @abc.abstractmethod
    def describe(self, item: T) -> Any:
        """What is asked, as JSON-like data: the question part of the fingerprint."""

    def reading_order(self, items: Sequence[T]) -> list[T]:
        """``items`` in the order :meth:`read` yields them (by default, as given)."""
        return list(items)

    @abc.abstractmethod
    def read(self, items: Sequence[T]) -> Iterator[Seen[T]]:
        """Each item with its frames, in :meth:`reading_order`."""

    @abc.abstractmethod
    def ask(self, seen: Seen[T]) -> Prompt:
        """The prompt (with frames) the model answers."""

    @abc.abstractmethod
    def answer(self, item: T, sample: Prompt, raw: str, answerer: Answerer) -> Record:
        """The record kept of one answer (parsed and scored where the task scores per question)."""

    @abc.abstractmethod
    def finish(self, records: list[Record], clipped: int) -> Finished:
        """Prediction rows and the summary from every record, in question order."""

    @abc.abstractmethod
    def answerer(self, loaded: LoadedModel) -> Answerer:
        """The generator (and likelihood scorer) this task's settings ask of a loaded model."""

    @property
    def batch_size(self) -> int:
        return int(self.job.batch_size)

    def model_identity(self) -> Any:
        """What answers, as JSON: by default the stamp of the saved model folder ``job.model``."""
        return model_stamp(Path(self.job.model))

    def settings(self) -> dict[str, Any]:
        """The job as JSON without its output paths: what a shard's part carries to ``eval gather``."""
        return job_settings(self.job)


def job_settings(job: Any) -> dict[str, Any]:
    """A job dataclass as JSON values, output paths left out."""
    dumped = TypeAdapter(type(job)).dump_python(job, mode="json")
    return {key: value for key, value in dumped.items() if key not in OUTPUT_FIELDS}


# ---------------------------------------------------------------- the model

#: The answerer of a task: from a model loaded once for all of a job's tasks, or injected by a test.
Answerers = Callable[[EvalTask[Any]], Answerer]


class ModelAnswerers:
    """One saved model for every task of a job, loaded when the first task needs it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._loaded: LoadedModel | None = None

    def __call__(self, task: EvalTask[Any]) -> Answerer:
        if self._loaded is None:
            from actionmqa.evaluate.loading import load_model

            self._loaded = load_model(self.path)
        return task.answerer(self._loaded)


def answerers_for(
    model: Path, generate: Generate | None = None, score_answers: ScoreAnswers | None = None
) -> Answerers:
    """The saved model's answerers, or (with ``generate``) the given functions for every task."""
    if generate is None:
        return ModelAnswerers(model)
    injected = Answerer(generate, score_answers)
    return lambda task: injected


# ---------------------------------------------------------------- plan and answers


def plan(task: EvalTask[T], shard: Shard | None = None) -> list[list[T]]:
    """The shard's batches (default: all): the questions in reading order, cut into ``batch_size``."""
    shard = shard or Shard()
    return list(shard.take(list(batched(task.reading_order(task.items()), task.batch_size))))


def fingerprint(task: EvalTask[T], batches: Sequence[Sequence[T]]) -> Fingerprint:
    """What the answers of ``batches`` depend on: the model, the questions as asked, the settings."""
    return Fingerprint(
        model=digest(task.model_identity()),
        questions=digest([[task.describe(item) for item in batch] for batch in batches]),
        settings=digest(task.settings()),
    )


def answer_shard(
    task: EvalTask[T], shard: Shard, progress: Path, answerers: Answerers
) -> tuple[list[Answer], Fingerprint]:
    """Every answer of the shard (batch after batch, in reading order) and their fingerprint.

    Batches answered before under the same fingerprint are taken from ``progress``; each new
    one is appended to it as it finishes.
    """
    batches = plan(task, shard)
    stamp = fingerprint(task, batches)
    keys = [[task.key(item) for item in batch] for batch in batches]
    with Progress.resume(progress, stamp, task.settings(), keys) as kept:
        todo = [(index, batch) for index, batch in enumerate(batches) if index not in kept.done]
        remaining = sum(len(batch) for _, batch in todo)
        total = sum(len(batch) for batch in batches)
        log.info(
            "%s, %s: %d questions in %d batches; %d answered before, %d to answer",
            task.label,
            shard,
            total,
            len(batches),
            total - remaining,
            remaining,
        )
        if todo:
            answerer = answerers(task)
            seen = iter(
                tqdm(
                    task.read([item for _, batch in todo for item in batch]),
                    total=remaining,
                    desc=task.label,
                    unit="q",
                )
            )
            for index, batch in todo:
                views = list(islice(seen, len(batch)))
                if [task.key(view.item) for view in views] != keys[index]:
                    raise RuntimeError(
                        f"{task.label}: frames came in another order than planned (batch {index})"
                    )
                kept.append(index, answer_batch(task, views, answerer))
        return kept.answers(len(batches)), stamp


def answer_batch(task: EvalTask[T], views: Sequence[Seen[T]], answerer: Answerer) -> list[Answer]:
    """One generate call for the batch, then each answer read by the task, as plain JSON values."""
    samples = [task.ask(view) for view in views]
    raws = answerer.generate(samples)
    return [
        Answer(task.key(view.item), view.clipped, _plain(task.answer(view.item, sample, raw, answerer)))
        for view, sample, raw in zip(views, samples, raws, strict=True)
    ]


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it reads back from JSON, so fresh and resumed answers are the same values."""
    return json.loads(dumps_canonical(record))


def in_question_order(task: EvalTask[Any], answers: Sequence[Answer]) -> list[Answer]:
    position = {task.key(item): index for index, item in enumerate(task.items())}
    return sorted(answers, key=lambda answer: position[answer.key])


def finish(task: EvalTask[Any], answers: Sequence[Answer]) -> Finished:
    """The task's rows and summary (its unit stated) from answers to every one of its questions."""
    ordered = in_question_order(task, answers)
    rows, summary = task.finish(
        [answer.record for answer in ordered], sum(answer.clipped for answer in ordered)
    )
    return rows, {**summary, "unit": UNIT}


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Whole:
    """The evaluation in one job: its predictions JSONL and summary JSON."""

    summary: Path
    predictions: Path

    @property
    def shard(self) -> Shard:
        return Shard()

    @property
    def progress(self) -> Path:
        return progress_path(self.summary)

    def write(self, task: EvalTask[Any], answers: Sequence[Answer], stamp: Fingerprint) -> dict[str, Any]:
        rows, summary = finish(task, answers)
        write_jsonl(self.predictions, rows)
        write_json(self.summary, summary)
        return summary


@dataclass(frozen=True)
class Part:
    """One shard of the evaluation: its answers, for ``eval gather``."""

    path: Path
    shard: Shard

    @property
    def progress(self) -> Path:
        return progress_path(self.path)

    def write(self, task: EvalTask[Any], answers: Sequence[Answer], stamp: Fingerprint) -> None:
        write_part(self.path, task.kind, task.settings(), self.shard, stamp, in_question_order(task, answers))


Target = Whole | Part


def whole_target(job: Any) -> Whole:
    """A job's own ``summary`` and ``predictions`` paths, which a whole run needs."""
    if job.summary is None or job.predictions is None:
        raise ValueError(f"{type(job).__name__} needs summary and predictions paths to run whole")
    return Whole(Path(job.summary), Path(job.predictions))


def run(
    evaluations: Sequence[tuple[EvalTask[Any], Target]], answerers: Answerers
) -> list[dict[str, Any] | None]:
    """Answer every evaluation of one job, then write every output, then drop the progress files.

    Each whole evaluation's summary, in order (``None`` for a part). Progress outlives a failure
    anywhere in the job: Snakemake deletes all of a failed job's outputs.
    """
    answered = [
        (task, target, *answer_shard(task, target.shard, target.progress, answerers))
        for task, target in evaluations
    ]
    results = [target.write(task, answers, stamp) for task, target, answers, stamp in answered]
    for _, target in evaluations:
        target.progress.unlink(missing_ok=True)
    return results
