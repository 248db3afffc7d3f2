"""The dress rehearsal end to end: ``snakemake --configfile config/paper.yaml config/rehearsal.yaml -c2``
from a clean working directory runs every rule of the paper's run, and its report draws every table
and figure (about 15 minutes on two cores; README "Rehearse before the real run")."""

from __future__ import annotations

import json
import re
import time

import pytest

from actionmqa.report import FIGURE_FORMATS, FIGURES, TABLE_FORMATS, TABLES
from workflow_helpers import planned_jobs, snakemake

pytestmark = pytest.mark.slow

REHEARSAL = ("config/paper.yaml", "config/rehearsal.yaml")
#: ``rule X:`` / ``localrule X:`` as Snakemake logs each job it starts.
STARTED = re.compile(r"^(?:local)?rule (\w+):$", re.MULTILINE)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rehearsal")
    started = time.monotonic()
    result = snakemake(workdir, "-c2", configfiles=REHEARSAL, timeout=3600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    print(f"rehearsal: {time.monotonic() - started:.0f} s")  # shown with pytest -s / -rP
    return workdir, output


def test_every_rule_of_the_paper_run_ran(rehearsal, tmp_path):
    _, output = rehearsal
    plan = snakemake(tmp_path, "-n", configfiles=["config/paper.yaml"])
    assert plan.returncode == 0, plan.stderr[-3000:]
    paper = set(planned_jobs(plan.stdout))
    ran = set(STARTED.findall(output))
    missing = sorted(paper - ran)
    assert not missing, f"rules of the paper's run the rehearsal did not run: {missing}"
    assert {rule for rule in ran - paper if not rule.startswith("rehearsal_")} == set()


def test_run_read_the_stand_ins_as_the_real_run_reads_its_inputs(rehearsal):
    workdir, _ = rehearsal
    results = workdir / "results" / "ek100"
    log = (workdir / "logs" / "ek100" / "fetch_annotations.log").read_text()
    assert "http://127.0.0.1:48731/ek100-annotations/EPIC_100_validation.csv" in log
    assert "unverified" not in log  # every file pinned: the package's known hashes and the rehearsal's
    release = (workdir / "logs" / "ek100" / "fetch_specialist_checkpoint_avion_vitl_lavila.log").read_text()
    assert "md5 prefix 1871f4 matches" in release
    assert (results / "checkpoints" / "llava_video_7b" / "download.json").is_file()
    assert (
        "lmms-lab/LLaVA-Video-7B-Qwen2"
        in (results / "checkpoints" / "llava_video_7b" / "download.json").read_text()
    )
    assert (workdir / "results" / "rehearsal" / "benchmarks" / "longvideobench" / "videos").is_dir()
    teacher = json.loads((results / "sft" / "teacher.manifest.json").read_text())
    assert teacher["failed"]["count"] == 0 and teacher["with_qa"] == teacher["clips"] == 121
    train = (results / "train" / "llavaction_7b" / "loss.csv").read_text().splitlines()
    assert len(train) == 1 + 2  # a header and the two optimizer steps


def test_report_draws_every_table_and_figure(rehearsal):
    workdir, _ = rehearsal
    result = snakemake(workdir, "--report", "results/report.html", "report_targets", configfiles=REHEARSAL)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    html = (workdir / "results" / "report.html").read_text()
    for name in TABLES:
        for ext in TABLE_FORMATS:
            assert f"{name}.{ext}" in html, (name, ext)
    for name in FIGURES:
        for ext in FIGURE_FORMATS:
            assert f"{name}.{ext}" in html, (name, ext)
