"""EK100 clips for the evaluation tasks: frames matched to items (``jobs.ClipSource`` says where).

Readers return clips grouped by video and sorted by start (one decoder per file), not in the
order asked; every item is paired with its own frames by a unique key, and results are put
back in the benchmark's order at the end. :class:`ClipTask` is that reading for the runner's
tasks over EK100 clips (EK100-MQA, SAP, two-stage recognition).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from actionmqa.errors import InputError
from actionmqa.evaluate.jobs import ClipSource
from actionmqa.evaluate.runner import EvalTask, Seen
from actionmqa.video.readers import Clip, ClipReader, ClipRequest, reading_order

T = TypeVar("T")


def clips_for(
    reader: ClipReader, items: Sequence[T], request: Callable[[T], ClipRequest]
) -> Iterator[tuple[T, np.ndarray]]:
    """``(item, frames)`` in the reader's order; two items asking under one key are an error."""
    for item, clip in paired_clips(reader, items, request):
        yield item, clip.frames


def paired_clips(
    reader: ClipReader, items: Sequence[T], request: Callable[[T], ClipRequest]
) -> Iterator[tuple[T, Clip]]:
    """``(item, clip)`` in the reader's order; two items asking under one key are an error."""
    by_key, requests = keyed_requests(items, request)
    for clip in reader.clips(requests):
        yield by_key[clip.request.key], clip


def keyed_requests(
    items: Sequence[T], request: Callable[[T], ClipRequest]
) -> tuple[dict[str, T], list[ClipRequest]]:
    """Each item's clip request, and the item by its request's key (unique, or an error)."""
    by_key: dict[str, T] = {}
    requests = []
    for item in items:
        asked = request(item)
        if asked.key in by_key:
            raise InputError(None, "two clips share one key", key=asked.key)
        by_key[asked.key] = item
        requests.append(asked)
    return by_key, requests


def in_order(rows: Iterable[dict[str, Any]], keys: Sequence[str], by: str) -> list[dict[str, Any]]:
    """``rows`` sorted so that ``row[by]`` follows ``keys`` (the benchmark's own order)."""
    position = {key: index for index, key in enumerate(keys)}
    return sorted(rows, key=lambda row: position[row[by]])


class ClipTask(EvalTask[T]):
    """A task whose questions are EK100 clips, read by one :class:`ClipReader` video by video."""

    clips: ClipSource

    @abc.abstractmethod
    def clip_request(self, item: T) -> ClipRequest:
        """The clip an item asks about (its key unique among the task's items)."""

    def reading_order(self, items: Sequence[T]) -> list[T]:
        by_key, requests = keyed_requests(items, self.clip_request)
        return [by_key[request.key] for request in reading_order(requests)]

    def read(self, items: Sequence[T]) -> Iterator[Seen[T]]:
        with self.clips.reader() as reader:
            for item, clip in paired_clips(reader, items, self.clip_request):
                yield Seen(item, clip.frames, clipped=clip.clipped)
