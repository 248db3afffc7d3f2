"""The knobs of a toy world; everything else follows from them and the seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from actionmqa.errors import InputError


@dataclass(frozen=True)
class WorldConfig:
    """Size and seed of a generated world. Two worlds with equal configs are byte-identical.

    ``n_train`` / ``n_val`` count annotated segments; ``size`` is the square frame side in pixels
    (even, for 4:2:0 chroma); ``n_unseen`` participants appear in validation only.
    """

    seed: int = 0
    n_train: int = 1000
    n_val: int = 250
    size: int = 64
    fps: int = 30
    n_participants: int = 12
    n_unseen: int = 2

    def __post_init__(self) -> None:
        problems = []
        if self.n_train < 1 or self.n_val < 1:
            problems.append("n_train and n_val must be at least 1")
        if self.size < 16 or self.size % 2:
            problems.append(f"size must be even and at least 16, got {self.size}")
        if not 1 <= self.fps <= 120:
            problems.append(f"fps must be in [1, 120], got {self.fps}")
        if not 0 <= self.n_unseen < self.n_participants <= 99:
            problems.append("need 0 <= n_unseen < n_participants <= 99")
        if self.n_val < self.n_unseen:
            problems.append(f"n_val ({self.n_val}) must cover the {self.n_unseen} unseen participants")
        if problems:
            raise InputError(None, "invalid toy world config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
