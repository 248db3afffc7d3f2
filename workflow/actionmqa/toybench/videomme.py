"""Toy Video-MME: three four-way questions per video in short / medium / long classes, SRT for some.

The real classes are under 2 min, 4-15 min and 30-60 min; the toy keeps the labels and scales
the clip lengths down (table in the README). As in the real release, every long video has
subtitles and some short and medium ones have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from actionmqa.bench.letters import letter, lettered
from actionmqa.io import atomic_open
from actionmqa.seeding import rng_for
from actionmqa.toybench import ids
from actionmqa.toybench.base import Placed, ToyBenchmark
from actionmqa.toybench.clips import ClipShape
from actionmqa.toybench.design import ClipGroup, Design, Item
from actionmqa.toybench.questions import Kind
from actionmqa.toybench.subtitles import narration_lines, srt_text
from actionmqa.toybench.wording import THE_PERSON
from actionmqa.toybench.writers import STRING, STRINGS, write_parquet

PARQUET = "videomme/test-00000-of-00001.parquet"
#: The 11 string fields of the HF row (spec §7.2), in order.
COLUMNS = {
    "video_id": STRING,
    "duration": STRING,
    "domain": STRING,
    "sub_category": STRING,
    "url": STRING,
    "videoID": STRING,
    "question_id": STRING,
    "task_type": STRING,
    "question": STRING,
    "options": STRINGS,
    "answer": STRING,
}
DOMAIN, SUB_CATEGORY = "Life Record", "Daily Life"
#: kind -> one of the 12 task types.
TASK_TYPES: dict[Kind, str] = {
    Kind.FIRST: "Temporal Perception",
    Kind.AFTER: "Temporal Reasoning",
    Kind.COUNT: "Counting Problem",
    Kind.TOUCHED: "Object Recognition",
    Kind.COLOUR: "Attribute Perception",
    Kind.DIRECTION: "Spatial Perception",
    Kind.ANTONYM: "Action Recognition",
}
#: duration class -> (clip seconds, concatenated windows).
DURATIONS: dict[str, tuple[tuple[float, float], int]] = {
    "short": ((8, 15), 1),
    "medium": ((18, 35), 1),
    "long": ((40, 70), 2),
}


def has_subtitles(item: Item) -> bool:
    """Every long video; every other short or medium one (so both cases occur in each class)."""
    return item.group.label == "long" or item.index % 2 == 0


class ToyVideoMME(ToyBenchmark):
    name = "videomme"
    title = "Video-MME"
    schema_source = (
        "the HF copy `lmms-lab/Video-MME` (now `lmms-eval/Video-MME`), config `videomme`, split `test`,"
        " the 11-field revision without `language` or `Subtitle` columns (spec/benchmarks.md §7.2)"
    )
    design = Design(
        THE_PERSON,
        tuple(
            ClipGroup(
                label,
                17,
                ClipShape(seconds=seconds, pieces=pieces),
                kinds=tuple(TASK_TYPES),
                n_options=(4,),
                per_clip=3,
            )
            for label, (seconds, pieces) in DURATIONS.items()
        ),
    )
    layout = (
        f'`{PARQUET}`: three questions per video (`question_id` `<video_id>-1..3`), options prefixed "A. ".',
        "`data/<videoID>.mp4` and, for some videos, `subtitle/<videoID>.srt` (text in"
        ' `<font color="white" size=".72c">`).',
        "Toy duration classes: "
        + "; ".join(f"{label}: {lo}-{hi} s from {n} window(s)" for label, ((lo, hi), n) in DURATIONS.items())
        + ".",
    )
    notes = (
        "Subtitles are the participant's spoken narrations; all long videos have them, about half of"
        " the short and medium ones do not (Video-MME issue #28).",
        f'`domain` is "{DOMAIN}", `sub_category` "{SUB_CATEGORY}"; `videoID` and `url` are made-up'
        " YouTube-style ids.",
    )

    def write(self, root: Path, items: Sequence[Item], seed: int) -> list[Placed]:
        youtube = ids.unique(ids.youtube_id, len(items), rng_for(seed, self.name, "videoID"))
        placed, rows = [], []
        for item, video in zip(items, youtube, strict=True):
            video_id = f"{item.index + 1:03d}"
            if has_subtitles(item):
                with atomic_open(root / "subtitle" / f"{video}.srt") as handle:
                    handle.write(srt_text(narration_lines(item.clip)))
            for number, question in enumerate(item.questions, start=1):
                row = {
                    "video_id": video_id,
                    "duration": item.group.label,
                    "domain": DOMAIN,
                    "sub_category": SUB_CATEGORY,
                    "url": f"https://www.youtube.com/watch?v={video}",
                    "videoID": video,
                    "question_id": f"{video_id}-{number}",
                    "task_type": TASK_TYPES[question.kind],
                    "question": question.question,
                    "options": lettered(question.options),
                    "answer": letter(question.answer),
                }
                rows.append(row)
                placed.append(Placed(row["question_id"], f"data/{video}.mp4", item, question))
        write_parquet(root / PARQUET, rows, COLUMNS)
        return placed
