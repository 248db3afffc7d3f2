"""What a released video classifier is: its family and sizes, as one serialisable record.

The released files do not record their architecture (AVION's fine-tune ``args`` omit it, and the
head count cannot be read from weights), so each known release states it (``zoo``) and a
converted checkpoint stores it beside its weights (``config.json``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Family = Literal["avion_vit", "lavila_timesformer"]
FAMILIES: tuple[Family, ...] = ("avion_vit", "lavila_timesformer")


@dataclass(frozen=True)
class Architecture:
    """Sizes of one model. ``heads_out`` are its classifier heads in the release's order."""

    family: Family
    width: int
    layers: int
    heads: int
    patch: int
    image_size: int = 224
    frames: int = 16
    n_actions: int = 3806
    #: LaViLa's multi-head model also classifies verbs and nouns directly (97 and 300 on EK100).
    n_verbs: int | None = None
    n_nouns: int | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r} (expected one of {FAMILIES})")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by {self.heads} heads")
        if self.image_size % self.patch:
            raise ValueError(f"image size {self.image_size} is not a multiple of the patch size {self.patch}")
        if (self.n_verbs is None) != (self.n_nouns is None):
            raise ValueError("n_verbs and n_nouns go together (a multi-head model has both)")

    @property
    def tokens_per_frame(self) -> int:
        return (self.image_size // self.patch) ** 2

    @property
    def heads_out(self) -> tuple[str, ...]:
        """Classifier heads in the release's order: ``action``, or ``verb, noun, action``."""
        return ("action",) if self.n_verbs is None else ("verb", "noun", "action")

    def head_size(self, head: str) -> int:
        return {"verb": self.n_verbs, "noun": self.n_nouns, "action": self.n_actions}[head]  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Architecture:
        return cls(**values)
