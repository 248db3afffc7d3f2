"""The prior-actions lookup (spec/llavaction.md §2.2, upstream ``generate_interval_pred.get_lookup_dict``).

A segment qualifies when, among its video's segments sorted by end time, the two before it
follow each other closely: ``start[j+1] - end[j] <= max_gap_sec`` for both consecutive pairs
(overlaps, negative gaps, always qualify). Upstream sorted ties in CSV order; here ties sort by
(start, narration index) so the lookup does not depend on row order. Upstream keyed the table by
uid, so two segments with the same timestamps overwrote each other; here the key is the
narration id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from actionmqa.sft.segments import Segment


@dataclass(frozen=True)
class PriorActions:
    """The two previous actions' narrations and their start offsets (seconds before the current start)."""

    prev2_narration: str
    prev2_offset: float
    prev1_narration: str
    prev1_offset: float


def prior_actions_lookup(segments: Sequence[Segment], max_gap_sec: float = 3.0) -> dict[str, PriorActions]:
    """narration_id -> its two predecessors, for every segment that has two close ones.

    Offsets are rounded to 2 decimals, as upstream stores them.
    """
    by_video: dict[str, list[Segment]] = defaultdict(list)
    for segment in segments:
        by_video[segment.video_id].append(segment)
    lookup: dict[str, PriorActions] = {}
    for video_segments in by_video.values():
        ordered = sorted(video_segments, key=_end_order)
        for prev2, prev1, current in zip(ordered, ordered[1:], ordered[2:], strict=False):
            if _close(prev2, prev1, max_gap_sec) and _close(prev1, current, max_gap_sec):
                lookup[current.narration_id] = PriorActions(
                    prev2_narration=prev2.narration,
                    prev2_offset=round(current.start_sec - prev2.start_sec, 2),
                    prev1_narration=prev1.narration,
                    prev1_offset=round(current.start_sec - prev1.start_sec, 2),
                )
    return lookup


def _end_order(segment: Segment) -> tuple[float, float, int]:
    return (segment.stop_sec, segment.start_sec, int(segment.narration_id.rsplit("_", 1)[1]))


def _close(earlier: Segment, later: Segment, max_gap_sec: float) -> bool:
    """Rounded first, so a gap of exactly 3.00 s between 2-decimal timestamps counts as 3 s."""
    return round(later.start_sec - earlier.stop_sec, 6) <= max_gap_sec
