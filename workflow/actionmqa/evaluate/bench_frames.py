"""Frames of a benchmark video as lmms-eval's model wrappers sample them (spec/benchmarks.md §2).

``np.linspace(0, total - 1, N, dtype=int)`` over the whole file, first and last frame included.
A question with bounds (MVBench's bounded tasks, Perception Test's cup-game cuts) is sampled the
same way inside its ``[start, end]`` seconds instead. MVBench's official layout stores TVQA
clips as folders of numbered JPEGs at 3 fps; such a folder reads like a video file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from actionmqa.bench.records import Question, VideoMeta
from actionmqa.errors import InputError
from actionmqa.video.decoders import Backend, FrameDecoder, StreamInfo, decoder_factory
from actionmqa.video.sampling import uniform_frames

#: TVQA frame folders (MVBench episodic_reasoning) hold frames at 3 fps (spec §8.3).
FRAME_FOLDER_FPS = 3.0
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


class FrameFolder:
    """A folder of image files, in name order, behind the ``FrameDecoder`` contract."""

    def __init__(self, path: Path, fps: float = FRAME_FOLDER_FPS) -> None:
        self.path = Path(path)
        self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
        if not self._files:
            raise InputError(self.path, f"frame folder holds no {'/'.join(FRAME_SUFFIXES)} files")
        width, height = Image.open(self._files[0]).size
        self.info = StreamInfo(fps, len(self._files), width, height)

    def get(self, frame_ids: Sequence[int]) -> np.ndarray:
        return np.stack([np.asarray(Image.open(self._files[int(i)]).convert("RGB")) for i in frame_ids])

    def close(self) -> None:
        pass


def open_video(path: Path, backend: Backend) -> FrameDecoder:
    """A decoder for a video file, or for a frame folder."""
    if path.is_dir():
        return FrameFolder(path)
    if not path.is_file():
        raise InputError(path, "video not found")
    return decoder_factory(backend)(path)


def frame_ids(
    n_video_frames: int, n_frames: int, fps: float, start: float | None = None, end: float | None = None
) -> np.ndarray:
    """lmms-eval's linspace over the video, or over the frames of ``[start, end]`` seconds."""
    if start is None and end is None:
        return uniform_frames(n_video_frames, n_frames)
    first = max(0, round((start or 0.0) * fps))
    last = n_video_frames - 1 if end is None else min(n_video_frames - 1, round(end * fps))
    if last < first:
        raise ValueError(f"bounds [{start}, {end}] s hold no frame of a {n_video_frames}-frame video")
    return first + uniform_frames(last - first + 1, n_frames)


@dataclass(frozen=True)
class SampledVideo:
    """The frames a model sees, their ids, and what subtitle selection needs to know."""

    frames: np.ndarray
    frame_ids: np.ndarray
    meta: VideoMeta


def sample_question_video(question: Question, n_frames: int, backend: Backend = "pyav") -> SampledVideo:
    """``n_frames`` frames of the question's video (within its bounds, if it has any)."""
    decoder = open_video(question.video, backend)
    try:
        info = decoder.info
        try:
            ids = frame_ids(info.n_frames, n_frames, info.fps, question.start, question.end)
        except ValueError as exc:
            raise InputError(question.video, str(exc), key=question.id) from exc
        frames = decoder.get(ids.tolist())
    finally:
        decoder.close()
    return SampledVideo(frames, ids, VideoMeta(fps=info.fps, n_frames=info.n_frames))
