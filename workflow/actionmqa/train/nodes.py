"""``actionmqa train launch-node``: the start of one node of a multi-node training job.

A multi-node job is one SLURM allocation whose shell runs ``srun --nodes N --ntasks-per-node 1
python -m actionmqa train launch-node --nproc-per-node P -- ARGS``. Each of the N tasks finds
the job's head node, the first host of the allocation resolved to its ``NodeAddr`` (where node
names do not resolve as host names, that is the address slurmd listens on), and replaces itself
with ``torchrun`` using c10d rendezvous there, so the N agents form one group of N x P
``actionmqa train run ARGS`` processes. The rule's shell cannot do this itself: the executor's
job step removes the allocation's SLURM variables from its environment, and inside the srun task
they are set again (spec/multinode.md §3-4).

c10d hands out group ranks in the order agents arrive, so global rank 0 may run on any node:
nothing assumes that a node's place in the allocation is its rank.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Rendezvous ports are 20000-29999, picked by job id: two jobs sharing a head node do not collide,
#: and every node of one job computes the same port without talking to the others.
PORT_BASE, PORT_SPAN = 20000, 10000


class SlurmTaskError(RuntimeError):
    """Not inside a SLURM task of a job, or SLURM could not say where the job's nodes are."""


def scontrol(*args: str) -> str:
    try:
        done = subprocess.run(["scontrol", *args], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise SlurmTaskError(f"scontrol {' '.join(args)} failed: {detail}") from exc
    return done.stdout


def node_address(node: str) -> str:
    """The address slurmd of ``node`` listens on (``NodeAddr``; the node name when none is set)."""
    found = re.search(r"\bNodeAddr=(\S+)", scontrol("-o", "show", "node", node))
    if found is None:
        raise SlurmTaskError(f"scontrol show node {node} gives no NodeAddr")
    return found.group(1)


def rendezvous_port(job_id: str) -> int:
    return PORT_BASE + int(job_id) % PORT_SPAN


@dataclass(frozen=True)
class NodeLaunch:
    """What one node's task starts: its torchrun, joining the job's rendezvous."""

    job_id: str
    nodes: int
    node_index: int
    node: str
    head: str
    head_address: str
    processes_per_node: int

    @classmethod
    def from_slurm(cls, processes_per_node: int, env: Mapping[str, str] = os.environ) -> NodeLaunch:
        try:
            job_id, nodelist = env["SLURM_JOB_ID"], env["SLURM_JOB_NODELIST"]
            nodes, node_index = int(env["SLURM_NNODES"]), int(env["SLURM_NODEID"])
        except KeyError as exc:
            raise SlurmTaskError(
                f"{exc.args[0]} is not set: launch-node runs as a task of a SLURM job step"
                " (srun --ntasks-per-node 1 inside the job)"
            ) from None
        head = scontrol("show", "hostnames", nodelist).split()[0]
        return cls(
            job_id=job_id,
            nodes=nodes,
            node_index=node_index,
            node=env.get("SLURMD_NODENAME", "?"),
            head=head,
            head_address=node_address(head),
            processes_per_node=processes_per_node,
        )

    @property
    def endpoint(self) -> str:
        return f"{self.head_address}:{rendezvous_port(self.job_id)}"

    def torchrun(self, train_args: Sequence[str]) -> list[str]:
        """``python -m torch.distributed.run ... -m actionmqa train run ARGS`` for this node."""
        return [
            *(sys.executable, "-m", "torch.distributed.run"),
            *("--nnodes", str(self.nodes), "--nproc_per_node", str(self.processes_per_node)),
            *("--rdzv_backend", "c10d", "--rdzv_endpoint", self.endpoint, "--rdzv_id", self.job_id),
            *("-m", "actionmqa", "train", "run", *train_args),
        ]

    def describe(self) -> str:
        return (
            f"node {self.node} ({self.node_index + 1} of {self.nodes} in SLURM job {self.job_id}):"
            f" {self.processes_per_node} processes, c10d rendezvous at {self.endpoint}"
            f" (head node {self.head})"
        )


def launch_node(processes_per_node: int, train_args: Sequence[str]) -> None:
    """Become this node's torchrun (``exec``: srun's signals and the exit status reach it directly)."""
    launch = NodeLaunch.from_slurm(processes_per_node)
    log.info("%s", launch.describe())
    command = launch.torchrun(train_args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
