"""One metrics file for the dataset's specialists.

Each variant writes its own ``metrics.json``; readers (tables, the README, a reviewer) want one
place that says how good the distractor sources are, with the primary (hard-distractor) variant's
numbers at the top level: ``val.action_top1`` and so on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError

KEPT = ("feature_set", "n_train", "n_val", "n_actions", "val", "train_cv")


def read_metrics(path: Path) -> dict[str, Any]:
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read specialist metrics ({exc})") from exc
    for key in ("val", "train_cv"):
        if not isinstance(metrics.get(key), dict):
            raise InputError(path, "expected an object of accuracies", key=key)
    return metrics


def summarize(variants: Mapping[str, Path], primary: str) -> dict[str, Any]:
    """``{"primary", "val", "train_cv", "variants": {name: {...}}}`` from per-variant metrics files."""
    if primary not in variants:
        raise InputError(
            None, f"primary specialist '{primary}' is not among {sorted(variants)}", key="primary"
        )
    per_variant = {name: read_metrics(path) for name, path in sorted(variants.items())}
    return {
        "primary": primary,
        "val": per_variant[primary]["val"],
        "train_cv": per_variant[primary]["train_cv"],
        "variants": {
            name: {key: metrics[key] for key in KEPT if key in metrics}
            for name, metrics in per_variant.items()
        },
    }


def _kept(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in KEPT if key in metrics}
