"""The EPIC-KITCHENS-100 annotation schema, as constants (spec/benchmarks.md §3.2).

Class counts are constants, never the length of a class file: a subset class file (the toy
world's, or a fixture's) must still give 97- and 300-way heads.
"""

from __future__ import annotations

N_VERBS: int = 97
N_NOUNS: int = 300

#: The 15 columns of EPIC_100_train.csv / EPIC_100_validation.csv, in order.
SEGMENT_COLUMNS: tuple[str, ...] = (
    "narration_id",
    "participant_id",
    "video_id",
    "narration_timestamp",
    "start_timestamp",
    "stop_timestamp",
    "start_frame",
    "stop_frame",
    "narration",
    "verb",
    "verb_class",
    "noun",
    "noun_class",
    "all_nouns",
    "all_noun_classes",
)
#: EPIC_100_test_timestamps.csv has only the first 8.
TEST_COLUMNS: tuple[str, ...] = SEGMENT_COLUMNS[:8]
CLASS_COLUMNS: tuple[str, ...] = ("id", "key", "instances", "category")
VIDEO_INFO_COLUMNS: tuple[str, ...] = ("video_id", "duration", "fps", "resolution")
UNSEEN_COLUMNS: tuple[str, ...] = ("participant_id",)

#: File names inside an annotations directory.
SPLIT_FILES: dict[str, str] = {
    "train": "EPIC_100_train.csv",
    "validation": "EPIC_100_validation.csv",
}
VERB_CLASSES_FILE = "EPIC_100_verb_classes.csv"
NOUN_CLASSES_FILE = "EPIC_100_noun_classes.csv"
VIDEO_INFO_FILE = "EPIC_100_video_info.csv"
UNSEEN_VAL_FILE = "EPIC_100_unseen_participant_ids_validation.csv"
TAIL_VERBS_FILE = "EPIC_100_tail_verbs.csv"
TAIL_NOUNS_FILE = "EPIC_100_tail_nouns.csv"
