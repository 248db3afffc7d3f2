"""The SLURM profile against a real scheduler: single-node jobs, a two-node fine-tune, a time limit.

tests/slurm/cluster.sh starts a two-node SLURM (Debian's slurmctld and two slurmd on this host,
munge, loopback only, no accounting database) whose nodes have partitions ``cpu`` and ``gpu`` and
fake h100 GPUs, in a mount namespace of its own. The demo workflow then runs through
config/profiles/slurm, unchanged, on a small toy world: the stages before training, the base
model's training and one EK100-MQA evaluation on one GPU each, and the LLaVAction fine-tune on
two nodes x two GPUs (gloo on the CPU: the fake GPUs only make SLURM grant them) beside the same
fine-tune on one node of four CPU processes. A second run gives a fine-tune a time limit it
cannot finish within. `.ci/install` installs the packages (as root with apt-get); elsewhere this
module skips.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

from actionmqa.train.history import read_job_events
from actionmqa.train.losscurve import read_loss_curve
from slurm_cluster import Cluster, profile_set_resources, unavailable
from workflow_helpers import REPO, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

PROFILE = REPO / "config" / "profiles" / "slurm"
RUN_LIMIT_S = 1500  # a few minutes normally; generous for a loaded 2-core machine

# A cluster without accounting (no slurmdbd) needs exactly these on top of the profile:
NO_ACCOUNTING = (
    # sacct, the plugin's default status command, fails without slurmdbd and the plugin then
    # waits forever; squeue sees jobs for MinJobAge (cluster.sh: an hour).
    "--slurm-status-command",
    "squeue",
    # the default first status check comes after 40 s, per DAG level: only speed
    "--slurm-init-seconds-before-status-checks",
    "2",
    # one shared filesystem here: no need for the profile's 60 s
    "--latency-wait",
    "5",
)
# Not about SLURM: the profile deploys each rule's conda env from envs/ (--sdm conda), and a CI
# machine has no conda; the venv running the tests has every dependency already. --sdm takes
# one or more methods (no "none"), so the test names env-modules, which does nothing here: no
# rule has an `envmodules:` directive.
NO_CONDA = ("--sdm=env-modules",)  # "=": the option takes several values, not the targets

SMALL_WORLD = """\
toyworld: {n_train: 120, n_val: 20}
specialist: {folds: 3}
# the toy base, each stage cut to seconds; its training (train_model) runs on one GPU
toy_base:
  {vision_steps: 2, vision_batch_size: 4, language_steps: 2, language_batch_size: 4, recipe: tiny_base.yaml}
models:
  base: {build: toy_base, gpus_per_node: 1}
  # one SLURM job on two nodes x two GPUs: an srun task per node, each starting torchrun
  llavaction: {finetune: base, recipe: tiny_finetune.yaml, nodes: 2, gpus_per_node: 2}
  # the same global batch on one node of four CPU processes: the reference of the losses
  llavaction_one_node: {finetune: base, recipe: tiny_finetune.yaml, cpu_processes_per_node: 4}
  # two nodes again, trained by the second run under a time limit too short for it
  llavaction_time_limited: {finetune: base, recipe: tiny_time_limited.yaml, nodes: 2, gpus_per_node: 2}
evaluate: {models: [base], gpus: 1, max_new_tokens: 4}
"""
FINETUNE_STEPS, GLOBAL_BATCH = 10, 8
# "Job 19 has been submitted with SLURM jobid 22 (log: .../slurm_logs/rule_train_model/toy_base/22.log)."
SUBMITTED = re.compile(
    r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/(?:([^/\s]*)/)?\d+\.log"
)
# The stages before training (``all`` also trains and evaluates every demo model: too much here).
STAGES = ("data", "specialist", "benchmark", "sft")
EVAL_TARGET = "results/toy/eval/base/ek100_mqa_random_2f.json"
FINETUNES = ("results/toy/models/llavaction", "results/toy/models/llavaction_one_node")
# jobs by (rule, wildcards) that must hold GPUs, and how SLURM records them: --gpus (a job total)
# for the evaluation, gres per node for training (its topology)
GPU_JOBS = {
    ("eval_mqa", "toy_base_2"): ("TresPerJob", "gres:gpu:h100:1", 1),
    ("train_model", "toy_base"): ("TresPerNode", "gres:gpu:1", 1),
    ("train_model", "toy_llavaction"): ("TresPerNode", "gres:gpu:2", 2),
}


@pytest.fixture(scope="module")
def cluster(request):
    """A started cluster; stopped, daemon by recorded PID, and its namespace ended at the end."""
    if reason := unavailable():
        pytest.skip(reason)
    # Under /tmp, not pytest's 0700 tmp_path: user munge must reach its socket and key.
    root = Path(tempfile.mkdtemp(prefix="actionmqa-slurm-"))
    root.chmod(0o755)
    cluster = Cluster(root)

    def stop():
        try:
            stopped = cluster.script("stop")
            assert stopped.returncode == 0, stopped.stderr
        finally:
            shutil.rmtree(root, ignore_errors=True)

    request.addfinalizer(stop)  # before start: a half-started cluster is stopped too
    started = cluster.script("start")
    assert started.returncode == 0, f"cluster.sh start failed:\n{started.stdout}\n{started.stderr}"
    return cluster


def recipe_file(workdir: Path, name: str, base: str, **changes: object) -> None:
    recipe = yaml.safe_load((REPO / "config" / "train" / base).read_text())
    recipe.update(changes)
    (workdir / name).write_text(yaml.safe_dump(recipe))


def run_workflow(cluster: Cluster, workdir: Path, *args: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """Snakemake through the profile inside the cluster's namespace; returns its output and the
    SLURM jobs it submitted, by id: (rule, wildcards)."""
    result = snakemake(
        workdir,
        "--profile",
        str(PROFILE),
        *NO_ACCOUNTING,
        *NO_CONDA,
        *args,
        configfiles=("config/config.yaml", workdir / "small.yaml"),
        # SIGTERM alone may not end it
        prefix=cluster.command("timeout", "-k", "10", str(RUN_LIMIT_S)),
        timeout=RUN_LIMIT_S + 60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"snakemake exited {result.returncode}:\n{output[-6000:]}\n"
        f"slurmctld.log:\n{cluster.tail('slurmctld.log')}"
    )
    return output, {job: (rule, wildcards) for job, rule, wildcards in SUBMITTED.findall(output)}


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The demo workflow through the unchanged SLURM profile; returns (workdir, output, jobs)."""
    workdir = tmp_path_factory.mktemp("slurm_run")
    (workdir / "small.yaml").write_text(SMALL_WORLD)
    recipe_file(
        workdir,
        "tiny_base.yaml",
        "toy_base.yaml",
        max_steps=2,
        save_steps=2,
        logging_steps=1,
        global_batch_size=4,
        per_device_train_batch_size=4,
    )
    finetune = {"global_batch_size": GLOBAL_BATCH, "per_device_train_batch_size": 1, "logging_steps": 1}
    recipe_file(
        workdir,
        "tiny_finetune.yaml",
        "toy_llavaction.yaml",
        max_steps=FINETUNE_STEPS,
        save_steps=5,
        **finetune,
    )
    # two steps; the reserve before the time limit (2 minutes, given by the second run) exceeds
    # what is left once a job has started, so each job stops after its first step
    recipe_file(
        workdir,
        "tiny_time_limited.yaml",
        "toy_llavaction.yaml",
        max_steps=2,
        save_steps=100,
        time_limit_reserve_s=110,
        **finetune,
    )
    output, jobs = run_workflow(cluster, workdir, *STAGES, EVAL_TARGET, *FINETUNES)
    return workdir, output, jobs


def test_workflow_outputs_exist(slurm_run):
    workdir, _, _ = slurm_run
    results = workdir / "results" / "toy"
    for relative in (
        "data/report.json",
        "specialist/metrics.json",
        "mqa/validation_hard.jsonl",
        "sft/train.jsonl",
        "benchmarks/manifest.json",
        "models/base/training.json",
        "train/base/loss.csv",
        "eval/base/ek100_mqa_random_2f.json",
        "models/llavaction/training.json",
        "models/llavaction_one_node/training.json",
    ):
        assert (results / relative).is_file(), relative


def test_every_rule_job_was_a_slurm_job(slurm_run):
    _, output, jobs = slurm_run
    ran = Counter(re.findall(r"^rule (\w+):$", output, flags=re.MULTILINE))  # local ones: "localrule"
    submitted = [line for line in output.splitlines() if "submitted with SLURM" in line]
    assert ran and Counter(rule for rule, _ in jobs.values()) == ran, "\n".join(submitted)
    assert {rule for rule, _ in GPU_JOBS} <= set(ran)


def test_slurm_completed_every_job_on_the_profiles_partitions(slurm_run, cluster):
    _, _, jobs = slurm_run
    for job_id, (rule, wildcards) in jobs.items():
        job = cluster.job(job_id)
        assert job["JobState"] == "COMPLETED", (rule, job)
        assert job["Account"] == "myaccount", (rule, job)  # the profile's, accepted without accounting
        if (rule, wildcards) in GPU_JOBS:
            field, granted, nodes = GPU_JOBS[(rule, wildcards)]
            assert job["Partition"] == "gpu", (rule, job)
            assert job.get(field) == granted, (rule, wildcards, job)
            assert job["NumNodes"] == str(nodes), (rule, wildcards, job)
            print(rule, wildcards, *(f"{key}={job.get(key)}" for key in ("JobId", field, "NumNodes", "TRES")))
        elif rule == "train_model":  # the fine-tune on CPU processes: the training partition, no GPU
            assert job["Partition"] == "gpu" and "gpu" not in job.get("TresPerNode", ""), (rule, job)
        else:
            assert job["Partition"] == "cpu", (rule, job)
            assert "gpu" not in job.get("TresPerJob", "") + job.get("TresPerNode", ""), (rule, job)


def test_gpu_jobs_ran_in_slurm_tasks_holding_their_gpus(slurm_run, cluster):
    """The task prolog's records, written from inside each task: the rule's job step (step 0:
    the executor's inner srun, or the rule's own srun on several nodes) ran under its SLURM job id
    and saw the GPUs granted on its node."""
    _, output, jobs = slurm_run
    steps: dict[str, list[dict[str, str]]] = {}
    for task in cluster.tasks():
        if task["step"] == "0":
            steps.setdefault(task["job"], []).append(task)
    for job_id, (rule, wildcards) in jobs.items():
        assert job_id in steps, (rule, job_id)
        if (rule, wildcards) in GPU_JOBS:
            _, granted, nodes = GPU_JOBS[(rule, wildcards)]
            tasks = steps[job_id]
            assert len(tasks) == len({task["node"] for task in tasks}) == nodes, (rule, tasks)
            for task in tasks:
                assert task["partition"] == "gpu"
                assert len(task["CUDA_VISIBLE_DEVICES"].split(",")) == int(granted[-1]), (rule, task)
            print(rule, wildcards, [(task["node"], task["CUDA_VISIBLE_DEVICES"]) for task in tasks])
    # inside the job the rule saw its topology: one node, one torchrun process per GPU
    assert "torchrun --standalone --nproc_per_node 1 -m actionmqa train run --nodes 1" in output


def test_gpu_trained_model_and_its_evaluation(slurm_run):
    workdir, _, _ = slurm_run
    results = workdir / "results" / "toy"
    training = json.loads((results / "models" / "base" / "training.json").read_text())
    assert training["global_step"] == 2 and training["world_size"] == 1  # torchrun's world
    summary = json.loads((results / "eval" / "base" / "ek100_mqa_random_2f.json").read_text())
    assert summary["n"] == 20 and summary["frames"] == 2  # every validation question


# ---------------------------------------------------------------- two nodes x two processes


@pytest.fixture(scope="module")
def two_nodes(slurm_run):
    """The two-node fine-tune's log, the SLURM job that ran it, and its output folder."""
    workdir, _, jobs = slurm_run
    (job_id,) = [job for job, key in jobs.items() if key == ("train_model", "toy_llavaction")]
    log = (workdir / "logs" / "toy" / "train_llavaction.log").read_text()
    return {"log": log, "job": job_id, "train": workdir / "results" / "toy" / "train"}


RANK_LINE = re.compile(
    r"actionmqa\.train\.run: rank (\d+) of (\d+) \(local rank (\d+) of (\d+)\) on node (\S+)$"
)


def test_four_ranks_two_on_each_node(two_nodes):
    ranks = [match.groups() for match in map(RANK_LINE.search, two_nodes["log"].splitlines()) if match]
    assert sorted(int(rank) for rank, *_ in ranks) == [0, 1, 2, 3]
    assert {size for _, size, _, _, _ in ranks} == {"4"}
    by_node = Counter(node for *_, node in ranks)
    assert by_node == {"n1": 2, "n2": 2}
    for node in ("n1", "n2"):
        assert sorted(local for _, _, local, local_size, name in ranks if name == node) == ["0", "1"]
    # each node's task found the head node and joined one rendezvous there
    endpoints = re.findall(
        rf"node (n\d) \(\d of 2 in SLURM job {two_nodes['job']}\): 2 processes, c10d rendezvous at (\S+)"
        r" \(head node (n\d)\)",
        two_nodes["log"],
    )
    assert sorted(node for node, _, _ in endpoints) == ["n1", "n2"]
    assert {(endpoint, head) for _, endpoint, head in endpoints} == {
        (f"127.0.0.1:{20000 + int(two_nodes['job']) % 10000}", "n1")
    }


def test_the_accumulation_is_derived_from_the_global_batch(two_nodes):
    assert (
        f"global batch {GLOBAL_BATCH} = 4 processes (2 node(s) x 2) x 1 per device x 2 accumulation steps"
        in two_nodes["log"]
    )


def test_the_data_shards_are_disjoint_and_cover_the_global_batches(two_nodes):
    """Each rank draws 2 micro-batches of 1 per step; over 10 steps the four ranks' draws are
    disjoint, together 80 distinct samples, and exactly the draws of the same ranks on one node."""

    def drawn(model: str) -> dict[int, list[str]]:
        samples = two_nodes["train"] / model / "samples"
        per_step = GLOBAL_BATCH // 4
        return {
            rank: (samples / f"rank{rank}.txt").read_text().splitlines()[: per_step * FINETUNE_STEPS]
            for rank in range(4)
        }

    shards = drawn("llavaction")
    union = set().union(*shards.values())
    assert len(union) == sum(len(ids) for ids in shards.values()) == GLOBAL_BATCH * FINETUNE_STEPS
    assert shards == drawn("llavaction_one_node")


def test_one_rank_writes_the_checkpoints_and_the_final_model(two_nodes):
    log = two_nodes["log"]
    for step in (5, 10):
        assert log.count(f"checkpoint-{step} saved by rank") == 1
        assert f"checkpoint-{step} saved by rank 0 " in log
    assert log.count("final model saved to") == 1
    checkpoint = two_nodes["train"] / "llavaction" / "checkpoints" / "checkpoint-10"
    assert len(list(checkpoint.glob("trainer_state.json"))) == 1
    shards = sorted(path.name for path in (checkpoint / "global_step10").glob("*optim_states.pt"))
    assert shards == [f"zero_pp_rank_{rank}_mp_rank_00_optim_states.pt" for rank in range(4)]


def test_the_losses_equal_those_of_one_node_with_the_same_global_batch(two_nodes):
    two = read_loss_curve(two_nodes["train"] / "llavaction" / "loss.csv")
    one = read_loss_curve(two_nodes["train"] / "llavaction_one_node" / "loss.csv")
    assert [row["step"] for row in two] == [row["step"] for row in one] == [str(s) for s in range(1, 11)]
    for a, b in zip(two, one, strict=True):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), abs=1e-4), (a, b)
    print("losses, 2 nodes x 2:", [round(float(row["loss"]), 5) for row in two])


# ---------------------------------------------------------------- the time limit


@pytest.fixture(scope="module")
def time_limited(cluster, slurm_run):
    """The two-node fine-tune under the profile with a 2-minute time limit for training."""
    workdir, _, _ = slurm_run
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    resources = profile_set_resources(profile, train_model={"runtime": 2})
    target = "results/toy/models/llavaction_time_limited"
    output, jobs = run_workflow(cluster, workdir, target, "--set-resources", *resources)
    log = (workdir / "logs" / "toy" / "train_llavaction_time_limited.log").read_text()
    return {"workdir": workdir, "output": output, "jobs": jobs, "log": log}


def test_a_job_at_its_time_limit_checkpoints_and_the_resubmitted_job_resumes(time_limited, cluster):
    first, second = (
        job for job, key in time_limited["jobs"].items() if key[1] == "toy_llavaction_time_limited"
    )
    assert "Trying to restart job" in time_limited["output"]  # the profile's retries
    states = {job: cluster.job(job) for job in (first, second)}
    assert states[first]["JobState"] == "FAILED" and states[second]["JobState"] == "COMPLETED", states
    assert states[first]["TimeLimit"] == "00:02:00"

    log = time_limited["log"]  # the second job's: Snakemake empties a job's log when it starts
    checkpoint = "results/toy/train/llavaction_time_limited/checkpoints/checkpoint-1"
    assert f"resuming from checkpoint {checkpoint} (global step 1)" in log
    left = re.search(rf"time limit: (\d+) s left \(SLURM job {second}\)", log)
    assert left is not None and int(left.group(1)) < 120, log[-3000:]

    # what each job did, kept in the run's folder across the resubmission
    events = read_job_events(
        time_limited["workdir"] / "results" / "toy" / "train" / "llavaction_time_limited"
    )
    assert [(event["slurm_job"], event["event"]) for event in events] == [
        (first, "start"),
        (first, "time limit"),
        (second, "start"),
        (second, "finished"),
    ]
    assert events[0]["resumed_from"] is None and (events[0]["nodes"], events[0]["processes"]) == (2, 4)
    assert (events[1]["step"], events[1]["checkpoint"], events[1]["exit_status"]) == (1, "checkpoint-1", 75)
    assert events[2]["resumed_from"] == "checkpoint-1" and events[3]["step"] == 2
    model = time_limited["workdir"] / "results" / "toy" / "models" / "llavaction_time_limited"
    assert json.loads((model / "training.json").read_text())["global_step"] == 2
