"""How fast a released architecture runs on this machine, on random weights: clips per second.

The check to run on a GPU node before scoring EK100 (``actionmqa specialist speed``): the model
alone at its real input size (16 x 224 x 224 for the released ones) for a few batch sizes, and
the hours that projects for EK100 validation and train. Decoding is not included: it runs in
parallel worker processes during scoring.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import torch

from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.checkpoint import build_model
from actionmqa.specialist.released.settings import InferenceConfig

#: Clips of EK100's validation and train splits.
EK100_CLIPS = {"validation": 9668, "train": 67217}


def measure_speed(
    arch: Architecture, batch_sizes: Sequence[int], config: InferenceConfig, repeats: int = 5
) -> dict[str, Any]:
    """``{"device", "dtype", "runs": [{batch_size, clips_per_s, peak_memory_gib, hours}]}``."""
    device = config.torch_device()
    dtype = config.autocast_dtype(device)
    torch.manual_seed(0)
    model = build_model(arch).to(device).eval()
    runs = []
    for batch_size in batch_sizes:
        video = torch.randn(batch_size, arch.frames, 3, arch.image_size, arch.image_size, device=device)
        autocast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with torch.inference_mode(), autocast:
            model(video)  # warm-up: kernels, allocator
            _synchronize(device)
            started = time.perf_counter()
            for _ in range(repeats):
                model(video)
            _synchronize(device)
        clips_per_s = batch_size * repeats / (time.perf_counter() - started)
        runs.append(
            {
                "batch_size": batch_size,
                "clips_per_s": clips_per_s,
                "peak_memory_gib": (
                    torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
                ),
                "hours": {split: n / clips_per_s / 3600 for split, n in EK100_CLIPS.items()},
            }
        )
    return {
        "architecture": arch.to_dict(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "dtype": str(dtype or torch.float32),
        "repeats": repeats,
        "runs": runs,
    }


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
