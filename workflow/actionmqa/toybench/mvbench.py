"""Toy MVBench: seven tasks with 2-5 candidates, answers as candidate text, three of them bounded.

Each task keeps its real video folder and file-name style. Bounded tasks carry ``start``/``end``
around the asked-about actions; the file of action_prediction runs on past ``end`` through the
action asked about, as the official bounded protocol expects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from actionmqa.bench.mvbench import TASK_FOLDERS
from actionmqa.seeding import rng_for
from actionmqa.toybench import ids
from actionmqa.toybench.base import Placed, ToyBenchmark
from actionmqa.toybench.clips import ClipShape
from actionmqa.toybench.design import ClipGroup, Design, Item
from actionmqa.toybench.questions import Kind
from actionmqa.toybench.wording import THE_PERSON
from actionmqa.toybench.writers import write_json_records

CLIPS_PER_TASK = 22
ACTION_CLIP = ClipShape(seconds=(6, 14))
BOUNDED_CLIP = ClipShape(seconds=(6, 14), bounded=True)
#: task -> (clip shape, kind, candidate counts), in MVBench's own task order (lmms-eval's DATA_LIST).
TASKS: dict[str, tuple[ClipShape, Kind, tuple[int, ...]]] = {
    "action_sequence": (BOUNDED_CLIP, Kind.AFTER, (4,)),
    "action_prediction": (ClipShape(seconds=(6, 14), bounded=True, reveal_next=True), Kind.NEXT, (4,)),
    "action_antonym": (ClipShape(seconds=(2, 7)), Kind.ANTONYM, (3,)),
    "object_existence": (ACTION_CLIP, Kind.EXISTS, (2,)),
    "object_interaction": (BOUNDED_CLIP, Kind.TOUCHED, (4,)),
    "action_count": (ACTION_CLIP, Kind.COUNT, (3,)),
    "moving_attribute": (ClipShape(seconds=(4, 10)), Kind.COLOUR, (5,)),
}
#: video folder -> how its source names files (STAR/Charades ids, SSv2 numbers, video_NNNNN).
NAMING: dict[str, Callable[[np.random.Generator], str]] = {
    "star/Charades_segment": ids.charades_id,
    "ssv2_video_mp4": ids.numbered("", 6),
    "perception/videos": ids.numbered("video_", 5),
    "clevrer/video_validation": ids.numbered("video_", 5),
}


class ToyMVBench(ToyBenchmark):
    name = "mvbench"
    title = "MVBench"
    schema_source = (
        "HF `OpenGVLab/MVBench`, branch `video` (the one lmms-eval pins): `json/<task>.json` and the"
        " DATA_LIST video folders (spec/benchmarks.md §8.1-8.2)"
    )
    design = Design(
        THE_PERSON,
        tuple(
            ClipGroup(task, CLIPS_PER_TASK, shape, kinds=(kind,), n_options=n_options)
            for task, (shape, kind, n_options) in TASKS.items()
        ),
    )
    layout = (
        "`json/<task>.json`: a list of `{video, question, candidates, answer[, start, end]}`; `answer` is"
        " the text of the right candidate.",
        "`<folder>/<video>`: each task's real folder (`star/Charades_segment`, `ssv2_video_mp4`,"
        " `perception/videos`, `clevrer/video_validation`).",
        "Tasks: "
        + ", ".join(f"{task} ({'/'.join(map(str, n))} candidates)" for task, (_, _, n) in TASKS.items())
        + ".",
    )
    notes = (
        "action_sequence, action_prediction and object_interaction carry `start`/`end` (seconds); in"
        " action_prediction the video continues past `end` through the action asked about.",
    )

    def write(self, root: Path, items: Sequence[Item], seed: int) -> list[Placed]:
        names = self._video_names(items, seed)
        placed, by_task = [], {}
        for item, video in zip(items, names, strict=True):
            task = item.group.label
            (question,) = item.questions
            record: dict[str, Any] = {
                "video": video,
                "question": question.question,
                "candidates": list(question.options),
                "answer": question.answer_text,
            }
            if item.clip.bound is not None:
                record["start"], record["end"] = item.clip.bound
            rows = by_task.setdefault(task, [])
            placed.append(Placed(f"{task}_{len(rows)}", f"{TASK_FOLDERS[task]}/{video}", item, question))
            rows.append(record)
        for task, rows in by_task.items():
            write_json_records(root / "json" / f"{task}.json", rows)
        return placed

    def _video_names(self, items: Sequence[Item], seed: int) -> list[str]:
        """File names unique within each folder (several tasks share STAR's and CLEVRER's)."""
        folders = [TASK_FOLDERS[item.group.label] for item in items]
        names: dict[str, list[str]] = {
            folder: ids.unique(NAMING[folder], folders.count(folder), rng_for(seed, self.name, folder))
            for folder in dict.fromkeys(folders)
        }
        return [f"{names[folder].pop(0)}.mp4" for folder in folders]
