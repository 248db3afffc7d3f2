"""Temporal detection: find the action inside a padded clip (spec/llavaction.md §2.2).

The clip is the segment padded by ``delta`` seconds in total, split at a random point:
``ŝ = s - αδ``, ``ê = e + (1-α)δ``, ``α ~ U(0, 1)``, ``ŝ`` clipped at 0. The paper states
δ = 3 s (the default); upstream's code used 5 s. Padded times are rounded to 2 decimals before
the answer is computed from them, as upstream does, so the answer is exact for the record's own
start. Upstream answered ``"a, b"`` although its prompt asks for ``"a: b"``;
``temporal_detection_answer`` uses the colon.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.prompts import temporal_detection_answer, temporal_detection_prompt
from actionmqa.seeding import rng_for
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample

TASK = "temporal_detection"
CLIPPED_TAG = "start_clipped_at_0"


def padded_span(start: float, stop: float, delta: float, alpha: float) -> tuple[float, float]:
    """``(ŝ, ê)`` for a split point ``alpha`` in [0, 1), ŝ clipped at 0, both to 2 decimals."""
    return round(max(0.0, start - alpha * delta), 2), round(stop + (1.0 - alpha) * delta, 2)


@dataclass(frozen=True)
class TemporalDetection:
    delta_sec: float
    fraction: float
    seed: int
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample]:
        alpha = float(rng_for(self.seed, segment.key, "temporal").random())
        start, stop = padded_span(segment.start_sec, segment.stop_sec, self.delta_sec, alpha)
        clipped = segment.start_sec - alpha * self.delta_sec < 0
        return [
            Sample(
                task=self.name,
                question_type=TASK,
                prompt=temporal_detection_prompt(segment.narration, segment.duration),
                answer=temporal_detection_answer(segment.start_sec - start, segment.stop_sec - start),
                start_sec=start,
                stop_sec=stop,
                tags=(CLIPPED_TAG,) if clipped else (),
            )
        ]
