"""Which processes train a model, how the global batch splits over them, and how they are started.

The paper states its batch as a global 256: 32 nodes x 4 GPUs x 1 sample per device x 2
accumulation steps (spec/llavaction.md §4). Here a model states its topology (``nodes`` and
``gpus_per_node``; on a CPU, ``cpu_processes_per_node`` gloo processes per node) and its recipe
states the global batch and the per-device batch, so the accumulation steps follow. Every
topology whose processes x per-device batch divides the global batch trains the same recipe in
the same number of optimizer steps; more processes only make each step shorter.

One node runs ``torchrun --standalone`` (or plain ``python`` for one CPU process). Several nodes
are one SLURM job: its shell starts one ``srun`` task per node, and each task runs
``actionmqa train launch-node`` (``actionmqa.train.nodes``), which starts that node's torchrun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class BatchSplitError(ValueError):
    """The global batch is not a whole number of (processes x per-device batch)."""


def accumulation_steps(global_batch_size: int, processes: int, per_device_batch_size: int) -> int:
    """Gradient accumulation steps: ``global / (processes x per_device)``, which must be whole."""
    micro_batch = processes * per_device_batch_size
    steps, remainder = divmod(global_batch_size, micro_batch)
    if remainder or steps == 0:
        raise BatchSplitError(
            f"global_batch_size {global_batch_size} is not a whole multiple of {processes} processes"
            f" x per_device_train_batch_size {per_device_batch_size} = {micro_batch} samples per"
            " micro-batch step; change the topology or the recipe so that it divides"
        )
    return steps


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"


@dataclass(frozen=True)
class Topology:
    """A training job's processes: ``nodes`` x one process per GPU, or per-node CPU processes (gloo)."""

    nodes: int = 1
    gpus_per_node: int = 0
    cpu_processes_per_node: int = 1

    def __post_init__(self) -> None:
        if self.nodes < 1 or self.gpus_per_node < 0 or self.cpu_processes_per_node < 1:
            raise ValueError(f"not a topology: {self}")

    @classmethod
    def of_model(cls, spec: dict[str, Any]) -> Topology:
        """The topology a model entry of the workflow config states (schema defaults: one CPU process)."""
        return cls(
            nodes=spec.get("nodes", 1),
            gpus_per_node=spec.get("gpus_per_node", 0),
            cpu_processes_per_node=spec.get("cpu_processes_per_node", 1),
        )

    @property
    def on_gpu(self) -> bool:
        return self.gpus_per_node > 0

    @property
    def processes_per_node(self) -> int:
        return self.gpus_per_node if self.on_gpu else self.cpu_processes_per_node

    @property
    def world_size(self) -> int:
        return self.nodes * self.processes_per_node

    def describe(self) -> str:
        """``"32 nodes x 4 GPUs"``, ``"1 node x 4 CPU processes"``."""
        per_node = (
            _count(self.gpus_per_node, "GPU")
            if self.on_gpu
            else _count(self.cpu_processes_per_node, "CPU process")
        )
        return f"{_count(self.nodes, 'node')} x {per_node}"

    def slurm_resources(self) -> dict[str, int | str]:
        """The Snakemake resources the SLURM executor turns into this job's allocation (spec/multinode.md §2).

        GPUs are asked per node (``--gres=gpu:G``, even across nodes by construction; ``--gpus``
        is a job total that may split unevenly). Several nodes get one task each (``mpi`` makes the
        executor run the rule's shell in the batch script, where the rule starts its own ``srun``
        step); ``tasks_per_gpu: 0`` keeps the executor from turning ``tasks`` into
        ``--ntasks-per-gpu``. One CPU node needs nothing beyond the rule's threads.
        """
        resources: dict[str, int | str] = {}
        if self.on_gpu:
            resources |= {"nodes": self.nodes, "gres": f"gpu:{self.gpus_per_node}"}
        if self.nodes > 1:
            resources |= {"nodes": self.nodes, "mpi": "srun", "tasks": self.nodes, "tasks_per_gpu": 0}
        return resources

    def launcher(self, step: str = "srun") -> list[str]:
        """The command that starts ``actionmqa train run`` on this topology; its arguments follow.

        ``step`` starts the per-node tasks of a multi-node job (the rule's ``mpi`` resource).
        """
        check = ["--nodes", str(self.nodes), "--processes-per-node", str(self.processes_per_node)]
        if self.nodes > 1:
            return [
                *step.split(),
                *("--nodes", str(self.nodes), "--ntasks-per-node", "1", "--kill-on-bad-exit=1"),
                *("python", "-m", "actionmqa", "train", "launch-node"),
                *("--nproc-per-node", str(self.processes_per_node), "--"),
                *check,
            ]
        if self.world_size == 1 and not self.on_gpu:
            return ["python", "-m", "actionmqa", "train", "run", *check]
        return [
            *("torchrun", "--standalone", "--nproc_per_node", str(self.processes_per_node)),
            *("-m", "actionmqa", "train", "run"),
            *check,
        ]
