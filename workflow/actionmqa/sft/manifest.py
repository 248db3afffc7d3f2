"""The manifest beside an SFT mixture file: what it holds, how it was made, and what was skipped.

A training run is only reproducible if its data can be checked: the sha256 of the JSONL and of
every input, the mixture and seed, records per task, and each skip with its reason and clips.
Nothing machine-dependent (absolute paths, times) goes in, so a rebuild gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actionmqa.io import sha256_file
from actionmqa.sft.assemble import Assembly
from actionmqa.sft.mixture import MixtureConfig

MANIFEST_SUFFIX = ".manifest.json"


def manifest_path(mixture_file: Path) -> Path:
    """``sft.jsonl`` -> ``sft.manifest.json``."""
    return mixture_file.with_suffix(MANIFEST_SUFFIX)


def build_manifest(
    out: Path,
    *,
    split: str,
    seed: int,
    mixture: MixtureConfig,
    frames: int | None,
    assembly: Assembly,
    replay_records: int,
    inputs: Mapping[str, Path],
) -> dict[str, Any]:
    """``inputs`` maps each input's role (``train``, ``predictions:avion``, ``scenes``...) to its file."""
    counts = dict(sorted(assembly.counts.items()))
    if replay_records:
        counts["replay"] = replay_records
    return {
        "output": {"file": out.name, "sha256": sha256_file(out)},
        "split": split,
        "seed": seed,
        "mixture": mixture.model_dump(mode="json"),
        "time_instruction": None if frames is None else {"frames": frames},
        "records": sum(counts.values()),
        "counts": counts,
        "selected_clips": dict(sorted(assembly.selected.items())),
        "tags": {task: dict(sorted(tags.items())) for task, tags in sorted(assembly.tags.items()) if tags},
        "skipped": {
            task: {reason: _skip_entry(ids) for reason, ids in sorted(reasons.items())}
            for task, reasons in sorted(assembly.skipped.items())
        },
        "inputs": {
            role: {"file": path.name, "sha256": sha256_file(path)} for role, path in sorted(inputs.items())
        },
    }


def _skip_entry(narration_ids: list[str]) -> dict[str, Any]:
    return {"count": len(narration_ids), "narration_ids": narration_ids}
