"""Toy LongVideoBench: 4-5 way referring questions in four duration groups, with subtitle JSON.

The real groups are (8,15], (15,60], (180,600] and (900,3600] seconds; the toy keeps the
``duration_group`` codes but scales the clip lengths down (table in the README), and builds
the two longer groups by concatenating windows of several world videos.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actionmqa.bench.longvideobench import PADDING
from actionmqa.seeding import rng_for
from actionmqa.toybench import ids
from actionmqa.toybench.base import Placed, ToyBenchmark
from actionmqa.toybench.clips import ClipShape
from actionmqa.toybench.design import ClipGroup, Design, Item
from actionmqa.toybench.questions import Kind, ToyQuestion
from actionmqa.toybench.subtitles import lvb_entries, narration_lines
from actionmqa.toybench.wording import CAMERA_WEARER
from actionmqa.toybench.writers import FLOAT, INT, STRING, write_json_records, write_parquet

PARQUET = "validation-00000-of-00001.parquet"
JSON = "lvb_val.json"
COLUMNS = {
    "video_id": STRING,
    "id": STRING,
    "video_path": STRING,
    "subtitle_path": STRING,
    "correct_choice": INT,
    "question": STRING,
    **{f"option{i}": STRING for i in range(5)},
    "duration": FLOAT,
    "duration_group": INT,
    "question_category": STRING,
    "topic_category": STRING,
    "starting_timestamp_for_subtitles": FLOAT,
}
#: kind -> (question_category, level): the closest of the 17 referring-query categories.
CATEGORIES: dict[Kind, tuple[str, str]] = {
    Kind.FIRST: ("SSS", "L2-Relation"),
    Kind.AFTER: ("E3E", "L2-Relation"),
    Kind.TOUCHED: ("E2O", "L1-Perception"),
    Kind.COLOUR: ("S2A", "L1-Perception"),
    Kind.DIRECTION: ("O2E", "L1-Perception"),
    Kind.ANTONYM: ("S2E", "L1-Perception"),
}
TOPIC = "toy-kitchen"
#: duration_group code -> (clip seconds, concatenated windows).
GROUPS: dict[int, tuple[tuple[float, float], int]] = {
    15: ((8, 15), 1),
    60: ((16, 32), 1),
    600: ((40, 70), 2),
    3600: ((80, 120), 3),
}


class ToyLongVideoBench(ToyBenchmark):
    name = "longvideobench"
    title = "LongVideoBench"
    schema_source = (
        "the HF dataset `longvideobench/LongVideoBench`: `validation-00000-of-00001.parquet` and"
        " `lvb_val.json` (spec/benchmarks.md §6.2)"
    )
    design = Design(
        CAMERA_WEARER,
        tuple(
            ClipGroup(
                str(code),
                13,
                ClipShape(seconds=seconds, pieces=pieces),
                kinds=tuple(CATEGORIES),
                n_options=(4, 5),
                per_clip=3,
            )
            for code, (seconds, pieces) in GROUPS.items()
        ),
    )
    layout = (
        f'`{PARQUET}`: `option0`..`option4`, padded with "{PADDING}" for 4-way questions.',
        f"`{JSON}`: the same questions with unpadded `candidates`, `level`, `position`,"
        " `question_wo_referring_query` and `view_count`.",
        "`videos/<video_id>.mp4` and `subtitles/<video_id>_en.json` (entries alternate between the"
        " `{start, end, line}` and `{timestamp, text}` forms from video to video; times are offset by"
        " `starting_timestamp_for_subtitles`, the first window's start in its source video).",
        "Toy duration groups: "
        + "; ".join(f"{code}: {lo}-{hi} s from {n} window(s)" for code, ((lo, hi), n) in GROUPS.items())
        + ".",
    )
    notes = (
        "Subtitles are the participant's spoken narrations (EK100's narrations were spoken aloud).",
        f'`topic_category` is "{TOPIC}" (no scorer reads it); `view_count` is 0.',
    )

    def write(self, root: Path, items: Sequence[Item], seed: int) -> list[Placed]:
        video_ids = ids.unique(ids.youtube_id, len(items), rng_for(seed, self.name, "video_id"))
        placed, rows, records = [], [], []
        for item, video_id in zip(items, video_ids, strict=True):
            offset = round(item.clip.pieces[0].start_sec, 3)
            form = "clock" if item.index % 2 == 0 else "timestamp"
            entries = lvb_entries(narration_lines(item.clip), offset, form)
            write_json_records(root / "subtitles" / f"{video_id}_en.json", entries)
            for number, question in enumerate(item.questions):
                row = self._row(item, video_id, f"{video_id}_{number}", question, offset)
                rows.append(row)
                records.append(self._json_record(row, item, question))
                placed.append(Placed(row["id"], f"videos/{row['video_path']}", item, question))
        write_parquet(root / PARQUET, rows, COLUMNS)
        write_json_records(root / JSON, records)
        return placed

    @staticmethod
    def _row(item: Item, video_id: str, qid: str, question: ToyQuestion, offset: float) -> dict[str, Any]:
        padded = list(question.options) + [PADDING] * (5 - len(question.options))
        return {
            "video_id": video_id,
            "id": qid,
            "video_path": f"{video_id}.mp4",
            "subtitle_path": f"{video_id}_en.json",
            "correct_choice": question.answer,
            "question": question.question,
            **{f"option{i}": text for i, text in enumerate(padded)},
            "duration": round(item.clip.duration, 3),
            "duration_group": int(item.group.label),
            "question_category": CATEGORIES[question.kind][0],
            "topic_category": TOPIC,
            "starting_timestamp_for_subtitles": offset,
        }

    @staticmethod
    def _json_record(row: dict[str, Any], item: Item, question: ToyQuestion) -> dict[str, Any]:
        """``lvb_val.json``'s form: unpadded candidates; ``position``: frames at the evidence's middles."""
        middles = {s.event.narration_id: (s.start + s.stop) / 2 for s in item.clip.events}
        position = [round(middles[nid] * item.clip.fps) for nid in question.evidence if nid in middles]
        options = {f"option{i}" for i in range(5)}
        return {
            **{key: value for key, value in row.items() if key not in options},
            "candidates": list(question.options),
            "question_wo_referring_query": question.question,
            "position": position,
            "level": CATEGORIES[question.kind][1],
            "view_count": 0,
        }
