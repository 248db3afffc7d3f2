"""The manifest beside a benchmark file: what it holds, what it was built from, how hard it is.

A frozen benchmark is only trustworthy if a reader can check it: the sha256 of the JSONL and of
every input, the settings, and the statistics a reviewer would ask for (answer-position balance,
how often the specialist missed the ground truth, how often distractors share its verb or noun).
Nothing machine-dependent (absolute paths, times) goes in, so a rebuild gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from actionmqa.io import sha256_file
from actionmqa.mqa.builder import BuildConfig, BuildResult
from actionmqa.mqa.options import Fallback
from actionmqa.mqa.records import MQARecord

MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(benchmark: Path) -> Path:
    """``hard.jsonl`` -> ``hard.manifest.json``."""
    return benchmark.with_suffix(MANIFEST_SUFFIX)


def answer_position_counts(records: Sequence[MQARecord], n_options: int) -> list[int]:
    counts = [0] * n_options
    for record in records:
        counts[record.answer_index] += 1
    return counts


def shared_class_rates(records: Sequence[MQARecord]) -> dict[str, float | None]:
    """Fractions of distractors whose verb, noun, or either equals the ground truth's."""
    verb = noun = either = total = 0
    for record in records:
        gt_verb, gt_noun = record.gt_vn.split(":")
        for position, vn in enumerate(record.option_vns):
            if position == record.answer_index:
                continue
            same_verb, same_noun = (a == b for a, b in zip(vn.split(":"), (gt_verb, gt_noun), strict=True))
            verb += same_verb
            noun += same_noun
            either += same_verb or same_noun
            total += 1
    return {
        "distractor_shares_verb_rate": _rate(verb, total),
        "distractor_shares_noun_rate": _rate(noun, total),
        "distractor_shares_verb_or_noun_rate": _rate(either, total),
    }


def build_manifest(
    benchmark: Path,
    config: BuildConfig,
    result: BuildResult,
    inputs: Mapping[str, Path],
) -> dict[str, Any]:
    """``inputs`` maps each input's role (``validation``, ``noun_classes``, ``predictions``) to its file."""
    records = result.records
    specialist: dict[str, Any] | None = None
    if result.gt_injected is not None:
        specialist = {
            "gt_injected": result.gt_injected,
            "gt_in_top_k_rate": _rate(len(records) - result.gt_injected, len(records)),
        }
    return {
        "benchmark": {"file": benchmark.name, "sha256": sha256_file(benchmark)},
        "split": config.split,
        "seed": config.seed,
        "options": config.n_options,
        "text": config.text.value,
        "distractors": config.distractors.value,
        "distractor_source": config.distractor_source,
        "records": len(records),
        "answer_position_counts": answer_position_counts(records, config.n_options),
        "label_space_actions": result.n_actions,
        "narration_pool": {
            "split": result.pool_split,
            "disjoint_from_benchmark": result.pool_split != config.split,
        },
        # distractors shown with their label text in narration mode, by reason
        "label_text_fallbacks": {reason.value: result.fallbacks[reason.value] for reason in Fallback},
        "specialist": specialist,
        **shared_class_rates(records),
        "inputs": {name: {"file": path.name, "sha256": sha256_file(path)} for name, path in inputs.items()},
    }


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 6) if total else None
