"""EK100 timestamps (``HH:MM:SS.ff``) and the nominal frame-number rule (spec/benchmarks.md §3.3).

Clips are always cut by these timestamps in seconds; the CSV frame numbers refer to the
pre-extracted RGB frames at a nominal 60 or 50 fps and not to the MP4's frame grid.
"""

from __future__ import annotations

import math
import re

_TIMESTAMP = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d(?:\.\d{1,3})?)$")


def parse_timestamp(text: str) -> float:
    """``'00:04:29.15'`` -> 269.15 seconds; raises ``ValueError`` on any other shape."""
    match = _TIMESTAMP.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected a timestamp HH:MM:SS.ff, got {text!r}")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def format_timestamp(seconds: float, decimals: int = 2) -> str:
    """269.15 -> ``'00:04:29.15'`` (two decimals, as in the segment CSVs)."""
    if seconds < 0:
        raise ValueError(f"negative timestamp {seconds}")
    scale = 10**decimals
    total = round(seconds * scale)
    whole, frac = divmod(total, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{frac:0{decimals}d}"


def nominal_fps(video_id: str) -> int:
    """50 for extension videos (``PXX_1YY``), 60 for EK-55 videos (``PXX_YY``)."""
    return 50 if len(video_id.split("_")[1]) == 3 else 60


def nominal_frames(video_id: str, start_sec: float, stop_sec: float) -> tuple[int, int]:
    """(start_frame, stop_frame) exactly as the EK100 CSVs have them (floor of the double product)."""
    fps = nominal_fps(video_id)
    return max(1, math.floor(start_sec * fps)), math.floor(stop_sec * fps)
