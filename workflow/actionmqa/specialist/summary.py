"""One metrics file for the dataset's specialists.

Each built-in variant writes its own ``metrics.json``; a released-weights variant (AVION, LaViLa,
their ensemble) writes the manifest of its validation predictions, which holds the same
accuracies under ``metrics`` and says where the weights come from. Readers (tables, the README,
a reviewer) want one place that says how good the distractor sources are, with the primary
(hard-distractor) variant's numbers at the top level: ``val.action_top1`` and so on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError

KEPT = ("feature_set", "n_train", "n_val", "n_actions", "val", "train_cv", "source")


def read_metrics(path: Path) -> dict[str, Any]:
    """A built-in variant's ``metrics.json``, or a released variant's validation-predictions manifest."""
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read specialist metrics ({exc})") from exc
    if isinstance(metrics, dict) and "predictions" in metrics and "split" in metrics:
        metrics = _from_predictions_manifest(path, metrics)
    required = ("val", "train_cv") if "feature_set" in metrics else ("val",)
    for key in required:
        if not isinstance(metrics.get(key), dict):
            raise InputError(path, "expected an object of accuracies", key=key)
    return metrics


def _from_predictions_manifest(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The accuracies of a released specialist and where its weights come from."""
    if manifest["split"] != "validation":
        raise InputError(path, f"expected the manifest of validation predictions, not {manifest['split']}")
    return {
        "val": manifest.get("metrics"),
        "n_val": manifest.get("rows"),
        "n_actions": manifest.get("label_space_actions"),
        "source": {
            key: manifest.get(key) for key in ("description", "stands_in_for", "members", "action_scores")
        },
    }


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
        # out-of-fold train accuracy: built-in specialists only (released weights saw train)
        "train_cv": per_variant[primary].get("train_cv"),
        "variants": {
            name: {key: metrics[key] for key in KEPT if key in metrics}
            for name, metrics in per_variant.items()
        },
    }
