"""The world's annotation directory, in EPIC-KITCHENS-100's exact file formats.

Quirks of the real files are reproduced on purpose, so that loaders tested on the toy world
work on EK100: segment rows sorted by ``narration_id`` as strings, list columns as Python list
literals, frame numbers at the nominal 60 fps of ``PXX_YY`` videos computed from the rounded
timestamps, a few empty narration timestamps, and class files with CRLF line ends and no final
line end.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from actionmqa.ek100 import schema
from actionmqa.ek100.timestamps import format_timestamp, nominal_frames, parse_timestamp
from actionmqa.io import atomic_open
from actionmqa.toyworld import vocab
from actionmqa.toyworld.script import TRAIN, VALIDATION, SegmentPlan, WorldPlan
from actionmqa.toyworld.vocab import ClassInfo

#: EK100's tail: the rarest classes that together hold at most this share of training segments.
TAIL_SHARE = 0.2


def segment_row(segment: SegmentPlan) -> list[object]:
    """One row of EPIC_100_train.csv / EPIC_100_validation.csv, in SEGMENT_COLUMNS order."""
    start = format_timestamp(segment.start_sec)
    stop = format_timestamp(segment.stop_sec)
    # Frames follow from the *written* timestamps, exactly as on EK100.
    start_frame, stop_frame = nominal_frames(segment.video_id, parse_timestamp(start), parse_timestamp(stop))
    narrated = (
        "" if segment.narration_ms is None else format_timestamp(segment.narration_ms / 1000, decimals=3)
    )
    words = segment.wording
    return [
        segment.narration_id,
        segment.participant_id,
        segment.video_id,
        narrated,
        start,
        stop,
        start_frame,
        stop_frame,
        words.narration,
        words.verb.parsed,
        segment.action.verb,
        words.noun.parsed,
        segment.action.noun,
        str(words.all_nouns),
        str(segment.all_noun_classes),
    ]


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], line_end: str = "\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _write_text(path: Path, text: str) -> None:
    with atomic_open(path, newline="") as handle:
        handle.write(text)


def write_segments(path: Path, segments: Iterable[SegmentPlan]) -> int:
    """A split file with rows sorted by narration_id as strings (_0, _1, _10, _2, like EK100)."""
    ordered = sorted(segments, key=lambda s: s.narration_id)
    _write_text(path, _csv_text(schema.SEGMENT_COLUMNS, (segment_row(s) for s in ordered)))
    return len(ordered)


def class_row(info: ClassInfo) -> list[object]:
    instances = list(dict.fromkeys(form.parsed for form in info.forms))
    return [info.id, info.key, str(instances), info.category]


def write_class_table(path: Path, classes: Iterable[ClassInfo]) -> None:
    """A verb or noun class file; like the real ones, CRLF line ends and no line end at the end."""
    rows = (class_row(c) for c in sorted(classes, key=lambda c: c.id))
    _write_text(path, _csv_text(schema.CLASS_COLUMNS, rows, line_end="\r\n").removesuffix("\r\n"))


def tail_classes(counts: Mapping[int, int], class_ids: Iterable[int]) -> list[int]:
    """The rarest classes (ties by id) whose training segments add up to at most TAIL_SHARE."""
    ids = sorted(class_ids, key=lambda c: (counts.get(c, 0), c))
    budget = TAIL_SHARE * sum(counts.get(c, 0) for c in ids)
    tail, used = [], 0
    for class_id in ids:
        used += counts.get(class_id, 0)
        if used > budget:
            break
        tail.append(class_id)
    return sorted(tail)


def write_single_column(path: Path, column: str, values: Iterable[object]) -> None:
    _write_text(path, _csv_text((column,), ([v] for v in values)))


def write_video_info(path: Path, plan: WorldPlan) -> None:
    """video_id, duration (s, float repr), fps (float repr), resolution WxH, sorted by video_id."""
    fps, size = plan.config.fps, plan.config.size
    rows = (
        [video.video_id, repr(video.n_frames(fps) / fps), repr(float(fps)), f"{size}x{size}"]
        for video in sorted(plan.videos, key=lambda v: v.video_id)
    )
    _write_text(path, _csv_text(schema.VIDEO_INFO_COLUMNS, rows))


def write_annotations(directory: Path, plan: WorldPlan) -> list[Path]:
    """Every EK100 annotation file the workflow reads; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        name: directory / name
        for name in (
            schema.SPLIT_FILES[TRAIN],
            schema.SPLIT_FILES[VALIDATION],
            schema.VERB_CLASSES_FILE,
            schema.NOUN_CLASSES_FILE,
            schema.VIDEO_INFO_FILE,
            schema.UNSEEN_VAL_FILE,
            schema.TAIL_VERBS_FILE,
            schema.TAIL_NOUNS_FILE,
        )
    }
    for split in (TRAIN, VALIDATION):
        write_segments(paths[schema.SPLIT_FILES[split]], plan.segments(split))
    write_class_table(paths[schema.VERB_CLASSES_FILE], (vocab.VERBS[i] for i in vocab.used_verb_ids()))
    write_class_table(paths[schema.NOUN_CLASSES_FILE], (vocab.NOUNS[i] for i in vocab.used_noun_ids()))
    write_video_info(paths[schema.VIDEO_INFO_FILE], plan)
    unseen = sorted(p.participant_id for p in plan.participants if p.unseen)
    write_single_column(paths[schema.UNSEEN_VAL_FILE], schema.UNSEEN_COLUMNS[0], unseen)
    train = list(plan.segments(TRAIN))
    verb_counts = Counter(s.action.verb for s in train)
    noun_counts = Counter(s.action.noun for s in train)
    write_single_column(
        paths[schema.TAIL_VERBS_FILE], "verb", tail_classes(verb_counts, vocab.used_verb_ids())
    )
    write_single_column(
        paths[schema.TAIL_NOUNS_FILE], "noun", tail_classes(noun_counts, vocab.used_noun_ids())
    )
    return list(paths.values())
