"""DeepSpeed configurations: upstream's ``scripts/zero3.json`` and its ZeRO-2 sibling for the CPU demo.

Both leave batch sizes, clipping and precision ``"auto"`` so the recipe stays the one place
that sets them (the HF Trainer fills them in). Neither has an ``optimizer`` section: with
one, the HF integration hands DeepSpeed a flat parameter list and the vision tower's own
learning rate would be lost (inferred from ``deepspeed_optim_sched``); without one, the
Trainer's torch AdamW with its parameter groups is used, and DeepSpeed compiles no Adam.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError
from actionmqa.io import write_json

_COMMON: dict[str, Any] = {
    "fp16": {
        "enabled": "auto",
        "loss_scale": 0,
        "loss_scale_window": 1000,
        "initial_scale_power": 16,
        "hysteresis": 2,
        "min_loss_scale": 1,
    },
    "bf16": {"enabled": "auto"},
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
    "steps_per_print": 100,
    "wall_clock_breakdown": False,
}

_ZERO: dict[str, dict[str, Any]] = {
    "zero2": {
        "stage": 2,
        "offload_optimizer": {"device": "none"},
        "allgather_partitions": True,
        "allgather_bucket_size": 200_000_000,
        "overlap_comm": True,
        "reduce_scatter": True,
        "reduce_bucket_size": "auto",
        "contiguous_gradients": True,
    },
    # scripts/zero3.json of LLaVA-NeXT / LLaVAction (spec §4): no offload, overlap_comm, and the
    # full 16-bit weights gathered on save so a checkpoint is a plain save_pretrained model.
    "zero3": {
        "stage": 3,
        "offload_optimizer": {"device": "none"},
        "offload_param": {"device": "none"},
        "overlap_comm": True,
        "contiguous_gradients": True,
        "sub_group_size": 1_000_000_000,
        "reduce_bucket_size": "auto",
        "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto",
        "stage3_max_live_parameters": 1_000_000_000,
        "stage3_max_reuse_distance": 1_000_000_000,
        "stage3_gather_16bit_weights_on_model_save": True,
    },
}

STAGES = tuple(_ZERO)


def zero_config(stage: str) -> dict[str, Any]:
    """A fresh copy of the named configuration (``"zero2"`` or ``"zero3"``)."""
    if stage not in _ZERO:
        raise ValueError(f"unknown DeepSpeed stage {stage!r} (expected one of {', '.join(STAGES)})")
    return json.loads(json.dumps({**_COMMON, "zero_optimization": _ZERO[stage]}))


def resolve_deepspeed(spec: str, run_dir: Path) -> Path:
    """The JSON a run uses: a stage name is written into ``run_dir``, a path is checked and kept.

    Writing the named config next to the checkpoints records exactly what a run trained with.
    """
    if spec in _ZERO:
        path = Path(run_dir) / f"deepspeed_{spec}.json"
        write_json(path, zero_config(spec))
        return path
    path = Path(spec)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            path, f"not a DeepSpeed stage name ({', '.join(STAGES)}) nor a readable JSON ({exc})"
        ) from exc
    if "zero_optimization" not in config:
        raise InputError(path, "DeepSpeed config has no zero_optimization section", key="zero_optimization")
    return path
