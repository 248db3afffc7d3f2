"""Summary counts of a loaded annotations directory, written by ``actionmqa data validate``.

The counts are the ones spec/benchmarks.md §3.2 publishes (rows, videos, participants, classes,
unseen and tail rows, segment durations), so a run's inputs can be checked against EK100 at a
glance; file hashes say whether they are the pinned upstream bytes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from actionmqa.ek100.annotations import AnnotationSet
from actionmqa.ek100.fetch import DEFAULT_FILES, KNOWN_SHA256
from actionmqa.ek100.schema import N_NOUNS, N_VERBS
from actionmqa.io import sha256_file


def _duration_summary(segments: pd.DataFrame) -> dict[str, float] | None:
    if segments.empty:
        return None
    duration = segments["stop_sec"] - segments["start_sec"]
    return {name: round(float(getattr(duration, name)()), 3) for name in ("min", "median", "max")}


def split_summary(segments: pd.DataFrame, ann: AnnotationSet) -> dict[str, Any]:
    """Counts for one split; tail action rows are verb-tail OR noun-tail, as the official evaluation."""
    tail_verb = segments["verb_class"].isin(ann.tail_verbs)
    tail_noun = segments["noun_class"].isin(ann.tail_nouns)
    return {
        "rows": len(segments),
        "videos": segments["video_id"].nunique(),
        "participants": segments["participant_id"].nunique(),
        "verb_classes": segments["verb_class"].nunique(),
        "noun_classes": segments["noun_class"].nunique(),
        "actions": segments["vn"].nunique(),
        "empty_narration_timestamp": int((segments["narration_timestamp"] == "").sum()),
        "unseen_rows": int(segments["participant_id"].isin(ann.unseen_participants).sum()),
        "tail_verb_rows": int(tail_verb.sum()),
        "tail_noun_rows": int(tail_noun.sum()),
        "tail_action_rows": int((tail_verb | tail_noun).sum()),
        "duration_sec": _duration_summary(segments),
    }


def _file_provenance(ann: AnnotationSet) -> dict[str, dict[str, Any]]:
    """sha256 of each present annotation file and whether it equals the pinned upstream bytes."""
    provenance = {}
    for name in DEFAULT_FILES:
        path = ann.root / name
        if path.is_file():
            digest = sha256_file(path)
            pinned = KNOWN_SHA256.get(name)
            provenance[name] = {"sha256": digest, "pinned": None if pinned is None else digest == pinned}
    return provenance


def annotation_report(ann: AnnotationSet) -> dict[str, Any]:
    """The whole ``data validate`` report: files, class tables, side lists and per-split counts."""
    all_actions = set().union(*(set(segments["vn"]) for segments in ann.splits.values()))
    return {
        "files": _file_provenance(ann),
        "absent": [name for name in DEFAULT_FILES if not (ann.root / name).is_file()],
        "class_tables": {"verbs": len(ann.verbs), "nouns": len(ann.nouns)},
        "label_space": {"verbs": N_VERBS, "nouns": N_NOUNS, "actions": len(all_actions)},
        "videos_in_video_info": None if ann.video_info is None else len(ann.video_info),
        "unseen_participants": ann.unseen_participants,
        "tail_verbs": len(ann.tail_verbs),
        "tail_nouns": len(ann.tail_nouns),
        "splits": {name: split_summary(segments, ann) for name, segments in ann.splits.items()},
    }
