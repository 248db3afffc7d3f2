"""Same inputs, same bytes: the settings every job that trains or runs a model computes under.

A float sum depends on the order its terms are added in. On a CPU that order follows how many
threads split the work, so a job's thread count is part of its definition: the rules pass a
fixed one from the config, never what the scheduler granted. On a GPU some kernels add in the
order their threads finish unless torch is told to choose deterministic ones. Seeds make the
rest (the initialisation of new weights, data order) a function of the configuration.

The numeric libraries also choose their kernels by what the CPU offers, and kernels for another
instruction set add in another order: OpenBLAS's SkylakeX kernels gave scikit-learn's specialist
fits (and so the distractors) other rankings than its Haswell ones, torch's AVX-512 kernels other
weights than its AVX2 ones, and the demo's tables moved by several points between two machines.
``pin_cpu_code_paths`` holds every library to its AVX2 path wherever the CPU has AVX2 (x86 since
2013), before any of them is loaded.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

#: cuBLAS is deterministic only with a fixed workspace, which it reads when CUDA starts.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"

#: Each library's switch to its AVX2 code path, read once when the library loads or first computes.
AVX2_CODE_PATHS: dict[str, str] = {
    # torch's vectorised CPU kernels (softmax, norms, element-wise ops, reductions)
    "ATEN_CPU_CAPABILITY": "avx2",
    # MKL, torch's matrix products: conditional numerical reproducibility, alignment-independent
    "MKL_CBWR": "AVX2,STRICT",
    # oneDNN, torch's convolutions
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    # OpenBLAS, the BLAS of NumPy and scikit-learn
    "OPENBLAS_CORETYPE": "Haswell",
}

#: CPU flags every AVX2 path above needs (OpenBLAS's Haswell kernels also use FMA3).
AVX2_FLAGS = frozenset({"avx2", "fma"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them; empty where there is no such file (macOS, ARM)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def pin_cpu_code_paths(
    environ: MutableMapping[str, str] = os.environ, flags: frozenset[str] | None = None
) -> dict[str, str]:
    """Set ``AVX2_CODE_PATHS`` in ``environ`` where the CPU has AVX2; returns what it set.

    Call it before torch, NumPy or scikit-learn is imported: they read these when they load. A
    variable already set is the user's choice and stays. Without AVX2 nothing is set (forcing a
    path the CPU lacks would crash), and results may differ from an AVX2 machine's.
    """
    if not AVX2_FLAGS <= (cpu_flags() if flags is None else flags):
        return {}
    pinned = {name: value for name, value in AVX2_CODE_PATHS.items() if name not in environ}
    environ.update(pinned)
    return pinned


def compute_deterministically(seed: int | None = None, threads: int | None = None) -> None:
    """Deterministic kernels, ``threads`` CPU threads (None: ``OMP_NUM_THREADS`` decides), and
    every RNG (Python, NumPy, torch, CUDA) seeded with ``seed`` when given. Call it first.

    On a CPU an operation without a deterministic kernel is an error; on a GPU a warning, since
    some (attention backward) have none and a long training job should not die for the last bit.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
    torch.backends.cudnn.benchmark = False
    if seed is not None:
        from transformers import set_seed

        set_seed(seed)
