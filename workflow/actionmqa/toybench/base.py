"""What a toy benchmark module provides, and what every benchmark's output has besides its records.

A benchmark module only maps drawn questions onto its real record schema and file layout
(:meth:`ToyBenchmark.write`); drawing clips and questions, cutting videos, the README and the
provenance file are shared (``generate``), so the five emitters differ only where the real
benchmarks differ.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from actionmqa.bench.letters import letter
from actionmqa.toybench.design import Design, Item
from actionmqa.toybench.questions import ToyQuestion

README = "README.md"
PROVENANCE = "provenance.jsonl"


@dataclass(frozen=True)
class Placed:
    """A question as the written files hold it: the id its adapter gives it and its video file."""

    id: str
    video: str
    item: Item
    question: ToyQuestion

    def provenance(self) -> dict[str, Any]:
        """Where the answer comes from: kind, answer, evidence segments and the source spans shown."""
        clip = self.item.clip
        return {
            "id": self.id,
            "kind": self.question.kind.value,
            "group": self.item.group.label,
            "question": self.question.question,
            "answer": letter(self.question.answer),
            "answer_text": self.question.answer_text,
            "evidence": list(self.question.evidence),
            "video": self.video,
            "duration": round(clip.duration, 3),
            "bound": list(clip.bound) if clip.bound else None,
            "pieces": [
                {
                    "video_id": p.video.video_id,
                    "start_sec": round(p.start_sec, 3),
                    "stop_sec": round(p.stop_sec, 3),
                }
                for p in clip.pieces
            ],
        }


class ToyBenchmark(abc.ABC):
    """One benchmark's real layout, filled with toy questions."""

    #: The adapter's name (``actionmqa bench --benchmark``) and the output folder's.
    name: ClassVar[str]
    title: ClassVar[str]
    #: Which real release's schema and layout the files follow (README).
    schema_source: ClassVar[str]
    design: ClassVar[Design]
    #: README lines on the layout and on what is toy about the values.
    layout: ClassVar[tuple[str, ...]]
    notes: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def write(self, root: Path, items: Sequence[Item], seed: int) -> list[Placed]:
        """Write the question files (and subtitles) under ``root``; every question placed, in file order."""


def readme_text(bench: ToyBenchmark, placed: Sequence[Placed], seed: int, split: str) -> str:
    """The README of a toy benchmark folder: what it is, the schema it follows, what it holds."""
    videos = {p.video for p in placed}
    groups = Counter(p.item.group.label for p in placed)
    kinds = Counter(p.question.kind.value for p in placed)
    lines = [
        f"# {bench.title} (toy version)",
        "",
        f"This is a **toy version** of {bench.title}, written by `actionmqa toybench generate` from the "
        f"{split} split of the embedded toy kitchen world (seed {seed}). It is not the real benchmark: the "
        "videos are cut from the world's renders and every answer is the world's ground truth.",
        "",
        f"Schema and layout follow {bench.schema_source}.",
        "",
        "## Layout",
        "",
        *(f"- {line}" for line in bench.layout),
        f"- `{PROVENANCE}`: not part of the real benchmark; per question its kind, text, answer, the evidence"
        " segments (EK100 narration ids) and the source spans the video shows.",
        "",
        "## Contents",
        "",
        f"{len(placed)} questions on {len(videos)} videos.",
        "",
        "| group | questions |",
        "|---|---|",
        *(f"| {label} | {n} |" for label, n in groups.items()),
        "",
        "Question kinds: " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) + ".",
    ]
    if bench.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in bench.notes)]
    return "\n".join(lines) + "\n"
