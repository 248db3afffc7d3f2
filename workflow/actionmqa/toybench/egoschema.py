"""Toy EgoSchema: five-way questions about what the camera wearer "c" did, HF ``Subset`` layout."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from actionmqa.bench.letters import lettered
from actionmqa.seeding import rng_for
from actionmqa.toybench import ids
from actionmqa.toybench.base import Placed, ToyBenchmark
from actionmqa.toybench.clips import ClipShape
from actionmqa.toybench.design import ClipGroup, Design, Item
from actionmqa.toybench.questions import Kind
from actionmqa.toybench.wording import CAMERA_WEARER_C
from actionmqa.toybench.writers import STRING, STRINGS, write_parquet

#: The HF row: every field a string, options with their letter prefix (spec §4.2).
COLUMNS = {
    "question_idx": STRING,
    "question": STRING,
    "video_idx": STRING,
    "option": STRINGS,
    "answer": STRING,
}
PARQUET = "test-00000-of-00001.parquet"


class ToyEgoSchema(ToyBenchmark):
    name = "egoschema"
    title = "EgoSchema"
    schema_source = (
        "the HF copy `lmms-lab/egoschema` (now `lmms-eval/egoschema`) as lmms-eval reads it in 2026-08:"
        " configs `Subset` and `MC`, split `test` (spec/benchmarks.md §4.2)"
    )
    design = Design(
        CAMERA_WEARER_C,
        (
            ClipGroup(
                "subset",
                150,
                ClipShape(seconds=(12, 24)),
                kinds=(
                    Kind.FIRST,
                    Kind.COUNT,
                    Kind.AFTER,
                    Kind.TOUCHED,
                    Kind.COLOUR,
                    Kind.DIRECTION,
                    Kind.ANTONYM,
                ),
                n_options=(5,),
            ),
        ),
    )
    layout = (
        f'`Subset/{PARQUET}`: the labelled questions (`answer` "0"-"4").',
        f"`MC/{PARQUET}`: the same questions with `answer` null, as the full set is published.",
        "`videos/<video_idx>.mp4`: one clip per question, 12-24 s (the real clips last 180 s).",
    )
    notes = ('The camera wearer is "c", as in EgoSchema\'s questions.',)

    def write(self, root: Path, items: Sequence[Item], seed: int) -> list[Placed]:
        uids = ids.unique(ids.uuid4, len(items), rng_for(seed, self.name, "q_uid"))
        placed, rows = [], []
        for item, uid in zip(items, uids, strict=True):
            (question,) = item.questions
            rows.append(
                {
                    "question_idx": f"{item.index:05d}",
                    "question": question.question,
                    "video_idx": uid,
                    "option": lettered(question.options),
                    "answer": str(question.answer),
                }
            )
            placed.append(Placed(uid, f"videos/{uid}.mp4", item, question))
        write_parquet(root / "Subset" / PARQUET, rows, COLUMNS)
        write_parquet(root / "MC" / PARQUET, [{**row, "answer": None} for row in rows], COLUMNS)
        return placed
