"""Accuracy aggregation shared by every benchmark: tallies, per-group breakdowns, averages.

Samples whose ``correct`` is ``None`` were dropped from the denominator by the parser mode
(Video-MME's official scorer, MVBench's lmms-eval ``mcq_acc`` aggregation); they count in
``n`` but not in any accuracy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actionmqa.bench.records import SampleResult, Skip

#: The unit of every accuracy in an evaluation summary (benchmarks, EK100-MQA, SAP, recognition),
#: which each summary states in its ``unit`` field.
UNIT = "percent"


@dataclass(frozen=True)
class GroupStat:
    """Counts for one group value: ``n`` samples, ``denominator`` of them counted, ``correct``."""

    n: int
    denominator: int
    correct: int

    @property
    def accuracy(self) -> float:
        return accuracy_pct(self.correct, self.denominator)

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "denominator": self.denominator,
            "correct": self.correct,
            "accuracy": self.accuracy,
        }


def accuracy_pct(correct: int, denominator: int) -> float:
    """100 * correct / denominator, 0.0 for an empty denominator (lmms-eval's convention)."""
    return 100.0 * correct / denominator if denominator else 0.0


def tally(results: Iterable[SampleResult]) -> tuple[int, int]:
    """(correct, denominator) over the counted samples."""
    counted = [r for r in results if r.counted]
    return sum(bool(r.correct) for r in counted), len(counted)


def group_stat(results: Sequence[SampleResult]) -> GroupStat:
    correct, denominator = tally(results)
    return GroupStat(n=len(results), denominator=denominator, correct=correct)


def group_breakdown(results: Sequence[SampleResult], keys: Sequence[str]) -> dict[str, dict[str, GroupStat]]:
    """key -> value -> :class:`GroupStat`, values sorted so the JSON is byte-stable."""
    breakdown: dict[str, dict[str, GroupStat]] = {}
    for key in keys:
        buckets: dict[str, list[SampleResult]] = defaultdict(list)
        for result in results:
            buckets[str(result.groups[key])].append(result)
        breakdown[key] = {value: group_stat(buckets[value]) for value in sorted(buckets)}
    return breakdown


def mean_over_groups(stats: Mapping[str, GroupStat]) -> float:
    """Unweighted mean of the groups' accuracies (MVBench's "mean over the 20 tasks")."""
    return sum(s.accuracy for s in stats.values()) / len(stats) if stats else 0.0


def size_weighted_overall(*groupings: Mapping[str, GroupStat]) -> tuple[float, int]:
    """lmms-eval LongVideoBench's "Overall": accuracies weighted by size across all groupings.

    Every sample sits in one group of each grouping, so with two groupings it is counted twice;
    the accuracy equals plain accuracy but the reported ``num`` is twice the sample count
    (spec/benchmarks.md §6.3). Returns (accuracy %, num).
    """
    stats = [s for grouping in groupings for s in grouping.values()]
    num = sum(s.denominator for s in stats)
    weighted = sum(s.accuracy * s.denominator for s in stats)
    return (weighted / num if num else 0.0), num


@dataclass
class Summary:
    """The benchmark score.

    ``accuracy`` is a percentage (0-100), as every paper table reports it. ``n`` counts the
    scored questions and ``denominator`` those counted in the accuracy (``excluded`` = the
    difference: outputs a mode drops). ``unparsed`` counts outputs where the parser found no
    answer, including those lmms-eval then guessed at random (``random_fallbacks``).
    ``groups`` maps group key -> group value -> counts and accuracy. ``empty_outputs`` lists the
    ids whose raw output was blank and ``skipped`` the questions left out, with reasons.
    """

    benchmark: str
    parser_mode: str
    accuracy: float
    n: int
    correct: int
    denominator: int
    unparsed: int
    random_fallbacks: int
    aggregation: str
    groups: dict[str, dict[str, GroupStat]]
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    empty_outputs: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    @property
    def excluded(self) -> int:
        return self.n - self.denominator

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "parser_mode": self.parser_mode,
            "accuracy": self.accuracy,
            "unit": UNIT,
            "n": self.n,
            "correct": self.correct,
            "denominator": self.denominator,
            "excluded": self.excluded,
            "unparsed": self.unparsed,
            "random_fallbacks": self.random_fallbacks,
            "aggregation": self.aggregation,
            "groups": {
                key: {value: stat.to_json() for value, stat in values.items()}
                for key, values in self.groups.items()
            },
            "seed": self.seed,
            "settings": self.settings,
            "extra": self.extra,
            "empty_outputs": list(self.empty_outputs),
            "skipped": [{"id": s.id, "reason": s.reason} for s in self.skipped],
        }
