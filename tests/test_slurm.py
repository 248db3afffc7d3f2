"""The SLURM profile against a real scheduler.

tests/slurm/cluster.sh starts a single-node SLURM (Debian's slurmctld + slurmd, munge, loopback
only, no accounting database) whose node has partitions ``cpu`` and ``gpu`` and fake h100 GPUs.
The demo workflow then runs through config/profiles/slurm, unchanged, on a small toy world: the
stages before training plus the base model's training and one EK100-MQA evaluation, both configured
with one GPU so that SLURM has to grant ``--gpus``. `.ci/install` installs the packages (as
root with apt-get); elsewhere this module skips.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from workflow_helpers import REPO, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

CLUSTER = Path(__file__).parent / "slurm" / "cluster.sh"
PROFILE = REPO / "config" / "profiles" / "slurm"
# Daemons live in /usr/sbin, which a non-login PATH may lack.
PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
COMMANDS = ("munged", "slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "srun", "scontrol")
RUN_LIMIT_S = 1200  # a few minutes normally; generous for a loaded 2-core machine

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
evaluate: {models: [base], gpus: 1, max_new_tokens: 4}
"""
GPU_RULES = ("train_model", "eval_mqa")
# "Job 19 has been submitted with SLURM jobid 22 (log: .../slurm_logs/rule_train_model/toy_base/22.log)."
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/")
# The stages before training (``all`` also trains and evaluates every demo model: too much here).
STAGES = ("data", "specialist", "benchmark", "sft")
EVAL_TARGET = "results/toy/eval/base/ek100_mqa_random_2f.json"


def _unavailable() -> str | None:
    missing = [name for name in COMMANDS if shutil.which(name, path=PATH) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing; .ci/install adds it as root)"
    if os.geteuid() != 0:
        return "needs root: it starts munged, slurmctld and slurmd and makes /etc/slurm links"
    return None


def _cluster(command: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": PATH, "ACTIONMQA_SLURM_ROOT": str(root)}
    return subprocess.run(
        ["bash", str(CLUSTER), command], capture_output=True, text=True, timeout=180, env=env
    )


def _exclusive(path: Path, wait_s: int):
    """One SLURM test per machine at a time (ports 6817/6818 and /etc/slurm are shared)."""
    handle = path.open("w")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                pytest.fail(f"another SLURM test held {path} for {wait_s} s")
            time.sleep(5)


@pytest.fixture(scope="module")
def cluster(request):
    """A started cluster's root (state, logs); stopped, daemon by recorded PID, at the end."""
    if reason := _unavailable():
        pytest.skip(reason)
    lock = _exclusive(Path(tempfile.gettempdir()) / "actionmqa-slurm-test.lock", RUN_LIMIT_S + 600)
    # Under /tmp, not pytest's 0700 tmp_path: user munge must reach its socket and key.
    root = Path(tempfile.mkdtemp(prefix="actionmqa-slurm-"))
    root.chmod(0o755)

    def stop():
        try:
            stopped = _cluster("stop", root)
            assert stopped.returncode == 0, stopped.stderr
        finally:
            shutil.rmtree(root, ignore_errors=True)
            lock.close()

    request.addfinalizer(stop)  # before start: a half-started cluster is stopped too
    started = _cluster("start", root)
    assert started.returncode == 0, f"cluster.sh start failed:\n{started.stdout}\n{started.stderr}"
    return root


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The demo workflow through the unchanged SLURM profile; returns (workdir, output, jobs).

    ``jobs`` maps each SLURM job id Snakemake submitted to its rule.
    """
    workdir = tmp_path_factory.mktemp("slurm_run")
    (workdir / "small.yaml").write_text(SMALL_WORLD)
    recipe = yaml.safe_load((REPO / "config" / "train" / "toy_base.yaml").read_text())
    recipe.update(
        max_steps=2, save_steps=2, logging_steps=1, global_batch_size=4, per_device_train_batch_size=4
    )
    (workdir / "tiny_base.yaml").write_text(yaml.safe_dump(recipe))
    result = snakemake(
        workdir,
        "--profile",
        str(PROFILE),
        *NO_ACCOUNTING,
        *NO_CONDA,
        *STAGES,
        EVAL_TARGET,
        configfiles=("config/config.yaml", workdir / "small.yaml"),
        prefix=("timeout", "-k", "10", str(RUN_LIMIT_S)),  # SIGTERM alone may not end it
        timeout=RUN_LIMIT_S + 60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"snakemake exited {result.returncode}:\n{output[-6000:]}\n"
        f"slurmctld.log:\n{_tail(cluster / 'log' / 'slurmctld.log')}"
    )
    jobs = dict(SUBMITTED.findall(output))
    return workdir, output, jobs


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else f"({path} missing)"


def _scontrol_job(job_id: str) -> dict[str, str]:
    shown = subprocess.run(
        ["scontrol", "-o", "show", "job", job_id],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PATH": PATH},
        check=True,
    )
    return dict(field.partition("=")[::2] for field in shown.stdout.split())


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
    ):
        assert (results / relative).is_file(), relative


def test_every_rule_job_was_a_slurm_job(slurm_run):
    _, output, jobs = slurm_run
    ran = Counter(re.findall(r"^rule (\w+):$", output, flags=re.MULTILINE))  # local ones: "localrule"
    assert ran and Counter(jobs.values()) == ran
    assert set(GPU_RULES) <= set(ran)


def test_slurm_completed_every_job_on_the_profiles_partitions(slurm_run):
    _, _, jobs = slurm_run
    for job_id, rule in jobs.items():
        job = _scontrol_job(job_id)
        assert job["JobState"] == "COMPLETED", (rule, job)
        assert job["Account"] == "myaccount", (rule, job)  # the profile's, accepted without accounting
        if rule in GPU_RULES:
            assert job["Partition"] == "gpu", (rule, job)
            assert job.get("TresPerJob") == "gres:gpu:h100:1", (rule, job)  # --gpus=h100:1
            print(rule, *(f"{key}={job.get(key)}" for key in ("JobId", "Partition", "TresPerJob", "TRES")))
        else:
            assert job["Partition"] == "cpu", (rule, job)
            assert "gpu" not in job.get("TresPerJob", ""), (rule, job)


def test_gpu_rules_ran_in_slurm_jobs_holding_a_gpu(slurm_run, cluster):
    """The task prolog's record, written from inside each task: the rule's job step (step 0,
    the plugin's inner srun) ran under its SLURM job id and saw the granted GPU."""
    _, output, jobs = slurm_run
    tasks = re.findall(
        r"^job=(\d+) step=(\S*) partition=(\S+) CUDA_VISIBLE_DEVICES=(\S+)$",
        (cluster / "log" / "tasks.log").read_text(),
        flags=re.MULTILINE,
    )
    steps = {(job_id, step): (partition, devices) for job_id, step, partition, devices in tasks}
    for job_id, rule in jobs.items():
        assert (job_id, "0") in steps, (rule, job_id)
        if rule in GPU_RULES:
            assert steps[(job_id, "0")] == ("gpu", "0"), (rule, job_id)
            print(f"{rule}: SLURM job {job_id}, step 0 on partition gpu, CUDA_VISIBLE_DEVICES=0")
    # inside the job the rule saw resources.gpu == 1: one torchrun process per GPU
    assert "torchrun --standalone --nproc_per_node 1 -m actionmqa train run" in output


def test_gpu_trained_model_and_its_evaluation(slurm_run):
    workdir, _, _ = slurm_run
    results = workdir / "results" / "toy"
    training = json.loads((results / "models" / "base" / "training.json").read_text())
    assert training["global_step"] == 2 and training["world_size"] == 1  # torchrun's world
    summary = json.loads((results / "eval" / "base" / "ek100_mqa_random_2f.json").read_text())
    assert summary["n"] == 20 and summary["frames"] == 2  # every validation question
