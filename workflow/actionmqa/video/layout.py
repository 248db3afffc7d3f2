"""Where a video's frames live on disk: one whole file, or AVION-style 15 s chunks.

The paper's models read re-encoded chunks (``<root>/<Pxx>/<video_id>.MP4/<start_sec>.MP4``),
users download whole videos (``<root>/<Pxx>/videos/<video_id>.MP4``). Both are "an ordered
list of files, each starting at a known second", so readers route absolute frame ids the
same way for either, and a layout only has to list its files.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from actionmqa.errors import InputError

VIDEO_SUFFIX = ".MP4"
_CHUNK_NAME = re.compile(r"^(\d+)\.MP4$")


@dataclass(frozen=True)
class VideoPiece:
    """One file of a video and the second of the video at which its frame 0 sits."""

    path: Path
    start_sec: int


@dataclass(frozen=True)
class FrameLocation:
    """An absolute frame id resolved to a file (index into the pieces) and a frame inside it."""

    piece: int
    frame: int


class VideoLayout(Protocol):
    """Lists the files of one video; routing frames to them is shared (``locate_frame``)."""

    def pieces(self, participant_id: str, video_id: str) -> list[VideoPiece]:
        """The video's files in time order; ``InputError`` naming the expected path if absent."""
        ...


@dataclass(frozen=True)
class WholeVideoLayout:
    """The official EK100 download layout: one file per video."""

    root: Path

    def path(self, participant_id: str, video_id: str) -> Path:
        return self.root / participant_id / "videos" / f"{video_id}{VIDEO_SUFFIX}"

    def pieces(self, participant_id: str, video_id: str) -> list[VideoPiece]:
        path = self.path(participant_id, video_id)
        if not path.is_file():
            raise InputError(path, "video file not found")
        return [VideoPiece(path, 0)]


@dataclass(frozen=True)
class ChunkedLayout:
    """AVION's layout: chunk files named by their start second, every ``chunk_sec`` seconds.

    Chunks must be contiguous from 0: a gap would shift every later frame id silently.
    """

    root: Path
    chunk_sec: int = 15

    def video_dir(self, participant_id: str, video_id: str) -> Path:
        return self.root / participant_id / f"{video_id}{VIDEO_SUFFIX}"

    def chunk_path(self, participant_id: str, video_id: str, start_sec: int) -> Path:
        return self.video_dir(participant_id, video_id) / f"{start_sec}{VIDEO_SUFFIX}"

    def pieces(self, participant_id: str, video_id: str) -> list[VideoPiece]:
        folder = self.video_dir(participant_id, video_id)
        starts = sorted(_chunk_starts(folder))
        if not starts:
            raise InputError(self.chunk_path(participant_id, video_id, 0), "video chunks not found")
        for index, start in enumerate(starts):
            expected = index * self.chunk_sec
            if start != expected:
                raise InputError(
                    self.chunk_path(participant_id, video_id, expected),
                    f"chunk missing (chunks of {self.chunk_sec} s must be contiguous from 0)",
                )
        return [VideoPiece(folder / f"{start}{VIDEO_SUFFIX}", start) for start in starts]


def _chunk_starts(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return [int(m.group(1)) for p in folder.iterdir() if (m := _CHUNK_NAME.match(p.name)) and p.is_file()]


def piece_start_frame(piece: VideoPiece, fps: float) -> int:
    """The absolute id of a piece's frame 0, truncated as upstream does (``int(chunk * fps)``)."""
    return int(piece.start_sec * fps)


def locate_frame(pieces: Sequence[VideoPiece], frame: int, fps: float) -> FrameLocation:
    """Route an absolute frame id to its file: ``rel = abs - int(chunk_start * fps)`` (spec §5).

    A frame after the last piece's start stays in the last piece (upstream steps back from a
    missing end chunk); whether it exists there is the reader's check.
    """
    if frame < 0:
        raise ValueError(f"negative frame id {frame}")
    starts = [piece_start_frame(p, fps) for p in pieces]
    index = bisect.bisect_right(starts, frame) - 1
    return FrameLocation(index, frame - starts[index])


def make_layout(kind: Literal["whole", "chunks"], root: Path, chunk_sec: int = 15) -> VideoLayout:
    """The layout named on the command line / in the config."""
    if kind == "whole":
        return WholeVideoLayout(Path(root))
    if kind == "chunks":
        return ChunkedLayout(Path(root), chunk_sec)
    raise ValueError(f"unknown video layout {kind!r} (expected 'whole' or 'chunks')")
