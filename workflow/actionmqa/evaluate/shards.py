"""How an evaluation splits into shard jobs, and the part file each shard job leaves for ``eval gather``.

A shard is a contiguous run of the evaluation's planned batches (:mod:`.runner`), so a shard's
batches are batches of the unsharded run. Its part file holds, on line 1, a header naming the
task, the job's settings (enough to rebuild the task without the model), the shard and the
fingerprint its answers were made under; then one answer per line, in question order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from actionmqa.errors import InputError
from actionmqa.evaluate.progress import Answer, Fingerprint
from actionmqa.io import dumps_canonical, read_jsonl_lines, write_jsonl

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 0) of ``count``; the default is the whole evaluation."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}: expected 0 <= shard < shards, shards >= 1")

    def take(self, batches: Sequence[T]) -> Sequence[T]:
        """This shard's contiguous run of ``batches``; the runs of all shards cover them once."""
        n = len(batches)
        return batches[self.index * n // self.count : (self.index + 1) * n // self.count]

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"


@dataclass(frozen=True)
class PartFile:
    """A shard job's output, as read back."""

    path: Path
    kind: str
    settings: dict[str, Any]
    shard: Shard
    fingerprint: Fingerprint
    answers: list[Answer]


def write_part(
    path: Path,
    kind: str,
    settings: Mapping[str, Any],
    shard: Shard,
    fingerprint: Fingerprint,
    answers: Sequence[Answer],
) -> None:
    """Header and answers, atomically (``answers`` already in question order)."""
    header = {
        "kind": kind,
        "settings": dict(settings),
        "shard": {"index": shard.index, "count": shard.count},
        "fingerprint": fingerprint.to_json(),
    }
    write_jsonl(path, [{"part": header}, *(answer.to_json() for answer in answers)])


def read_part(path: Path) -> PartFile:
    """A part file; a malformed header or answer raises ``InputError`` naming the file and line."""
    lines = read_jsonl_lines(path)
    first_line, first = lines[0] if lines else (1, None)
    header = first.get("part") if isinstance(first, dict) else None
    try:
        if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
            raise ValueError('the first line is no {"part": {"kind": ...}} header')
        if not isinstance(header.get("settings"), dict) or not isinstance(header.get("shard"), dict):
            raise ValueError("the header lacks the job's settings or its shard")
        shard = Shard(int(header["shard"]["index"]), int(header["shard"]["count"]))
        fingerprint = Fingerprint.from_json(header.get("fingerprint"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(path, f"not an evaluation part file: {exc}", line=first_line) from exc
    answers = []
    for lineno, obj in lines[1:]:
        try:
            answers.append(Answer.from_json(obj))
        except ValueError as exc:
            raise InputError(path, str(exc), line=lineno) from exc
    return PartFile(Path(path), header["kind"], header["settings"], shard, fingerprint, answers)


def describe_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """The keys whose values differ between two settings mappings, for error messages."""
    keys = sorted(
        key for key in set(a) | set(b) if dumps_canonical(a.get(key)) != dumps_canonical(b.get(key))
    )
    return ", ".join(f"{key}: {json.dumps(a.get(key))} vs {json.dumps(b.get(key))}" for key in keys)
