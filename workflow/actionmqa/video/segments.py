"""The few EK100 segment-CSV columns the video stage needs: which videos, which time spans.

Clips are cut by the timestamps in seconds, never by the CSV frame numbers, which count
pre-extracted frames at a nominal 60/50 fps and not the MP4's frames (spec benchmarks §3.3).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from actionmqa.ek100.timestamps import parse_timestamp
from actionmqa.errors import InputError, csv_line
from actionmqa.video.readers import ClipRequest

VIDEO_COLUMNS = ("participant_id", "video_id")
SEGMENT_COLUMNS = ("narration_id", *VIDEO_COLUMNS, "start_timestamp", "stop_timestamp")


@dataclass(frozen=True)
class Segment:
    """One CSV row's span, with its file and 0-based data row (``errors.csv_line`` gives its line)."""

    csv: Path
    row: int
    narration_id: str
    participant_id: str
    video_id: str
    start_sec: float
    stop_sec: float


def read_videos(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """Distinct ``(participant_id, video_id)`` over segment CSVs, sorted."""
    videos = {
        (row["participant_id"], row["video_id"])
        for path in paths
        for _, row in _rows(Path(path), VIDEO_COLUMNS)
    }
    return sorted(videos)


def read_segments(path: Path) -> list[Segment]:
    """Every row's span in seconds; a malformed timestamp names file, line and column."""
    path = Path(path)
    segments = []
    for row, values in _rows(path, SEGMENT_COLUMNS):
        start, stop = (
            _seconds(path, row, values, column) for column in ("start_timestamp", "stop_timestamp")
        )
        if stop < start:
            raise InputError(
                path, f"stop {stop:g} s is before start {start:g} s", line=csv_line(row), key="stop_timestamp"
            )
        segments.append(
            Segment(
                path, row, values["narration_id"], values["participant_id"], values["video_id"], start, stop
            )
        )
    return segments


def clip_requests(segments: Iterable[Segment], n_frames: int) -> list[ClipRequest]:
    """One ``n_frames`` clip per segment, keyed by its narration id."""
    return [
        ClipRequest(s.narration_id, s.participant_id, s.video_id, s.start_sec, s.stop_sec, n_frames)
        for s in segments
    ]


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise InputError(path, "segment CSV not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(missing)}")
        for row, values in enumerate(reader):
            for column in columns:
                if not (values.get(column) or "").strip():
                    raise InputError(path, "empty value", line=csv_line(row), key=column)
            yield row, {column: values[column].strip() for column in columns}


def _seconds(path: Path, row: int, values: dict[str, str], column: str) -> float:
    try:
        return parse_timestamp(values[column])
    except ValueError as exc:
        raise InputError(path, str(exc), line=csv_line(row), key=column) from exc
