"""How a released specialist runs: batch, decode workers, device and precision (no torch at import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class InferenceConfig:
    """``device`` ``auto`` takes the GPU when there is one; precision ``auto`` is fp16 autocast
    on a GPU (as AVION evaluates; LaViLa evaluates in fp32 unless ``--use-half``) and fp32 on a
    CPU. Use ``fp32`` to compare with LaViLa's numbers without a precision difference."""

    batch_size: int = 8
    workers: int = 0
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: expected one of {PRECISIONS}")
        if self.batch_size < 1 or self.workers < 0:
            raise ValueError(
                f"batch size {self.batch_size} and workers {self.workers}: expected >= 1 and >= 0"
            )

    def torch_device(self) -> torch.device:
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def autocast_dtype(self, device: torch.device) -> torch.dtype | None:
        """The autocast dtype, or None for plain fp32."""
        import torch

        precision = self.precision
        if precision == "auto":
            precision = "fp16" if device.type == "cuda" else "fp32"
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
