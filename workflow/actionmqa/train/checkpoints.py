"""Finding the checkpoint to resume from.

The Trainer writes ``trainer_state.json`` last when it saves a checkpoint (after the weights,
the DeepSpeed shards and the optimizer state), so a checkpoint folder without it was cut short
by a kill and is not resumable. Checkpoints are only resumed by a run of the same inputs (base
weights, data and recipe, recorded in ``inputs.json`` beside them): after a change they are
the old run's, and the new one starts from step 0.

The topology is not an input: a run of the same global batch on another number of processes
resumes the same checkpoint. DeepSpeed's ZeRO checkpoints hold one optimizer shard per process,
so for another world size the checkpoint is first converted to DeepSpeed's universal format
(``deepspeed.checkpoint.ds_to_universal``), which any world size loads.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

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


#: The tag file naming a checkpoint's universal-format folder (written last by ``ds_to_universal``).
UNIVERSAL_TAG = "latest_universal"


def deepspeed_tag(checkpoint: Path) -> str:
    """The DeepSpeed folder (``global_step<N>``) inside an HF checkpoint, as its ``latest`` file names it."""
    return (checkpoint / "latest").read_text(encoding="utf-8").strip()


def saved_world_size(checkpoint: Path) -> int:
    """How many processes saved a checkpoint: each writes one ZeRO optimizer shard."""
    return len(list((checkpoint / deepspeed_tag(checkpoint)).glob("*zero_pp_rank_*_optim_states.pt")))


def make_universal(checkpoint: Path) -> Path:
    """The checkpoint in DeepSpeed's universal format, converted once (main process only).

    A conversion cut short by a kill leaves no ``latest_universal`` file and is redone.
    """
    tag = deepspeed_tag(checkpoint)
    universal = checkpoint / f"{tag}_universal"
    marker = checkpoint / UNIVERSAL_TAG
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == universal.name:
        return universal
    marker.unlink(missing_ok=True)
    shutil.rmtree(universal, ignore_errors=True)
    log.info("converting %s to DeepSpeed's universal checkpoint format in %s", checkpoint / tag, universal)
    command = [sys.executable, "-m", "deepspeed.checkpoint.ds_to_universal", "--inject_missing_state"]
    command += ["--input_folder", str(checkpoint / tag), "--output_folder", str(universal)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not marker.is_file():
        raise RuntimeError(
            f"ds_to_universal failed on {checkpoint / tag}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return universal


class CheckpointLogCallback(TrainerCallback):
    """One log line per saved checkpoint, from the process that writes its shared files (the Trainer's
    ``should_save``: world rank 0), so the log shows that one rank wrote it."""

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if args.should_save:
            log.info(
                "checkpoint-%d saved by rank %d (weights and trainer state; each rank adds its ZeRO shard)",
                state.global_step,
                self.rank,
            )
