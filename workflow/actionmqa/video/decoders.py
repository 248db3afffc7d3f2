"""The decoder contract both backends meet, and the factory that picks one.

Readers only need "open a file once, give me these frame ids as RGB"; keeping PyAV and
decord behind that contract is what lets the two be swapped and compared frame for frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

Backend = Literal["pyav", "decord"]
BACKENDS: tuple[Backend, ...] = ("pyav", "decord")


@dataclass(frozen=True)
class StreamInfo:
    """What the file's header says about its video stream."""

    fps: float
    n_frames: int
    width: int
    height: int


class FrameDecoder(Protocol):
    """One open video file; frame ids are 0-based in presentation order."""

    path: Path
    info: StreamInfo

    def get(self, frame_ids: Sequence[int]) -> np.ndarray:
        """uint8 RGB ``[len(frame_ids), H, W, 3]`` in the order asked (repeats allowed).

        A file that ends early or cannot be decoded raises ``InputError`` naming it.
        """
        ...

    def close(self) -> None: ...


DecoderFactory = Callable[[Path], FrameDecoder]


def decoder_factory(backend: Backend, threads: int = 1) -> DecoderFactory:
    """``path -> FrameDecoder`` for a backend; heavy imports happen only here, on demand."""
    if backend == "pyav":
        from actionmqa.video.pyav_decoder import PyAVDecoder

        return partial(PyAVDecoder, threads=threads)
    if backend == "decord":
        from actionmqa.video.decord_decoder import DecordDecoder

        return partial(DecordDecoder, threads=threads)
    raise ValueError(f"unknown video backend {backend!r} (expected one of {BACKENDS})")
