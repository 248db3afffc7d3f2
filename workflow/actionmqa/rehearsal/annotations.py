"""The rehearsal's EK100 annotations: a few real validation videos and a matching synthetic train split.

``data/ek100/`` (in the package, so a clean clone has it) holds what the rehearsal's server
publishes in place of the annotations repository:

- the rows of ``VAL_VIDEOS`` from the real ``EPIC_100_validation.csv`` and of ``VAL_VIDEOS`` and
  ``TRAIN_VIDEOS`` from ``EPIC_100_video_info.csv``, byte for byte (``subset_lines``);
- the class lists, the tail-class lists and the unseen-participant list, unmodified (the package
  knows their sha256 at the pinned commit, so the rehearsal's download checks them as the real one
  does);
- ``EPIC_100_train.csv``, written by ``synthetic_train``: segments of four real train video ids
  (within their real durations) whose distinct (verb, noun) pairs, with validation's, make a label
  space of more than 100 actions, so that the specialists' top-100 lists are full.

Chosen for short videos (rendering them is cheap): 21 validation segments in 70 s of video, one of
an unseen participant (P32). ``write_fixture`` rebuilds the folder from a copy of the real files.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from actionmqa.ek100.schema import (
    NOUN_CLASSES_FILE,
    SEGMENT_COLUMNS,
    SPLIT_FILES,
    TAIL_NOUNS_FILE,
    TAIL_VERBS_FILE,
    UNSEEN_VAL_FILE,
    VERB_CLASSES_FILE,
    VIDEO_INFO_FILE,
)
from actionmqa.ek100.timestamps import format_timestamp, nominal_frames
from actionmqa.errors import InputError
from actionmqa.io import atomic_open

#: The folder the rehearsal publishes as the annotations repository.
FIXTURE = Path(__file__).resolve().parent / "data" / "ek100"
VAL_VIDEOS = ("P02_13", "P03_26", "P32_07")
#: Real train video ids (in neither validation nor test), short ones.
TRAIN_VIDEOS = ("P03_15", "P04_19", "P06_02", "P09_01")
#: Files copied unmodified (their sha256 at the pinned commit is in ``ek100.fetch.KNOWN_SHA256``).
UNMODIFIED = (VERB_CLASSES_FILE, NOUN_CLASSES_FILE, UNSEEN_VAL_FILE, TAIL_VERBS_FILE, TAIL_NOUNS_FILE)

#: Synthetic train segments: this long, one starting every STEP_S seconds (they overlap, as EK100's do).
SEGMENT_S, STEP_S, MARGIN_S = 1.2, 0.4, 0.2


def subset_lines(text: str, column: str, keep: Iterable[str], where: Path) -> str:
    """The header and the rows whose ``column`` is in ``keep``, as the original lines."""
    lines = text.splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    if column not in header:
        raise InputError(where, f"no column {column!r} in the header {header}")
    index, wanted = header.index(column), set(keep)
    rows = [line for line in lines[1:] if next(csv.reader([line]))[index] in wanted]
    found = {next(csv.reader([line]))[index] for line in rows}
    if found != wanted:
        raise InputError(where, f"no rows for {sorted(wanted - found)}", key=column)
    return lines[0] + "".join(rows)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _noun_phrase(key: str) -> str:
    """``bread:sandwich`` -> ``sandwich bread``, as EK100 keys put the head noun first."""
    return " ".join(reversed(key.split(":")))


def train_actions(val_rows: Sequence[dict[str, str]], n: int) -> list[tuple[int, int]]:
    """``n`` distinct (verb, noun) pairs: validation's first, then the first verbs with validation's
    nouns and the first nouns, in a fixed order."""
    actions = list(dict.fromkeys((int(r["verb_class"]), int(r["noun_class"])) for r in val_rows))
    nouns = sorted({noun for _, noun in actions} | set(range(10)))
    for verb in range(97):
        for noun in nouns:
            if len(actions) >= n:
                return actions
            if (verb, noun) not in actions:
                actions.append((verb, noun))
    return actions


def synthetic_train(annotations: Path) -> str:
    """``EPIC_100_train.csv`` for ``TRAIN_VIDEOS``, from the class lists, validation and video info in
    ``annotations``: one segment per distinct action, every STEP_S seconds of each video."""
    verbs = {int(r["id"]): r["key"] for r in _read_rows(annotations / VERB_CLASSES_FILE)}
    nouns = {int(r["id"]): r["key"] for r in _read_rows(annotations / NOUN_CLASSES_FILE)}
    durations = {r["video_id"]: float(r["duration"]) for r in _read_rows(annotations / VIDEO_INFO_FILE)}
    starts = [
        (video, round(k * STEP_S + MARGIN_S, 2))
        for video in TRAIN_VIDEOS
        for k in range(int((durations[video] - SEGMENT_S - 2 * MARGIN_S) / STEP_S) + 1)
    ]
    actions = train_actions(_read_rows(annotations / SPLIT_FILES["validation"]), len(starts))
    rows, counter = [], dict.fromkeys(TRAIN_VIDEOS, 0)
    for (video, start), (verb, noun) in zip(starts, actions, strict=True):
        stop = round(start + SEGMENT_S, 2)
        start_frame, stop_frame = nominal_frames(video, start, stop)
        verb_word, noun_word = verbs[verb], _noun_phrase(nouns[noun])
        rows.append(
            [
                f"{video}_{counter[video]}", video.split("_")[0], video, format_timestamp(start, 3),
                format_timestamp(start), format_timestamp(stop), str(start_frame), str(stop_frame),
                f"{verb_word.replace('-', ' ')} {noun_word}", verb_word, str(verb), nouns[noun], str(noun),
                f"['{nouns[noun]}']", f"[{noun}]",
            ]
        )  # fmt: skip
        counter[video] += 1
    rows.sort(key=lambda row: (row[2], row[0]))  # by video, then narration id as a string (as EK100)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SEGMENT_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def write_fixture(source: Path, out: Path = FIXTURE) -> None:
    """Rebuild ``out`` from ``source``, a copy of the annotations at the pinned commit (train not needed)."""
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in UNMODIFIED:
        shutil.copyfile(source / name, out / name)
    subsets = {
        SPLIT_FILES["validation"]: ("video_id", VAL_VIDEOS),
        VIDEO_INFO_FILE: ("video_id", (*VAL_VIDEOS, *TRAIN_VIDEOS)),
    }
    for name, (column, keep) in subsets.items():
        text = (source / name).read_text(encoding="utf-8")
        with atomic_open(out / name) as handle:
            handle.write(subset_lines(text, column, keep, source / name))
    with atomic_open(out / SPLIT_FILES["train"]) as handle:
        handle.write(synthetic_train(out))
