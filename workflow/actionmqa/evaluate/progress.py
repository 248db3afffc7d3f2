"""Resumable evaluation: each finished batch is appended to a progress file under a fingerprint,
so a job rerun after a crash or a preemption answers only what is left.

Where the file lives: beside the output it turns into, as ``<output stem>.progress.jsonl``
(:func:`progress_path`), and never as a declared output. Snakemake deletes the outputs of a
failed job (and a job's old outputs before it starts), so answers kept in an output would vanish
with the crash they are meant to survive; ``train_model`` keeps its checkpoints outside its
outputs for the same reason. The runner removes the file once every output of its job is written.

Layout: line 1 is the header, ``{"fingerprint": {...}, "settings": {...}}``; each later line is
one finished batch, ``{"batch": i, "answers": [...]}``, written and flushed to disk in one piece.
A job killed while writing leaves at most a torn last line, which a rerun drops (and answers
that batch again, so batches stay what the plan made them). A rerun under another fingerprint
(another model, question set or setting) starts over.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from actionmqa.io import atomic_open, dumps_canonical

log = logging.getLogger(__name__)


def progress_path(output: Path) -> Path:
    """Where the answers of the job writing ``output`` accumulate: ``x.json`` -> ``x.progress.jsonl``."""
    return Path(output).with_suffix(".progress.jsonl")


def digest(obj: Any) -> str:
    """sha256 of ``obj`` as canonical JSON; paths and other non-JSON values count by their text."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_stamp(path: Path) -> list[tuple[str, int, int]]:
    """Name, size and modification time (ns) of every file of a saved model folder.

    Every way the workflow writes a model (training, conversion, random weights) writes new
    files, so a rewritten model changes its stamp; hashing a 7B model's 15 GB in every job would
    cost more than the loading it guards. A path that is no folder (a test's injected model)
    stamps empty.
    """
    path = Path(path)
    if not path.is_dir():
        return []
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return [(str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]


@dataclass(frozen=True)
class Fingerprint:
    """What a job's answers depend on, each part a sha256: the model folder (:func:`model_stamp`),
    the questions batch by batch as they are asked, and the job's settings."""

    model: str
    questions: str
    settings: str

    def changed(self, other: Fingerprint) -> list[str]:
        """The parts that differ from ``other``'s."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, obj: Any) -> Fingerprint:
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(obj, Mapping) or sorted(obj) != sorted(names):
            raise ValueError(f"a fingerprint is an object with {names}, got {obj!r}")
        if not all(isinstance(obj[name], str) for name in names):
            raise ValueError(f"fingerprint parts are sha256 strings, got {obj!r}")
        return cls(**obj)


@dataclass(frozen=True)
class Answer:
    """One question's answer as the runner keeps it: the question's key, whether its clip ran
    past the end of the video, and the task's record of the answer (plain JSON values)."""

    key: str
    clipped: bool
    record: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "clipped": self.clipped, "record": self.record}

    @classmethod
    def from_json(cls, obj: Any) -> Answer:
        if (
            not isinstance(obj, Mapping)
            or not isinstance(obj.get("key"), str)
            or not isinstance(obj.get("clipped"), bool)
            or not isinstance(obj.get("record"), dict)
        ):
            raise ValueError('an answer is {"key": str, "clipped": bool, "record": {...}}')
        return cls(obj["key"], obj["clipped"], obj["record"])


class Progress:
    """A job's answers so far, batch by batch, mirrored in its progress file."""

    def __init__(self, path: Path, handle: IO[str], done: dict[int, list[Answer]]) -> None:
        self.path = path
        self.done = done
        self._handle = handle

    @classmethod
    def resume(
        cls,
        path: Path,
        fingerprint: Fingerprint,
        settings: Mapping[str, Any],
        planned: Sequence[Sequence[str]],
    ) -> Progress:
        """Open ``path`` with the batches finished before under the same fingerprint.

        ``planned`` holds the question keys of every batch of the job; a kept batch must match
        its plan exactly. The file is rewritten to hold exactly the kept batches, then appended to.
        """
        path = Path(path)
        done = _finished_batches(path, fingerprint, planned)
        with atomic_open(path) as handle:
            handle.write(dumps_canonical({"fingerprint": fingerprint.to_json(), "settings": settings}) + "\n")
            for index in sorted(done):
                handle.write(_batch_line(index, done[index]))
        return cls(path, open(path, "a", encoding="utf-8", newline="\n"), done)  # noqa: SIM115

    def append(self, index: int, answers: Sequence[Answer]) -> None:
        """Record a finished batch, on disk before returning."""
        self._handle.write(_batch_line(index, answers))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.done[index] = list(answers)

    def answers(self, n_batches: int) -> list[Answer]:
        """Every answer, batch after batch; each of the ``n_batches`` must be done."""
        missing = [index for index in range(n_batches) if index not in self.done]
        if missing:
            raise RuntimeError(f"{self.path}: batches {missing[:5]} are not answered")
        return [answer for index in range(n_batches) for answer in self.done[index]]

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _batch_line(index: int, answers: Sequence[Answer]) -> str:
    return dumps_canonical({"batch": index, "answers": [answer.to_json() for answer in answers]}) + "\n"


def _finished_batches(
    path: Path, fingerprint: Fingerprint, planned: Sequence[Sequence[str]]
) -> dict[int, list[Answer]]:
    """The batches of ``path`` answered under ``fingerprint``, up to the first line that is torn
    or no batch of the plan (each case logged)."""
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    try:
        header = json.loads(lines[0])
        before = Fingerprint.from_json(header["fingerprint"])
    except (IndexError, KeyError, TypeError, ValueError):
        log.warning("%s: no readable header; starting over", path)
        return {}
    if changed := before.changed(fingerprint):
        log.warning(
            "%s was written under another fingerprint (%s changed); starting over", path, ", ".join(changed)
        )
        return {}
    done: dict[int, list[Answer]] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        try:
            index, answers = _read_batch(line, planned)
        except ValueError as exc:
            log.warning("%s, line %d: %s; it and every later line are answered again", path, lineno, exc)
            break
        done[index] = answers
    return done


def _read_batch(line: str, planned: Sequence[Sequence[str]]) -> tuple[int, list[Answer]]:
    if not line.endswith("\n"):
        raise ValueError("torn (the job stopped while writing it)")
    obj = json.loads(line)  # a JSONDecodeError is a ValueError
    index = obj.get("batch") if isinstance(obj, dict) else None
    if (
        not isinstance(index, int)
        or not 0 <= index < len(planned)
        or not isinstance(obj.get("answers"), list)
    ):
        raise ValueError(f"not a batch of the plan's {len(planned)}")
    answers = [Answer.from_json(answer) for answer in obj["answers"]]
    if [answer.key for answer in answers] != list(planned[index]):
        raise ValueError(f"batch {index} holds other questions than the plan's")
    return index, answers
