"""The jobs that trained a model: one JSON line per start and end, kept across resubmissions.

Snakemake empties a job's log before the job runs, so when a job stopped for its time limit is
resubmitted, its log gives way to the new job's. ``jobs.jsonl`` in the run's folder keeps what
every job did: on which topology it started, from which checkpoint, where it stopped and why
(a job killed without warning has a start and no end).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HISTORY_FILE = "jobs.jsonl"


def record_job_event(run_dir: Path, event: str, **fields: Any) -> None:
    """Append ``event`` (``start``, ``time limit``, ``finished``) with the time and SLURM job id."""
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "slurm_job": os.environ.get("SLURM_JOB_ID"),
        "event": event,
        **fields,
    }
    with open(Path(run_dir) / HISTORY_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def read_job_events(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
