"""Where the base model's own pretraining stages run: the GPU when there is one."""

from __future__ import annotations

import torch


def training_device() -> torch.device:
    """The GPU when there is one. Callers build their weights on the CPU first and move them, so
    both devices start from the same seeded model."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
