"""The process environment a training run needs, whether torchrun started it or not.

The Snakemake rule starts ``actionmqa train run`` as its model's topology says
(``actionmqa.train.topology``): plain ``python`` for one CPU process, ``torchrun --standalone``
on one node, one torchrun per node with c10d rendezvous on several. DeepSpeed reads its rank and
rendezvous from torchrun's variables, so a plain ``actionmqa train run`` gets the single-process
values.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
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


@dataclass(frozen=True)
class World:
    """This process's place among the run's processes, as torchrun (or ``ensure_process_group_env``) set it.

    ``nodes`` counts torchrun agents (one per node); ``node`` is SLURM's name for this node
    (``SLURMD_NODENAME``: two test "nodes" can share one host name) or else the host name.
    """

    rank: int
    size: int
    local_rank: int
    local_size: int
    nodes: int
    node: str

    @classmethod
    def from_env(cls) -> World:
        env = os.environ
        return cls(
            rank=int(env["RANK"]),
            size=int(env["WORLD_SIZE"]),
            local_rank=int(env.get("LOCAL_RANK", "0")),
            local_size=int(env.get("LOCAL_WORLD_SIZE", "1")),
            nodes=int(env.get("GROUP_WORLD_SIZE", "1")),
            node=env.get("SLURMD_NODENAME") or socket.gethostname(),
        )

    def describe(self) -> str:
        """``rank 2 of 4 (local rank 0 of 2) on node n2``: one line per process in the log."""
        return (
            f"rank {self.rank} of {self.size} (local rank {self.local_rank} of {self.local_size})"
            f" on node {self.node}"
        )

    def mismatch(self, nodes: int, processes_per_node: int) -> str | None:
        """What differs from the planned topology, or ``None`` when the launch matches it."""
        if (self.nodes, self.local_size) == (nodes, processes_per_node):
            return None
        return (
            f"the job was planned for {nodes} node(s) x {processes_per_node} processes, but was"
            f" started on {self.nodes} node(s) x {self.local_size} processes (world size {self.size})"
        )


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


def join_deepspeed_to_process_group() -> None:
    """Make DeepSpeed's communicator use the process group the Trainer started.

    On a CPU the Trainer starts torch.distributed itself (gloo, no DeepSpeed), so DeepSpeed's own
    communicator stays uninitialised and counts a world of one; ZeRO-3's partitioned load
    (``deepspeed.zero.Init`` inside ``from_pretrained``) then finds the global batch inconsistent
    with the accumulation steps of several processes. On a GPU the Trainer starts it through
    DeepSpeed, and this does nothing.
    """
    import deepspeed
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and not deepspeed.comm.is_initialized():
        deepspeed.init_distributed(dist_backend=dist.get_backend())


def end_process_group() -> None:
    """Wait for every process, then tear torch.distributed down before the interpreter exits.

    Left to the interpreter's own teardown, a gloo group can abort a process whose communication
    threads are still joinable ("terminate called without an active exception", SIGABRT): a CPU
    run of two processes failed so under load after saving its final model.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
