"""Finding the checkpoint to resume from.

The Trainer writes ``trainer_state.json`` last when it saves a checkpoint (after the weights,
the DeepSpeed shards and the optimizer state), so a checkpoint folder without it was cut short
by a kill and is not resumable. Checkpoints are only resumed by a run of the same inputs (base
weights, data and recipe, recorded in ``inputs.json`` beside them): after a change they are
the old run's, and the new one starts from step 0.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from actionmqa.io import write_json

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
COMPLETE_MARKER = "trainer_state.json"
INPUTS_FILE = "inputs.json"


def checkpoint_step(path: Path) -> int:
    match = _CHECKPOINT.match(path.name)
    if match is None:
        raise ValueError(f"{path} is not a checkpoint-<step> folder")
    return int(match.group(1))


def list_checkpoints(folder: Path) -> list[Path]:
    """``checkpoint-<step>`` folders, oldest step first."""
    if not folder.is_dir():
        return []
    found = [path for path in folder.iterdir() if path.is_dir() and _CHECKPOINT.match(path.name)]
    return sorted(found, key=checkpoint_step)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (read-only, so every rank can ask and gets the same answer)."""
    complete = [path for path in list_checkpoints(folder) if (path / COMPLETE_MARKER).is_file()]
    return complete[-1] if complete else None


def remove_incomplete(folder: Path) -> list[Path]:
    """Delete checkpoints cut short by a kill, so their step is saved afresh (main process only)."""
    removed = [path for path in list_checkpoints(folder) if not (path / COMPLETE_MARKER).is_file()]
    for path in removed:
        log.warning("removing incomplete checkpoint %s (no %s: killed while saving)", path, COMPLETE_MARKER)
        shutil.rmtree(path)
    return removed


def remove_stale(folder: Path, inputs: dict[str, Any]) -> list[Path]:
    """Delete checkpoints of other inputs, then record ``inputs`` as the folder's (main process only).

    Checkpoints with no record are treated as stale too: nothing says what trained them.
    """
    record = folder / INPUTS_FILE
    recorded = json.loads(record.read_text()) if record.is_file() else None
    removed = list_checkpoints(folder) if recorded != inputs else []
    if removed:
        changed = sorted(key for key in inputs if recorded is None or recorded.get(key) != inputs[key])
        log.warning(
            "removing %d checkpoint(s) of a run with other inputs (changed: %s): training starts at step 0",
            len(removed),
            ", ".join(changed) or "keys",
        )
    for path in removed:
        shutil.rmtree(path)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(record, inputs)
    return removed
