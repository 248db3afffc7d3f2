"""Same inputs, same bytes: the settings every job that trains or runs a model computes under.

A float sum depends on the order its terms are added in. On a CPU that order follows how many
threads split the work, so a job's thread count is part of its definition: the rules pass a
fixed one from the config, never what the scheduler granted. On a GPU some kernels add in the
order their threads finish unless torch is told to choose deterministic ones. Seeds make the
rest (the initialisation of new weights, data order) a function of the configuration.
"""

from __future__ import annotations

import os

#: cuBLAS is deterministic only with a fixed workspace, which it reads when CUDA starts.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


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
