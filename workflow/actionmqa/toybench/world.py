"""The ground truth the toy benchmarks ask about: one split of a generated toy world, read from its files.

Questions must be answerable from what the world *wrote* (the EK100-format annotations and
``scenes.jsonl``), not from the generator's internal plan, so a benchmark can be regenerated from
any world directory and checked against its CSVs. Only one split is read (validation), so no
training segment can leak into an evaluation question.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from actionmqa.ek100.annotations import load_class_table, load_segments, load_video_info
from actionmqa.ek100.schema import NOUN_CLASSES_FILE, SPLIT_FILES, VERB_CLASSES_FILE, VIDEO_INFO_FILE
from actionmqa.errors import InputError
from actionmqa.io import read_jsonl_lines
from actionmqa.video.layout import WholeVideoLayout

SCENES_FILE = "scenes.jsonl"
#: The scene QA answer that states an object's colour ("It is clear blue.").
_COLOUR_ANSWER = re.compile(r"It is (?P<colour>[a-z ]+)\.")


@dataclass(frozen=True)
class Event:
    """One annotated action: times in seconds of its source video, classes by their keys."""

    narration_id: str
    video_id: str
    start: float
    stop: float
    verb: str
    noun: str
    narration: str

    @property
    def action(self) -> tuple[str, str]:
        return (self.verb, self.noun)


@dataclass(frozen=True)
class SourceVideo:
    """A video of the split with its events in time order."""

    video_id: str
    participant_id: str
    path: Path
    duration: float
    fps: float
    events: tuple[Event, ...]


@dataclass(frozen=True)
class World:
    """The split's videos, the (verb, noun) actions it contains and each noun's colour.

    ``actions`` and ``colours`` are the pools distractors are drawn from: only classes and
    combinations the world itself shows, so every wrong option is plausible in this kitchen.
    """

    root: Path
    split: str
    videos: tuple[SourceVideo, ...]
    actions: tuple[tuple[str, str], ...]
    colours: dict[str, str]

    @property
    def fps(self) -> float:
        return self.videos[0].fps

    @property
    def nouns(self) -> tuple[str, ...]:
        return tuple(sorted({noun for _, noun in self.actions}))

    @property
    def verbs(self) -> tuple[str, ...]:
        return tuple(sorted({verb for verb, _ in self.actions}))

    def events(self) -> Iterator[Event]:
        for video in self.videos:
            yield from video.events


def load_world(root: Path, split: str = "validation") -> World:
    """Read ``root``'s annotations, video info and scene colours for ``split``; check the videos exist."""
    root = Path(root)
    annotations = root / "annotations"
    if split not in SPLIT_FILES:
        raise InputError(root, f"unknown split {split!r}; expected one of {sorted(SPLIT_FILES)}")
    verbs = load_class_table(annotations / VERB_CLASSES_FILE, "verb")
    nouns = load_class_table(annotations / NOUN_CLASSES_FILE, "noun")
    segments = load_segments(annotations / SPLIT_FILES[split], verbs=verbs, nouns=nouns)
    info = load_video_info(annotations / VIDEO_INFO_FILE).set_index("video_id")
    verb_key = dict(zip(verbs["id"], verbs["key"], strict=True))
    noun_key = dict(zip(nouns["id"], nouns["key"], strict=True))

    by_video: dict[str, list[Event]] = defaultdict(list)
    participant: dict[str, str] = {}
    for row in segments.itertuples(index=False):
        participant[row.video_id] = row.participant_id
        by_video[row.video_id].append(
            Event(
                narration_id=row.narration_id,
                video_id=row.video_id,
                start=float(row.start_sec),
                stop=float(row.stop_sec),
                verb=verb_key[row.verb_class],
                noun=noun_key[row.noun_class],
                narration=row.narration,
            )
        )
    if not by_video:
        raise InputError(annotations / SPLIT_FILES[split], "the split has no segments")
    layout = WholeVideoLayout(root / "videos")
    videos = []
    for video_id in sorted(by_video):
        if video_id not in info.index:
            raise InputError(annotations / VIDEO_INFO_FILE, "video of the split is not listed", key=video_id)
        path = layout.path(participant[video_id], video_id)
        if not path.is_file():
            raise InputError(path, "video file not found")
        events = tuple(sorted(by_video[video_id], key=lambda e: (e.start, e.stop)))
        _check_no_overlap(annotations / SPLIT_FILES[split], events)
        videos.append(
            SourceVideo(
                video_id=video_id,
                participant_id=participant[video_id],
                path=path,
                duration=float(info.at[video_id, "duration"]),
                fps=float(info.at[video_id, "fps"]),
                events=events,
            )
        )
    if len({v.fps for v in videos}) != 1:
        raise InputError(annotations / VIDEO_INFO_FILE, "videos differ in fps; clips cannot be concatenated")
    all_events = [e for v in videos for e in v.events]
    return World(
        root=root,
        split=split,
        videos=tuple(videos),
        actions=tuple(sorted({e.action for e in all_events})),
        colours=_noun_colours(root / SCENES_FILE, split, all_events),
    )


def _check_no_overlap(path: Path, events: tuple[Event, ...]) -> None:
    """Order questions assume one action at a time, as the toy world scripts them."""
    for before, after in zip(events, events[1:], strict=False):
        if after.start < before.stop:
            raise InputError(
                path,
                f"segment overlaps {before.narration_id}; order questions need disjoint segments",
                key=after.narration_id,
            )


def _noun_colours(path: Path, split: str, events: list[Event]) -> dict[str, str]:
    """noun key -> colour word, from the scene QA "What colour is the X?" of the split's segments."""
    wanted = {e.narration_id: e.noun for e in events}
    colours: dict[str, str] = {}
    try:
        records = read_jsonl_lines(path)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    for lineno, record in records:
        nid = record.get("narration_id") if isinstance(record, dict) else None
        if nid not in wanted or record.get("split") != split:
            continue
        colour = _colour_of(record)
        if colour is None:
            raise InputError(path, "no 'What colour is ...' answer", line=lineno, key=nid)
        noun = wanted.pop(nid)
        if colours.setdefault(noun, colour) != colour:
            raise InputError(
                path, f"{noun} is {colours[noun]} elsewhere but {colour} here", line=lineno, key=nid
            )
    if wanted:
        missing = sorted(wanted)
        raise InputError(path, f"{len(missing)} segments have no scene record, e.g. {missing[:3]}")
    return dict(sorted(colours.items()))


def _colour_of(record: dict) -> str | None:
    for qa in record.get("qa", []):
        if str(qa.get("question", "")).startswith("What colour is"):
            match = _COLOUR_ANSWER.fullmatch(str(qa.get("answer", "")))
            return match.group("colour") if match else None
    return None
