"""The training recipe: every knob of a fine-tuning run, read from one YAML file (spec/llavaction.md §4).

Defaults are the authors' final 7B recipe, so a recipe file only lists what it changes (the
CPU demo: ZeRO-2, fp32, a few steps). Unknown keys are an error naming the key: a typo such
as ``learnig_rate`` would otherwise train with the default and nobody would notice.

The batch is stated as the paper states it, globally (256); the gradient accumulation steps
follow from the model's topology (``actionmqa.train.topology``), so the recipe holds no
accumulation count and trains the same steps on any topology that divides its global batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from actionmqa.errors import InputError
from actionmqa.io import read_yaml_model

#: Upstream ``mm_tunable_parts`` names: SigLIP, the 2-layer projector, and everything else
#: (the language model, the action token and its heads; spec §3.2 "Trainability").
TunablePart = Literal["mm_vision_tower", "mm_mlp_adapter", "mm_language_model"]
ALL_PARTS: tuple[TunablePart, ...] = ("mm_vision_tower", "mm_mlp_adapter", "mm_language_model")


class TrainRecipe(BaseModel):
    """One fine-tuning run. ``deepspeed`` is ``"zero2"``, ``"zero3"`` or a path to a JSON config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    learning_rate: float = Field(1e-5, gt=0)
    vision_tower_lr: float = Field(2e-6, gt=0)
    #: Upstream ``mm_projector_lr``: the projector's own rate; ``None`` trains it at ``learning_rate``.
    projector_lr: float | None = Field(None, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    num_train_epochs: float = Field(1.0, gt=0)
    #: Overrides ``num_train_epochs`` when set (the CPU demo and the tests stop after a few steps).
    max_steps: int | None = Field(None, gt=0)
    #: Samples per optimizer step over all processes: 256 in the paper (128 GPUs x 1 x 2 steps).
    global_batch_size: int = Field(256, gt=0)
    per_device_train_batch_size: int = Field(1, gt=0)
    bf16: bool = True
    #: TensorFloat-32 matmuls on Ampere+ GPUs (``--tf32 True`` upstream); ignored on a CPU.
    tf32: bool = True
    gradient_checkpointing: bool = True
    deepspeed: str = "zero3"
    save_steps: int = Field(1000, gt=0)
    #: Seconds kept free before the job's time limit to save a checkpoint (``train.timelimit``).
    time_limit_reserve_s: float = Field(600.0, ge=0)
    save_total_limit: int | None = Field(None, gt=0)
    logging_steps: int = Field(1, gt=0)
    #: Frames per clip (``clip_length``): 64 in the final run, 8 or 16 in earlier ones.
    frames: int = Field(64, gt=0)
    seed: int = 0
    tunable_parts: tuple[TunablePart, ...] = ALL_PARTS
    #: ``None`` keeps the base model's setting; ``False`` is the no-action-token ablation.
    action_token: bool | None = None
    dataloader_workers: int = Field(0, ge=0)
    #: Batches of similar length, in random order (``train.sampling``): less padding; off, random.
    group_by_length: bool = False
    #: Decode every clip once into memory before training (small data only; see ``train.data``).
    clip_cache: bool = False


def load_recipe(path: Path) -> TrainRecipe:
    """Read and validate a recipe YAML; any problem raises ``InputError`` naming the file and key."""
    try:
        return read_yaml_model(path, TrainRecipe, "training recipe")
    except InputError as exc:
        if exc.key == "gradient_accumulation_steps":  # a recipe written before the batch was global
            raise InputError(
                path,
                "not a setting: the accumulation steps follow from global_batch_size /"
                " (processes x per_device_train_batch_size); state global_batch_size instead",
                key=exc.key,
            ) from exc
        raise
