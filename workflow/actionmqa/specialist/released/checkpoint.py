"""A converted specialist: ``model.safetensors`` plus ``config.json`` (architecture, label space, source).

Converting once (``actionmqa specialist convert``) means every prediction shard loads plain
safetensors instead of unpickling a multi-GB release with its optimizer state, and the label
space the head was checked against travels with the weights: scoring refuses annotations whose
label space differs from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from actionmqa.errors import InputError
from actionmqa.io import atomic_dir, write_json
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.avion import AvionClassifier
from actionmqa.specialist.released.timesformer import TimeSformerClassifier

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def build_model(arch: Architecture) -> nn.Module:
    """An untrained model of ``arch`` (build it under ``torch.device("meta")`` for shapes only)."""
    if arch.family == "avion_vit":
        return AvionClassifier(arch)
    return TimeSformerClassifier(arch)


@dataclass(frozen=True)
class ConvertedCheckpoint:
    """What ``config.json`` records: enough to rebuild the model and to check its label space."""

    name: str
    architecture: Architecture
    #: The action label space the head was checked against, in head order.
    actions: tuple[str, ...]
    source: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "architecture": self.architecture.to_dict(),
            "actions": list(self.actions),
            "source": self.source,
        }

    def require_actions(self, actions: Sequence[str], where: Path) -> None:
        """Raise unless ``actions`` is exactly the label space the head was converted for."""
        if tuple(actions) == self.actions:
            return
        differ = next(
            (i for i, (a, b) in enumerate(zip(actions, self.actions, strict=False)) if a != b),
            min(len(actions), len(self.actions)),
        )
        raise InputError(
            where,
            f"the action head was converted for {len(self.actions)} actions but the annotations give"
            f" {len(actions)}; first difference at action id {differ}",
            key="actions",
        )


def save_converted(out_dir: Path, checkpoint: ConvertedCheckpoint, state: Mapping[str, torch.Tensor]) -> None:
    """Write the folder atomically: a killed job leaves no half-converted model behind."""
    from safetensors.torch import save_file

    with atomic_dir(out_dir) as staging:
        save_file({key: value.contiguous() for key, value in state.items()}, str(staging / WEIGHTS_FILE))
        write_json(staging / CONFIG_FILE, checkpoint.to_dict())


def read_converted_config(model_dir: Path) -> ConvertedCheckpoint:
    path = Path(model_dir) / CONFIG_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return ConvertedCheckpoint(
            name=document["name"],
            architecture=Architecture.from_dict(document["architecture"]),
            actions=tuple(document["actions"]),
            source=document["source"],
        )
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read the converted specialist's config ({exc})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(path, f"not a converted specialist config ({exc!r})") from exc


def load_converted(
    model_dir: Path, device: torch.device | str = "cpu"
) -> tuple[nn.Module, ConvertedCheckpoint]:
    """The model in eval mode on ``device``, loaded strictly, and its config."""
    from safetensors.torch import load_file

    checkpoint = read_converted_config(model_dir)
    weights = Path(model_dir) / WEIGHTS_FILE
    try:
        state = load_file(str(weights), device=str(device))
    except (OSError, RuntimeError) as exc:
        raise InputError(weights, f"cannot read the converted weights ({exc})") from exc
    with torch.device("meta"):
        model = build_model(checkpoint.architecture)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise InputError(weights, f"does not fit {checkpoint.architecture}: {exc}") from exc
    return model.eval(), checkpoint
