"""One video opened for reading, whatever its layout: its frame grid and its open decoders.

Chunked videos are many files; readers should not care. A ``VideoSource`` routes absolute
frame ids to the right file, opens each file at most once, and closes files that sorted
requests have moved past, so an hour of 15 s chunks never holds hundreds of open decoders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actionmqa.errors import InputError
from actionmqa.video.decoders import DecoderFactory, FrameDecoder
from actionmqa.video.layout import VideoPiece, locate_frame, piece_start_frame


@dataclass(frozen=True)
class VideoInfo:
    """A whole video's frame grid as the readers see it (summed over its files)."""

    fps: float
    n_frames: int
    width: int
    height: int
    n_files: int

    @property
    def duration_sec(self) -> float:
        return self.n_frames / self.fps

    @property
    def last_frame_sec(self) -> float:
        """Time of the last frame; clips are clipped here (spec llavaction §5)."""
        return (self.n_frames - 1) / self.fps


class VideoSource:
    """The files of one video with lazily opened decoders; use as a context manager."""

    def __init__(self, pieces: Sequence[VideoPiece], open_decoder: DecoderFactory) -> None:
        if not pieces:
            raise ValueError("a video needs at least one file")
        self._pieces = list(pieces)
        self._open_decoder = open_decoder
        self._decoders: dict[int, FrameDecoder] = {}
        self._decoders[0] = open_decoder(self._pieces[0].path)
        first = self._decoders[0].info
        self._fps = first.fps
        try:
            last = self._decoder(len(self._pieces) - 1).info
        except BaseException:
            self.close()
            raise
        n_frames = piece_start_frame(self._pieces[-1], first.fps) + last.n_frames
        self.info = VideoInfo(first.fps, n_frames, first.width, first.height, len(self._pieces))

    @property
    def last_path(self) -> Path:
        """The file holding the video's end: the one to name when a clip runs past it."""
        return self._pieces[-1].path

    def frames(self, frame_ids: Sequence[int]) -> np.ndarray:
        """uint8 RGB frames for absolute ids, in the order asked."""
        if len(frame_ids) == 0:
            raise ValueError("no frame ids given")
        if min(frame_ids) < 0 or max(frame_ids) >= self.info.n_frames:
            raise ValueError(f"frame ids must lie in 0..{self.info.n_frames - 1}, got {list(frame_ids)}")
        by_piece: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for slot, frame_id in enumerate(frame_ids):
            where = locate_frame(self._pieces, int(frame_id), self.info.fps)
            by_piece[where.piece].append((slot, where.frame))
        out: list[np.ndarray] = [np.empty(0)] * len(frame_ids)
        for piece, slots in sorted(by_piece.items()):
            decoded = self._decoder(piece).get([frame for _, frame in slots])
            for (slot, _), image in zip(slots, decoded, strict=True):
                out[slot] = image
        return np.stack(out)

    def release_before(self, frame_id: int) -> None:
        """Close decoders of files that end before ``frame_id``: sorted reads never return there."""
        current = locate_frame(self._pieces, frame_id, self.info.fps).piece
        for piece in [p for p in self._decoders if p < current]:
            self._decoders.pop(piece).close()

    def check_files(self) -> None:
        """Open every file once: each must match the first's frame rate and, except the last,
        hold exactly the frames up to the next file's start (a short chunk shifts nothing
        silently). Decoders are released as it goes."""
        fps = self.info.fps
        for index, piece in enumerate(self._pieces[:-1]):
            expected = piece_start_frame(self._pieces[index + 1], fps) - piece_start_frame(piece, fps)
            held = self._decoder(index).info.n_frames
            if held != expected:
                raise InputError(piece.path, f"holds {held} frames, expected {expected} at {fps:g} fps")
            self.release_before(piece_start_frame(self._pieces[index + 1], fps))

    def close(self) -> None:
        for decoder in self._decoders.values():
            decoder.close()
        self._decoders.clear()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _decoder(self, piece: int) -> FrameDecoder:
        if piece not in self._decoders:
            decoder = self._open_decoder(self._pieces[piece].path)
            if abs(decoder.info.fps - self._fps) > 1e-6:
                decoder.close()
                raise InputError(
                    decoder.path,
                    f"frame rate {decoder.info.fps:g} differs from the first file's {self._fps:g}",
                )
            self._decoders[piece] = decoder
        return self._decoders[piece]
