"""Topology and the global batch: accumulation steps, SLURM resources, launch commands, the node launcher."""

from __future__ import annotations

import pytest

from actionmqa.train import nodes
from actionmqa.train.launch import World
from actionmqa.train.topology import BatchSplitError, Topology, accumulation_steps


@pytest.mark.parametrize(
    ("global_batch", "processes", "per_device", "steps"),
    [
        (256, 128, 1, 2),  # the paper: 32 nodes x 4 GPUs x 1 x 2 (spec/llavaction.md §4)
        (256, 64, 1, 4),  # half the nodes: twice the accumulation, the same optimizer steps
        (256, 4, 1, 64),  # one 4-GPU node
        (256, 256, 1, 1),
        (16, 1, 16, 1),  # the toy demo: one CPU process, 16 per step
    ],
)
def test_accumulation_is_the_global_batch_over_processes_and_per_device_batch(
    global_batch, processes, per_device, steps
):
    assert accumulation_steps(global_batch, processes, per_device) == steps


@pytest.mark.parametrize(
    ("global_batch", "processes", "per_device"), [(256, 12, 1), (256, 128, 4), (8, 4, 4)]
)
def test_an_inexact_split_is_an_error_naming_the_three_numbers(global_batch, processes, per_device):
    with pytest.raises(BatchSplitError) as caught:
        accumulation_steps(global_batch, processes, per_device)
    message = str(caught.value)
    assert f"global_batch_size {global_batch} " in message
    assert f"{processes} processes" in message
    assert f"per_device_train_batch_size {per_device} = {processes * per_device} samples" in message


def test_a_model_entry_states_its_topology():
    paper = Topology.of_model({"finetune": "llava_video_7b", "nodes": 32, "gpus_per_node": 4})
    assert (paper.world_size, paper.processes_per_node, paper.on_gpu) == (128, 4, True)
    assert paper.describe() == "32 nodes x 4 GPUs"
    cpu = Topology.of_model({"finetune": "base", "cpu_processes_per_node": 4})
    assert (cpu.world_size, cpu.on_gpu, cpu.describe()) == (4, False, "1 node x 4 CPU processes")
    assert Topology.of_model({"build": "toy_base"}).describe() == "1 node x 1 CPU process"


def test_slurm_resources_follow_the_executors_rules():
    """spec/multinode.md §2: GPUs per node as gres; several nodes get mpi, one task each, and
    tasks_per_gpu 0 (else tasks becomes --ntasks-per-gpu); one node gets no mpi (tasks=1 is refused)."""
    assert Topology(nodes=32, gpus_per_node=4).slurm_resources() == {
        "nodes": 32,
        "gres": "gpu:4",
        "mpi": "srun",
        "tasks": 32,
        "tasks_per_gpu": 0,
    }
    assert Topology(gpus_per_node=4).slurm_resources() == {"nodes": 1, "gres": "gpu:4"}
    assert Topology(cpu_processes_per_node=4).slurm_resources() == {}
    assert Topology(nodes=2, cpu_processes_per_node=2).slurm_resources() == {
        "nodes": 2,
        "mpi": "srun",
        "tasks": 2,
        "tasks_per_gpu": 0,
    }


def test_the_launcher_of_each_topology():
    check = ["--nodes", "1", "--processes-per-node", "1"]
    assert Topology().launcher() == ["python", "-m", "actionmqa", "train", "run", *check]
    assert Topology(gpus_per_node=1).launcher() == [
        *("torchrun", "--standalone", "--nproc_per_node", "1", "-m", "actionmqa", "train", "run"),
        *check,
    ]
    assert Topology(cpu_processes_per_node=4).launcher()[:4] == [
        "torchrun",
        "--standalone",
        "--nproc_per_node",
        "4",
    ]
    assert Topology(nodes=2, gpus_per_node=4).launcher(step="srun --mpi=none") == [
        *("srun", "--mpi=none", "--nodes", "2", "--ntasks-per-node", "1", "--kill-on-bad-exit=1"),
        *("python", "-m", "actionmqa", "train", "launch-node", "--nproc-per-node", "4", "--"),
        *("--nodes", "2", "--processes-per-node", "4"),
    ]


def test_world_reads_torchruns_variables(monkeypatch):
    for name, value in {
        "RANK": "3",
        "WORLD_SIZE": "4",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
        "GROUP_WORLD_SIZE": "2",
        "SLURMD_NODENAME": "n2",
    }.items():
        monkeypatch.setenv(name, value)
    world = World.from_env()
    assert world.describe() == "rank 3 of 4 (local rank 1 of 2) on node n2"
    assert world.mismatch(2, 2) is None
    assert world.mismatch(2, 4) == (
        "the job was planned for 2 node(s) x 4 processes, but was started on 2 node(s) x 2 processes"
        " (world size 4)"
    )


SLURM_TASK = {
    "SLURM_JOB_ID": "123",
    "SLURM_JOB_NODELIST": "n[1-2]",
    "SLURM_NNODES": "2",
    "SLURM_NODEID": "1",
    "SLURMD_NODENAME": "n2",
}
# what `scontrol` answers on the two-node test cluster (tests/slurm/cluster.sh)
SCONTROL = {
    ("show", "hostnames", "n[1-2]"): "n1\nn2\n",
    ("-o", "show", "node", "n1"): "NodeName=n1 Arch=x86_64 CoresPerSocket=1 CPUAlloc=16 NodeAddr=127.0.0.1"
    " NodeHostName=localhost Port=17001 State=ALLOCATED\n",
}


def test_each_node_joins_the_rendezvous_at_the_head_nodes_address(monkeypatch):
    monkeypatch.setattr(nodes, "scontrol", lambda *args: SCONTROL[args])
    launch = nodes.NodeLaunch.from_slurm(2, SLURM_TASK)
    assert (launch.head, launch.head_address, launch.endpoint) == ("n1", "127.0.0.1", "127.0.0.1:20123")
    command = launch.torchrun(["--base", "b"])
    assert command[1:] == [
        *("-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "2"),
        *("--rdzv_backend", "c10d", "--rdzv_endpoint", "127.0.0.1:20123", "--rdzv_id", "123"),
        *("-m", "actionmqa", "train", "run", "--base", "b"),
    ]
    assert launch.describe() == (
        "node n2 (2 of 2 in SLURM job 123): 2 processes, c10d rendezvous at 127.0.0.1:20123 (head node n1)"
    )


def test_outside_a_slurm_task_the_node_launcher_says_what_is_missing():
    with pytest.raises(
        nodes.SlurmTaskError, match="SLURM_JOB_NODELIST is not set: launch-node runs as a task"
    ):
        nodes.NodeLaunch.from_slurm(2, {"SLURM_JOB_ID": "1"})


def test_rendezvous_ports_differ_between_jobs_and_stay_below_the_ephemeral_range():
    assert nodes.rendezvous_port("123") != nodes.rendezvous_port("124")
    assert {nodes.rendezvous_port(str(job)) for job in (0, 9999, 10000, 123456789)} <= set(
        range(20000, 30000)
    )
