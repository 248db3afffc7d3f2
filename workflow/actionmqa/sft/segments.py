"""The train segments an SFT build reads, as plain records in canonical order.

Every random draw and every record id is keyed by a segment's ``key``: its upstream ``uid``
(``"P01-P01_01_24.97_26.20"``), except where EK100 gives two narrations the same timestamps
(repeated uids occur in train); those keep apart as ``"<uid>#<narration_id>"`` so that their
ids stay unique and their draws independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from actionmqa.mqa.builder import canonical_order


@dataclass(frozen=True)
class Segment:
    """One annotated segment; ``row`` is its 0-based CSV data row (the prediction files' key)."""

    row: int
    key: str
    uid: str
    narration_id: str
    participant_id: str
    video_id: str
    start_sec: float
    stop_sec: float
    narration: str
    vn: str
    verb_class: int
    noun_class: int

    @property
    def video(self) -> str:
        """Upstream's ``video`` field: ``"P01-P01_01"``."""
        return f"{self.participant_id}-{self.video_id}"

    @property
    def duration(self) -> float:
        return self.stop_sec - self.start_sec


def segments_in_order(table: pd.DataFrame, path: Path) -> list[Segment]:
    """The rows of one split, sorted by (video, numeric narration index): independent of CSV row order."""
    shared = table["uid"].duplicated(keep=False)
    ordered = canonical_order(table, path)
    return [
        Segment(
            row=int(row.Index),
            key=f"{row.uid}#{row.narration_id}" if shared[row.Index] else row.uid,
            uid=row.uid,
            narration_id=row.narration_id,
            participant_id=row.participant_id,
            video_id=row.video_id,
            start_sec=float(row.start_sec),
            stop_sec=float(row.stop_sec),
            narration=row.narration,
            vn=row.vn,
            verb_class=int(row.verb_class),
            noun_class=int(row.noun_class),
        )
        for row in ordered.itertuples()
    ]
