"""A hand-written EK100 annotations directory in the real file formats, for the MQA and prediction tests.

Class ids and keys are the real ones (a subset). Validation narration ids are listed out of
numeric order on purpose (the real CSV is sorted as strings: _0, _1, _10, _2).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from actionmqa.ek100.annotations import load_segments
from actionmqa.ek100.schema import (
    CLASS_COLUMNS,
    NOUN_CLASSES_FILE,
    SEGMENT_COLUMNS,
    SPLIT_FILES,
    VERB_CLASSES_FILE,
)
from actionmqa.ek100.timestamps import format_timestamp, nominal_frames
from actionmqa.specialist.predictions import write_predictions

VERBS = {0: "take", 1: "put", 2: "wash", 3: "open", 6: "turn-on"}
NOUNS = {0: "tap", 1: "spoon", 2: "plate", 3: "cupboard", 4: "knife", 18: "board:chopping"}

#: (narration_id, start_sec, stop_sec, narration, verb, verb_class, noun, noun_class)
Segment = tuple[str, float, float, str, str, int, str, int]

VALIDATION: tuple[Segment, ...] = (
    ("P01_11_0", 0.00, 1.89, "take plate", "take", 0, "plate", 2),
    ("P01_11_1", 1.56, 2.45, "put down plate", "put-down", 1, "plate", 2),
    ("P01_11_10", 49.15, 50.95, "open cupboard", "open", 3, "cupboard", 3),
    ("P01_11_2", 3.00, 4.10, "wash knife", "wash", 2, "knife", 4),
    ("P02_101_0", 0.50, 2.00, "turn on tap", "turn-on", 6, "tap", 0),
    ("P02_101_1", 2.10, 3.30, "take chopping board", "take", 0, "board:chopping", 18),
)

#: 0:18 (chopping board) has no train narration: its distractor text falls back to the label.
TRAIN: tuple[Segment, ...] = (
    ("P03_01_0", 1.00, 2.00, "pick up plate", "pick-up", 0, "plate", 2),
    ("P03_01_1", 2.00, 3.00, "grab plate", "grab", 0, "plate", 2),
    ("P03_01_2", 3.00, 4.00, "put plate down", "put-down", 1, "plate", 2),
    ("P03_01_3", 4.00, 5.00, "open cupboard", "open", 3, "cupboard", 3),
    ("P03_01_4", 5.00, 6.00, "open cupboard door", "open", 3, "cupboard", 3),
    ("P03_01_5", 6.00, 7.00, "rinse knife", "rinse", 2, "knife", 4),
    ("P03_01_6", 7.00, 8.00, "take spoon", "take", 0, "spoon", 1),
    ("P03_01_7", 8.00, 9.00, "wash spoon", "wash", 2, "spoon", 1),
    ("P03_01_8", 9.00, 10.00, "turn tap on", "turn-on", 6, "tap", 0),
)

#: Specialist rankings by validation CSV row (vns 0:2, 1:2, 3:3, 2:4, 6:0, 0:18).
#: Rows 1 and 5 have their ground truth 6th: it must replace the 5th prediction.
HARD: dict[int, list[str]] = {
    0: ["0:1", "0:2", "1:2", "2:1", "3:3", "6:0"],
    1: ["0:2", "2:1", "0:1", "3:3", "6:0", "1:2"],
    2: ["3:3", "0:1", "1:2", "2:4", "6:0"],
    3: ["2:1", "2:4", "0:1", "0:2", "3:3"],
    4: ["6:0", "0:1", "0:2", "3:3", "2:1"],
    5: ["0:2", "0:1", "1:2", "2:1", "3:3", "0:18"],
}


def segment_row(segment: Segment) -> list[str]:
    """The 15 CSV fields of one segment, frames by the EK100 nominal-rate rule."""
    narration_id, start, stop, narration, verb, verb_class, noun, noun_class = segment
    video_id = narration_id.rsplit("_", 1)[0]
    start_frame, stop_frame = nominal_frames(video_id, start, stop)
    return [
        narration_id,
        video_id.split("_")[0],
        video_id,
        format_timestamp(start, decimals=3),
        format_timestamp(start),
        format_timestamp(stop),
        str(start_frame),
        str(stop_frame),
        narration,
        verb,
        str(verb_class),
        noun,
        str(noun_class),
        str([noun]),
        str([noun_class]),
    ]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_segments(path: Path, segments: Sequence[Segment]) -> Path:
    return write_csv(path, SEGMENT_COLUMNS, [segment_row(segment) for segment in segments])


def write_classes(root: Path) -> None:
    for file_name, classes in ((VERB_CLASSES_FILE, VERBS), (NOUN_CLASSES_FILE, NOUNS)):
        rows = [[str(i), key, str([key]), "tiny"] for i, key in classes.items()]
        write_csv(root / file_name, CLASS_COLUMNS, rows)


def write_tiny_dir(
    root: Path, validation: Sequence[Segment] = VALIDATION, train: Sequence[Segment] | None = TRAIN
) -> Path:
    """Class files, the validation split and (unless ``train`` is None) the train split."""
    root.mkdir(parents=True, exist_ok=True)
    write_classes(root)
    write_segments(root / SPLIT_FILES["validation"], validation)
    if train is not None:
        write_segments(root / SPLIT_FILES["train"], train)
    return root


def write_hard_predictions(root: Path, ranked: Mapping[int, Sequence[str]] = HARD) -> Path:
    """A TIM-style prediction file for the validation split of ``root``, written by the real writer."""
    path = root / "tim_pred_ids_val.json"
    write_predictions(path, ranked, load_segments(root / SPLIT_FILES["validation"]))
    return path
