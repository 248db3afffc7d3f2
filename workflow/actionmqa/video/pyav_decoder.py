"""PyAV backend: seek to the keyframe before the first wanted frame, decode forward.

A clip cannot cost less than decoding from the keyframe before it to its last frame; this
backend stays at that floor and, unlike decord, never reads the whole file on open (which
matters for hour-long EK100 videos). Frame ids come from presentation timestamps on a
constant frame rate (``id = round((pts - start) * time_base * avg_rate)``); a stream whose
ids jump or repeat is reported, never silently mis-indexed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from actionmqa.errors import InputError
from actionmqa.video.decoders import StreamInfo


class PyAVDecoder:
    """One open container whose decode position is reused across requests for later frames."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self.path = Path(path)
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise InputError(self.path, f"cannot open video ({exc})") from exc
        if not self._container.streams.video:
            self._container.close()
            raise InputError(self.path, "no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.codec_context.thread_count = threads
        rate = self._stream.average_rate or self._stream.guessed_rate
        if not rate or not self._stream.frames:
            self._container.close()
            raise InputError(self.path, "header gives no frame rate or frame count")
        self._rate = Fraction(rate)
        self._time_base = Fraction(self._stream.time_base)
        self._frames_per_tick = self._time_base * self._rate
        self._start_pts = self._stream.start_time or 0
        context = self._stream.codec_context
        self.info = StreamInfo(float(self._rate), self._stream.frames, context.width, context.height)
        self._frames: Iterator[av.VideoFrame] = self._container.decode(self._stream)
        self._pending: tuple[int, av.VideoFrame] | None = None
        self._position = -1  # id of the last frame taken from the decoder
        self._last_key: int | None = None
        self._gop = max(1, round(self._rate))  # longest keyframe interval seen; guess 1 s
        self._rgb = VideoReformatter()  # one conversion context for the file, not one per frame

    def get(self, frame_ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in frame_ids]
        wanted = set(ids)
        found: dict[int, np.ndarray] = {}
        for target in sorted(wanted):
            if target in found:
                continue
            if not self._position < target <= self._position + self._gop:
                self._seek(target)
            for index, frame in self._decode_through(target):
                if index in wanted:
                    found[index] = self._rgb.reformat(frame, format="rgb24").to_ndarray()
        return np.stack([found[i] for i in ids])

    def close(self) -> None:
        self._container.close()

    def _index_of(self, frame: av.VideoFrame) -> int:
        if frame.pts is None:
            raise InputError(self.path, "a decoded frame has no timestamp; cannot index frames")
        return round((frame.pts - self._start_pts) * self._frames_per_tick)

    def _pts_of(self, index: int) -> int:
        return self._start_pts + int(Fraction(index) / self._rate / self._time_base)

    def _next_frame(self) -> tuple[int, av.VideoFrame] | None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except av.FFmpegError as exc:
            raise InputError(
                self.path, f"decoding failed after frame {self._position} ({exc}); truncated or corrupt file"
            ) from exc
        return self._index_of(frame), frame

    def _seek(self, target: int) -> None:
        """Land on a keyframe at or before ``target``; back off further if the demuxer overshoots."""
        margin = 0
        while True:
            aim = max(target - margin, 0)
            self._container.seek(self._pts_of(aim), stream=self._stream, backward=True, any_frame=False)
            self._frames = self._container.decode(self._stream)
            self._pending = None
            first = self._next_frame()
            if first is None:
                raise InputError(self.path, f"nothing decodable at or after frame {aim}; truncated file")
            if first[0] <= target or aim == 0:
                self._pending = first
                self._position = first[0] - 1
                self._last_key = None
                return
            margin = max(2 * margin, self._gop)

    def _decode_through(self, target: int) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield consecutive frames up to ``target``; a gap, repeat or early end is an error."""
        while self._position < target:
            step = self._next_frame()
            if step is None:
                raise InputError(
                    self.path,
                    f"file ends after frame {self._position} but frame {target} was asked for "
                    f"(header lists {self.info.n_frames} frames); truncated file",
                )
            index, frame = step
            if index != self._position + 1:
                raise InputError(
                    self.path,
                    f"frame ids jump from {self._position} to {index} (timestamps not at a constant "
                    "frame rate); use the decord backend or re-encode with 'video chunk'",
                )
            self._position = index
            self._note_keyframe(index, frame)
            yield index, frame

    def _note_keyframe(self, index: int, frame: av.VideoFrame) -> None:
        if not frame.key_frame:
            return
        if self._last_key is not None:
            self._gop = max(self._gop, index - self._last_key)
        self._last_key = index
