"""Which frames a clip shows: the three index rules the evaluated protocols use.

Each rule is reproduced to the integer because the frames a model sees decide its answer;
an off-by-one rounding here silently changes every reported accuracy. All functions return
absolute 0-based frame ids (int64) on the video's own frame grid.
"""

from __future__ import annotations

import numpy as np


def segment_midpoint_frames(start_sec: float, end_sec: float, n_frames: int, fps: float) -> np.ndarray:
    """LLaVAction's EK100 rule (spec llavaction §5): the midpoints of N equal segments.

    ``round`` the boundaries to frames, split ``[start, end]`` into N segments with
    ``linspace(start, end, N+1)``, average neighbours ([0.5, 0.5]) and truncate with
    ``astype(int)``; no jitter (the authors' eval default).
    """
    _check_count(n_frames)
    if end_sec < start_sec:
        raise ValueError(f"segment ends before it starts: {start_sec} > {end_sec}")
    start_frame = round(start_sec * fps)
    end_frame = round(end_sec * fps)
    edges = np.linspace(start_frame, end_frame, n_frames + 1)
    return ((edges[:-1] + edges[1:]) / 2).astype(np.int64)


def uniform_frames(total_frames: int, n_frames: int) -> np.ndarray:
    """lmms-eval's rule (spec benchmarks §2): N ids spread over the whole video, ends included."""
    _check_count(n_frames)
    if total_frames < 1:
        raise ValueError(f"a video needs at least one frame, got {total_frames}")
    return np.linspace(0, total_frames - 1, n_frames, dtype=int).astype(np.int64)


def segment_centre_frames(
    last_frame: int,
    n_frames: int,
    fps: float,
    bound: tuple[float, float] | None = None,
    first_frame: int = 0,
) -> np.ndarray:
    """MVBench's official rule (spec benchmarks §8.3): the centres of N segments of the bound.

    ``last_frame`` is the video's last valid id (``len(video) - 1``). Without a ``bound``
    (seconds) the whole video is used. Rounding follows the notebook: Python ``round`` on the
    bound, ``np.round`` on each segment offset, ``int`` on the sum.
    """
    _check_count(n_frames)
    start_sec, end_sec = bound if bound is not None else (-100_000.0, 100_000.0)
    start = max(first_frame, round(start_sec * fps))
    end = min(round(end_sec * fps), last_frame)
    seg = float(end - start) / n_frames
    return np.array([int(start + seg / 2 + np.round(seg * i)) for i in range(n_frames)], dtype=np.int64)


def _check_count(n_frames: int) -> None:
    if n_frames < 1:
        raise ValueError(f"need at least one frame per clip, got {n_frames}")
