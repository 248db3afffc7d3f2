"""Reading many clips efficiently: group by video, sort by start, one decoder per file.

The dominant cost of clip reading is opening files and decoding from keyframes; sorting
requests lets each file be opened once and decoding run forward. Frames are sampled with
LLaVAction's segment-midpoint rule (spec llavaction §5) on the file's own frame rate.

Clips whose end runs past the video's last frame are clipped there, as upstream does
(``end = min(end, last_frame_time)``), before sampling: every id stays a real frame, and the
clip's key is recorded in ``ReadStats.clipped`` (and logged), never silently.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from actionmqa.errors import InputError
from actionmqa.video.decoders import Backend, decoder_factory
from actionmqa.video.layout import VideoLayout
from actionmqa.video.resize import resize_square
from actionmqa.video.sampling import segment_midpoint_frames
from actionmqa.video.source import VideoSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipRequest:
    """A segment of a video to read as ``n_frames`` frames; ``key`` identifies it in results."""

    key: str
    participant_id: str
    video_id: str
    start_sec: float
    end_sec: float
    n_frames: int


@dataclass
class ReadStats:
    """What happened during reading, to be written next to the outputs."""

    n_clips: int = 0
    clipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Clip:
    """A decoded clip with the ids and times it was sampled at (for timing prompts)."""

    request: ClipRequest
    frames: np.ndarray
    frame_ids: np.ndarray
    fps: float
    end_sec: float

    @property
    def clipped(self) -> bool:
        return self.end_sec < self.request.end_sec

    @property
    def frame_times(self) -> np.ndarray:
        """Seconds of each frame relative to the clip start."""
        return self.frame_ids / self.fps - self.request.start_sec


class ClipReader:
    """Reads clips from a layout with the ``pyav`` or ``decord`` backend (identical frames).

    ``size`` resizes frames to ``size x size`` after decoding (same scaler for both
    backends); ``None`` keeps the file's resolution. ``threads`` is per decoder: parallelise
    with one reader per worker instead. The last ``max_open_videos`` videos stay open between
    calls, so callers asking for one clip at a time (training loaders) do not re-open a video
    per clip; ``close()`` (or ``with``) releases them.
    """

    def __init__(
        self,
        layout: VideoLayout,
        backend: Backend = "pyav",
        size: int | None = None,
        threads: int = 1,
        max_open_videos: int = 4,
    ) -> None:
        self.layout = layout
        self.backend = backend
        self.size = size
        self.max_open_videos = max(1, max_open_videos)
        self._open_decoder = decoder_factory(backend, threads)
        self._sources: OrderedDict[tuple[str, str], VideoSource] = OrderedDict()
        self.stats = ReadStats()

    def read(self, requests: Iterable[ClipRequest]) -> Iterator[tuple[ClipRequest, np.ndarray]]:
        """``(request, frames)`` grouped by video and sorted by start, not in input order."""
        for clip in self.clips(requests):
            yield clip.request, clip.frames

    def clips(self, requests: Iterable[ClipRequest]) -> Iterator[Clip]:
        """Like ``read``, with frame ids and the (possibly clipped) end attached."""
        for video, group in _group_by_video(requests):
            source = self._source(video, group[0].key)
            for request in group:
                try:
                    source.release_before(round(request.start_sec * source.info.fps))
                    clip = self._read_clip(source, request)
                except InputError as exc:
                    raise _keyed(exc, request.key) from exc
                self.stats.n_clips += 1
                yield clip

    def close(self) -> None:
        while self._sources:
            self._sources.popitem()[1].close()

    def __enter__(self) -> ClipReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _source(self, video: tuple[str, str], key: str) -> VideoSource:
        """The video's open source, opened now if needed; the least recently used beyond
        ``max_open_videos`` is closed."""
        if video in self._sources:
            self._sources.move_to_end(video)
            return self._sources[video]
        try:
            source = VideoSource(self.layout.pieces(*video), self._open_decoder)
        except InputError as exc:
            raise _keyed(exc, key) from exc
        self._sources[video] = source
        while len(self._sources) > self.max_open_videos:
            self._sources.popitem(last=False)[1].close()
        return source

    def _read_clip(self, source: VideoSource, request: ClipRequest) -> Clip:
        info = source.info
        if request.start_sec > info.last_frame_sec:
            raise InputError(
                source.last_path,
                f"clip starts at {request.start_sec:g} s, after the video's last frame at "
                f"{info.last_frame_sec:g} s",
            )
        end_sec = min(request.end_sec, info.last_frame_sec)
        if end_sec < request.end_sec:
            self.stats.clipped.append(request.key)
            log.warning(
                "clip %s ends at %g s, after the last frame of %s at %g s: clipped",
                request.key,
                request.end_sec,
                request.video_id,
                info.last_frame_sec,
            )
        try:
            ids = segment_midpoint_frames(request.start_sec, end_sec, request.n_frames, info.fps)
        except ValueError as exc:
            raise InputError(None, str(exc)) from exc
        frames = source.frames(ids)
        if self.size is not None:
            frames = resize_square(frames, self.size)
        return Clip(request, frames, ids, info.fps, end_sec)


def reading_order(requests: Iterable[ClipRequest]) -> list[ClipRequest]:
    """The requests in the order ``ClipReader.clips`` yields them: by video, then start, end and key.

    Any subset of the requests comes out in the same relative order, which lets a caller plan
    work (batches, shards) before reading a frame.
    """
    return [request for _, group in _group_by_video(requests) for request in group]


def _group_by_video(requests: Iterable[ClipRequest]) -> list[tuple[tuple[str, str], list[ClipRequest]]]:
    groups: dict[tuple[str, str], list[ClipRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.participant_id, request.video_id)].append(request)
    return [
        (video, sorted(group, key=lambda r: (r.start_sec, r.end_sec, r.key)))
        for video, group in sorted(groups.items())
    ]


def _keyed(exc: InputError, key: str) -> InputError:
    """The same error with the clip key attached, so a failure names file and clip."""
    return exc.located(key=key)
