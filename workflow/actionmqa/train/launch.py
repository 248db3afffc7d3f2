"""The process environment a training run needs, whether torchrun started it or not.

The Snakemake rule launches ``torchrun --standalone --nproc_per_node {gpus} -m actionmqa train
run ...`` (one process per GPU; one process on a CPU). DeepSpeed reads its rank and rendezvous
from torchrun's variables, so a plain ``actionmqa train run`` gets the single-process values.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_process_group_env() -> None:
    """Set torchrun's variables for a world of one when no launcher did."""
    if "RANK" in os.environ:
        return
    os.environ.update(
        RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port())
    )


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def prepare_deepspeed(extensions_dir: Path) -> None:
    """Keep DeepSpeed's JIT builds in a project cache, and on a CPU let gloo do the all-reduce.

    On a CPU, DeepSpeed compiles a shared-memory all-reduce kernel on first use (minutes of
    g++ per fresh cache). The CPU path is the demo and the tests, where gloo is fast enough, so
    the kernel is marked unavailable and DeepSpeed falls back to torch.distributed's gloo.
    """
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path(extensions_dir).resolve()))
    import torch

    if torch.cuda.is_available():
        return
    import deepspeed.ops

    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
