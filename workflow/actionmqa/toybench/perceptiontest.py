"""Toy Perception Test: three-way questions with area and reasoning labels, HF ``mc_question_val`` layout."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from actionmqa.seeding import rng_for
from actionmqa.toybench import ids
from actionmqa.toybench.base import Placed, ToyBenchmark
from actionmqa.toybench.clips import ClipShape
from actionmqa.toybench.design import ClipGroup, Design, Item
from actionmqa.toybench.questions import Kind
from actionmqa.toybench.wording import THE_PERSON
from actionmqa.toybench.writers import STRING, STRINGS, write_parquet

#: The HF row: every scalar a string, ``answer_id`` included (spec §5.2).
COLUMNS = {
    "video_name": STRING,
    "question": STRING,
    "question_id": STRING,
    "options": STRINGS,
    "answer_id": STRING,
    "area": STRING,
    "reasoning": STRING,
    "tag": STRINGS,
}
PARQUET = "mc_question_val/validation-00000-of-00001.parquet"
#: kind -> (area, reasoning, tags), from the benchmark's four areas and four reasoning types.
LABELS: dict[Kind, tuple[str, str, tuple[str, ...]]] = {
    Kind.FIRST: ("Memory", "Descriptive", ("Event recall", "Sequencing")),
    Kind.AFTER: ("Memory", "Descriptive", ("Sequencing",)),
    Kind.NEXT: ("Semantics", "Predictive", ("Action prediction",)),
    Kind.COUNT: ("Abstraction", "Descriptive", ("Counting",)),
    Kind.TOUCHED: ("Semantics", "Descriptive", ("Object recognition",)),
    Kind.COLOUR: ("Semantics", "Descriptive", ("Object attributes",)),
    Kind.DIRECTION: ("Physics", "Explanatory", ("Motion", "Object location")),
    Kind.ANTONYM: ("Physics", "Descriptive", ("Action recognition", "Motion")),
}


class ToyPerceptionTest(ToyBenchmark):
    name = "perceptiontest"
    title = "Perception Test"
    schema_source = (
        "the HF copy `lmms-lab/PerceptionTest_Val`, config `mc_question_val`, split `validation`"
        " (spec/benchmarks.md §5.2)"
    )
    design = Design(
        THE_PERSON,
        (
            ClipGroup(
                "validation",
                50,
                ClipShape(seconds=(6, 14)),
                kinds=tuple(LABELS),
                n_options=(3,),
                per_clip=3,
            ),
        ),
    )
    layout = (
        f'`{PARQUET}`: three questions per video, `question_id` "0"-"2" within each video.',
        "`videos/<video_name>.mp4`: 6-14 s clips.",
    )
    notes = (
        '"What will the person do next?" clips stop before that action; its answer is the action the'
        " world's annotations list next (Predictive).",
    )

    def write(self, root: Path, items: Sequence[Item], seed: int) -> list[Placed]:
        names = ids.unique(ids.numbered("video_", 5), len(items), rng_for(seed, self.name, "video_name"))
        placed, rows = [], []
        for item, name in zip(items, names, strict=True):
            for number, question in enumerate(item.questions):
                area, reasoning, tags = LABELS[question.kind]
                rows.append(
                    {
                        "video_name": name,
                        "question": question.question,
                        "question_id": str(number),
                        "options": list(question.options),
                        "answer_id": str(question.answer),
                        "area": area,
                        "reasoning": reasoning,
                        "tag": list(tags),
                    }
                )
                placed.append(Placed(f"{name}_{number}", f"videos/{name}.mp4", item, question))
        write_parquet(root / PARQUET, rows, COLUMNS)
        return placed
