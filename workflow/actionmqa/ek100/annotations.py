"""Validated EK100 annotation tables (spec/benchmarks.md §3.2) and the directory that holds them.

Every loader fails on the first bad cell with an ``InputError`` naming file, line (the header is
line 1) and column. Segment tables keep the CSV's row order and a RangeIndex equal to the 0-based
data-row index, because specialist prediction files are keyed by ``str(row index)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

import pandas as pd

from actionmqa.ek100 import csvfields as cf
from actionmqa.ek100.schema import (
    CLASS_COLUMNS,
    N_NOUNS,
    N_VERBS,
    NOUN_CLASSES_FILE,
    SEGMENT_COLUMNS,
    SPLIT_FILES,
    TAIL_NOUNS_FILE,
    TAIL_VERBS_FILE,
    TEST_COLUMNS,
    UNSEEN_COLUMNS,
    UNSEEN_VAL_FILE,
    VERB_CLASSES_FILE,
    VIDEO_INFO_COLUMNS,
    VIDEO_INFO_FILE,
)
from actionmqa.ek100.timestamps import parse_timestamp
from actionmqa.errors import InputError, csv_line

log = logging.getLogger(__name__)
T = TypeVar("T")

CLASS_COUNTS: dict[str, int] = {"verb": N_VERBS, "noun": N_NOUNS}

_TIMESTAMP = "a timestamp HH:MM:SS.ff"
_COUNT = "a non-negative integer"


def _optional_timestamp(text: str) -> float | None:
    """narration_timestamp is empty on 70 real validation rows; when present it must still parse."""
    return None if text == "" else parse_timestamp(text)


def _parse_timing(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Type and check the 8 columns the labelled and test files share; add start_sec, stop_sec, uid."""
    _require_prefix(frame, path, "video_id", "participant_id")
    _require_prefix(frame, path, "narration_id", "video_id")
    cf.parse_column(
        frame, path, "narration_timestamp", _optional_timestamp, "a timestamp HH:MM:SS.fff or nothing"
    )
    for column, derived in (("start_timestamp", "start_sec"), ("stop_timestamp", "stop_sec")):
        frame[derived] = cf.parse_column(frame, path, column, parse_timestamp, _TIMESTAMP, "float64")
    row = cf.first_row(frame["stop_sec"] <= frame["start_sec"])
    if row is not None:
        raise InputError(
            path,
            f"stop {frame.at[row, 'stop_timestamp']} is not after start {frame.at[row, 'start_timestamp']}",
            line=csv_line(row),
            key="stop_timestamp",
        )
    for column in ("start_frame", "stop_frame"):
        frame[column] = cf.parse_column(frame, path, column, cf.parse_count, _COUNT, "int64")
    frame["uid"] = [
        f"{participant}-{video}_{start:.2f}_{stop:.2f}"
        for participant, video, start, stop in zip(
            frame["participant_id"], frame["video_id"], frame["start_sec"], frame["stop_sec"], strict=True
        )
    ]
    # narration_id is EK100's key. uid (upstream's clip key) may repeat when two narrations share
    # a segment's exact timestamps; consumers that key on it (the MQA builder) check it themselves.
    cf.require_unique(frame["narration_id"], path, "narration_id")
    return frame


def _require_prefix(frame: pd.DataFrame, path: Path, column: str, owner: str) -> None:
    """``P01_11`` belongs to ``P01`` and ``P01_11_0`` to ``P01_11``: catches shifted or swapped columns."""
    owned = [
        value.startswith(f"{prefix}_") for value, prefix in zip(frame[column], frame[owner], strict=True)
    ]
    row = cf.first_row(~pd.Series(owned, index=frame.index, dtype=bool))
    if row is not None:
        raise InputError(
            path,
            f"{frame.at[row, column]!r} does not start with its {owner} {frame.at[row, owner]!r} + '_'",
            line=csv_line(row),
            key=column,
        )


def _parse_labels(frame: pd.DataFrame, path: Path) -> None:
    """Type the label columns and check the noun lists against noun_class."""
    for column in ("verb_class", "noun_class"):
        frame[column] = cf.parse_column(frame, path, column, cf.parse_count, _COUNT, "int64")
    frame["all_nouns"] = cf.parse_column(
        frame, path, "all_nouns", cf.list_parser(str), "a list literal of strings such as ['paper', 'bin']"
    )
    frame["all_noun_classes"] = cf.parse_column(
        frame, path, "all_noun_classes", cf.list_parser(int), "a list literal of integers such as [49, 36]"
    )
    lengths_differ = frame["all_nouns"].map(len) != frame["all_noun_classes"].map(len)
    row = cf.first_row(lengths_differ)
    if row is not None:
        raise InputError(
            path,
            f"{len(frame.at[row, 'all_noun_classes'])} classes for "
            f"{len(frame.at[row, 'all_nouns'])} nouns {frame.at[row, 'all_nouns']}",
            line=csv_line(row),
            key="all_noun_classes",
        )
    first_class = frame["all_noun_classes"].map(lambda classes: classes[0] if classes else None)
    row = cf.first_row(first_class != frame["noun_class"])
    if row is not None:
        raise InputError(
            path,
            f"noun_class {frame.at[row, 'noun_class']} is not the first item of "
            f"all_noun_classes {frame.at[row, 'all_noun_classes']}",
            line=csv_line(row),
            key="noun_class",
        )
    frame["vn"] = frame["verb_class"].astype(str) + ":" + frame["noun_class"].astype(str)


def _check_class_ids(
    frame: pd.DataFrame, path: Path, verbs: pd.DataFrame | None, nouns: pd.DataFrame | None
) -> None:
    noun_items = frame["all_noun_classes"].explode().astype("int64")
    checks = (
        ("verb_class", frame["verb_class"], N_VERBS, verbs, VERB_CLASSES_FILE),
        ("noun_class", frame["noun_class"], N_NOUNS, nouns, NOUN_CLASSES_FILE),
        ("all_noun_classes", noun_items, N_NOUNS, nouns, NOUN_CLASSES_FILE),
    )
    for column, values, limit, table, table_name in checks:
        cf.require_below(values, path, column, limit)
        if table is not None:
            cf.require_member(values, set(table["id"]), path, column, f"the class table {table_name}")


def load_segments(
    path: Path, *, verbs: pd.DataFrame | None = None, nouns: pd.DataFrame | None = None
) -> pd.DataFrame:
    """EPIC_100_train.csv / EPIC_100_validation.csv, typed and checked, plus start_sec, stop_sec, vn and uid.

    Class ids are checked against [0, 97) / [0, 300), and against ``verbs`` / ``nouns`` when given.
    """
    path = Path(path)
    frame = cf.read_table(path, SEGMENT_COLUMNS)
    cf.require_nonempty(frame, path, [c for c in SEGMENT_COLUMNS if c != "narration_timestamp"])
    _parse_timing(frame, path)
    _parse_labels(frame, path)
    _check_class_ids(frame, path, verbs, nouns)
    return frame


def load_test_timestamps(path: Path) -> pd.DataFrame:
    """EPIC_100_test_timestamps.csv: the 8 unlabelled columns, typed and checked like the labelled splits."""
    path = Path(path)
    frame = cf.read_table(path, TEST_COLUMNS)
    cf.require_nonempty(frame, path, [c for c in TEST_COLUMNS if c != "narration_timestamp"])
    return _parse_timing(frame, path)


def load_class_table(path: Path, kind: Literal["verb", "noun"]) -> pd.DataFrame:
    """A verb or noun class file: id int (unique, below 97 / 300), key str (unique), instances list[str].

    A subset of the ids is fine (toy world, fixtures): class counts are the constants, never the
    file length. ``EPIC_100_noun_classes_v2.csv`` (ids up to 304) is rejected as a noun table.
    """
    path = Path(path)
    frame = cf.read_table(path, CLASS_COLUMNS)
    cf.require_nonempty(frame, path, CLASS_COLUMNS)
    frame["id"] = cf.parse_column(frame, path, "id", cf.parse_count, _COUNT, "int64")
    cf.require_below(frame["id"], path, "id", CLASS_COUNTS[kind])
    cf.require_unique(frame["id"], path, "id")
    cf.require_unique(frame["key"], path, "key")
    frame["instances"] = cf.parse_column(
        frame,
        path,
        "instances",
        cf.list_parser(str),
        "a list literal of strings such as ['tap', 'tap:water']",
    )
    return frame


def load_video_info(path: Path) -> pd.DataFrame:
    """EPIC_100_video_info.csv: video_id (unique), duration and fps (positive floats), resolution 'WxH'."""
    path = Path(path)
    frame = cf.read_table(path, VIDEO_INFO_COLUMNS)
    cf.require_nonempty(frame, path, VIDEO_INFO_COLUMNS)
    cf.require_unique(frame["video_id"], path, "video_id")
    for column in ("duration", "fps"):
        frame[column] = cf.parse_column(
            frame, path, column, cf.parse_positive_float, "a positive number", "float64"
        )
    row = cf.first_row(~frame["resolution"].str.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*"))
    if row is not None:
        raise InputError(
            path,
            f"expected WIDTHxHEIGHT, got {frame.at[row, 'resolution']!r}",
            line=csv_line(row),
            key="resolution",
        )
    return frame


def load_participant_list(path: Path) -> list[str]:
    """An unseen-participant file (single column ``participant_id``)."""
    path = Path(path)
    frame = cf.read_table(path, UNSEEN_COLUMNS)
    cf.require_nonempty(frame, path, UNSEEN_COLUMNS)
    cf.require_unique(frame["participant_id"], path, "participant_id")
    return frame["participant_id"].str.strip().tolist()


def load_tail_classes(path: Path) -> list[int]:
    """A tail-class file; its single header, ``verb`` or ``noun``, says which id range applies."""
    path = Path(path)
    header = cf.read_header(path)
    if len(header) != 1 or header[0] not in CLASS_COUNTS:
        raise InputError(
            path,
            f"header line: expected the single column 'verb' or 'noun', got {header}",
            key=",".join(header),
        )
    kind = header[0]
    ids = cf.parse_column(cf.read_table(path, header), path, kind, cf.parse_count, _COUNT, "int64")
    cf.require_below(ids, path, kind, CLASS_COUNTS[kind])
    cf.require_unique(ids, path, kind)
    return ids.tolist()


@dataclass
class AnnotationSet:
    """Everything in one EK100 annotations directory, loaded and cross-checked."""

    root: Path
    verbs: pd.DataFrame
    nouns: pd.DataFrame
    splits: dict[str, pd.DataFrame]
    video_info: pd.DataFrame | None
    unseen_participants: list[str]
    tail_verbs: list[int]
    tail_nouns: list[int]

    def split(self, name: str) -> pd.DataFrame:
        """A loaded split with segments; an absent or header-only one names its file.

        Every stage that asks for a split works on its segments, so an empty one would only yield
        an empty benchmark, mixture or prediction file. (``splits`` holds the empty ones too.)
        """
        if name in self.splits:
            if self.splits[name].empty:
                raise InputError(
                    self.root / SPLIT_FILES[name],
                    f"split '{name}' has no segments, only the header line; expected at least one row",
                )
            return self.splits[name]
        if name in SPLIT_FILES:
            raise InputError(
                self.root / SPLIT_FILES[name], f"split '{name}' is needed but this file is absent"
            )
        raise InputError(self.root, f"unknown split '{name}'; expected one of {sorted(SPLIT_FILES)}")

    def label_inputs(self) -> dict[str, Path]:
        """The files that shape labels and texts: every loaded split and the class files.

        Builders record these (with their sha256) in their manifests.
        """
        splits = {split: self.root / SPLIT_FILES[split] for split in self.splits}
        return splits | {
            "verb_classes": self.root / VERB_CLASSES_FILE,
            "noun_classes": self.root / NOUN_CLASSES_FILE,
        }


def _load_optional(path: Path, loader: Callable[[Path], T], absent: T) -> T:
    """Optional files may be missing (a fixture, the toy world); say so in the log, never fail."""
    if path.is_file():
        return loader(path)
    log.info("%s is absent; continuing without it", path)
    return absent


def _check_videos_known(segments: pd.DataFrame, path: Path, video_info: pd.DataFrame | None) -> None:
    if video_info is not None:
        cf.require_member(
            segments["video_id"], set(video_info["video_id"]), path, "video_id", VIDEO_INFO_FILE
        )


def load_annotation_dir(root: Path) -> AnnotationSet:
    """Load an annotations directory: class files required, splits and the other files when present.

    Segments are checked against the class tables and, when the video info is present, against
    its video ids.
    """
    root = Path(root)
    for name in (VERB_CLASSES_FILE, NOUN_CLASSES_FILE):
        if not (root / name).is_file():
            raise InputError(
                root / name, "class file is required in every annotations directory, but is absent"
            )
    verbs = load_class_table(root / VERB_CLASSES_FILE, "verb")
    nouns = load_class_table(root / NOUN_CLASSES_FILE, "noun")
    video_info = _load_optional(root / VIDEO_INFO_FILE, load_video_info, None)
    splits = {}
    for split, file_name in SPLIT_FILES.items():
        path = root / file_name
        segments = _load_optional(path, partial(load_segments, verbs=verbs, nouns=nouns), None)
        if segments is not None:
            _check_videos_known(segments, path, video_info)
            splits[split] = segments
    return AnnotationSet(
        root=root,
        verbs=verbs,
        nouns=nouns,
        splits=splits,
        video_info=video_info,
        unseen_participants=_load_optional(root / UNSEEN_VAL_FILE, load_participant_list, []),
        tail_verbs=_load_optional(root / TAIL_VERBS_FILE, load_tail_classes, []),
        tail_nouns=_load_optional(root / TAIL_NOUNS_FILE, load_tail_classes, []),
    )
