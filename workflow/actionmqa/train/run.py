"""One fine-tuning run: base model + SFT data + recipe -> loss curve, checkpoints, final model.

Layout of ``output_dir``: ``loss.csv``, ``checkpoints/checkpoint-<step>/``, the DeepSpeed JSON
used, ``samples/rank<R>.txt`` (the record ids each rank drew) and ``jobs.jsonl`` (each job's start
and end, ``train.history``). A run that finds a complete
checkpoint there resumes from it, on the same or another topology of the same global batch:
Snakemake reruns a killed job with the same output folder, so a preempted week-long run loses at
most ``save_steps`` steps, and a job that reaches its time limit checkpoints first and loses
nothing (``train.timelimit``).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase, TrainingArguments

from actionmqa.determinism import compute_deterministically
from actionmqa.io import publish_dir, sha256_file, staging_dir, write_json
from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.processing import ChatCollator, FrameProcessor
from actionmqa.model.provenance import TRAINING_RECORD
from actionmqa.train.checkpoints import (
    CheckpointLogCallback,
    checkpoint_step,
    latest_checkpoint,
    make_universal,
    remove_incomplete,
    remove_stale,
    saved_world_size,
)
from actionmqa.train.cost import StepCostCallback
from actionmqa.train.data import (
    ClipCache,
    ClipSource,
    LoggingCollator,
    OnDemandClips,
    SFTDataset,
    clip_request,
    read_sft,
)
from actionmqa.train.deepspeed_configs import resolve_deepspeed
from actionmqa.train.history import record_job_event
from actionmqa.train.launch import (
    World,
    end_process_group,
    ensure_process_group_env,
    join_deepspeed_to_process_group,
    prepare_deepspeed,
)
from actionmqa.train.losscurve import LossCurveCallback
from actionmqa.train.recipe import TrainRecipe
from actionmqa.train.timelimit import EXIT_TIME_LIMIT, TimeLimitCallback, job_time_left
from actionmqa.train.topology import accumulation_steps
from actionmqa.train.trainer import ActionTrainer, freeze_untuned
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import make_layout
from actionmqa.video.readers import ClipReader

log = logging.getLogger(__name__)

#: DeepSpeed's JIT builds, under the working directory (the repository root for Snakemake).
EXTENSIONS_CACHE = Path(".cache") / "torch_extensions"
#: What ``Trainer.save_model`` adds beside the weights: a pickled ``TrainingArguments``.
TRAINING_ARGS_PICKLE = "training_args.bin"


@dataclass(frozen=True)
class TrainJob:
    """Everything ``actionmqa train run`` was told."""

    base: Path
    data: tuple[Path, ...]
    video_root: Path
    layout: Literal["whole", "chunks"]
    recipe: TrainRecipe
    output_dir: Path
    final: Path
    backend: Backend = "pyav"
    #: (nodes, processes per node) the job was planned for; a launch that differs is an error.
    planned: tuple[int, int] | None = None
    #: Seconds this run may take; ``None``: what SLURM says is left of the job's time limit, if any.
    time_left_s: float | None = None

    @property
    def checkpoints(self) -> Path:
        return self.output_dir / "checkpoints"


def training_arguments(job: TrainJob, deepspeed_json: Path, accumulation: int) -> TrainingArguments:
    """The recipe in the Trainer's terms; build it before the model so ZeRO-3 partitions at load time."""
    recipe = job.recipe
    on_cpu = not torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(job.checkpoints),
        per_device_train_batch_size=recipe.per_device_train_batch_size,
        gradient_accumulation_steps=accumulation,
        learning_rate=recipe.learning_rate,
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm,
        lr_scheduler_type=recipe.lr_scheduler,
        warmup_steps=recipe.warmup_ratio,  # a float below 1 is a ratio of the total steps
        num_train_epochs=recipe.num_train_epochs,
        max_steps=recipe.max_steps or -1,
        bf16=recipe.bf16,
        tf32=None if on_cpu else recipe.tf32,
        activation_checkpointing=recipe.gradient_checkpointing,  # the recipe keeps upstream's name
        deepspeed=str(deepspeed_json),
        save_strategy="steps",
        save_steps=recipe.save_steps,
        save_total_limit=recipe.save_total_limit,
        logging_steps=recipe.logging_steps,
        seed=recipe.seed,
        data_seed=recipe.seed,
        dataloader_num_workers=recipe.dataloader_workers,
        dataloader_drop_last=True,
        remove_unused_columns=False,
        report_to="none",
        use_cpu=on_cpu,
        ddp_backend="gloo" if on_cpu else None,
    )


def load_base(
    job: TrainJob,
) -> tuple[PreTrainedTokenizerBase, LlavaActionForConditionalGeneration, FrameProcessor]:
    """Tokenizer, model (with the recipe's action-token switch) and frame processor of the base."""
    tokenizer = AutoTokenizer.from_pretrained(job.base)
    config = LlavaActionConfig.from_pretrained(job.base)
    if job.recipe.action_token is not None and job.recipe.action_token != config.action_token:
        log.info("action token switched %s by the recipe", "on" if job.recipe.action_token else "off")
        config.action_token = job.recipe.action_token
    dtype = torch.bfloat16 if job.recipe.bf16 else torch.float32
    model = LlavaActionForConditionalGeneration.from_pretrained(job.base, config=config, dtype=dtype)
    return tokenizer, model, FrameProcessor.from_pretrained(job.base, config)


def build_dataset(job: TrainJob) -> SFTDataset:
    records = read_sft(job.data)
    reader = ClipReader(make_layout(job.layout, job.video_root), job.backend)
    frames = job.recipe.frames
    clips: ClipSource
    if job.recipe.clip_cache:
        clips = ClipCache(reader, (clip_request(record, frames) for record in records))
    else:
        clips = OnDemandClips(reader)
    log.info(
        "%d SFT records from %s, %d frames per clip", len(records), ", ".join(map(str, job.data)), frames
    )
    return SFTDataset(records, clips, frames)


def train(job: TrainJob) -> int:
    """Run (or resume) the job and publish the final model; returns the final global step.

    A run stopped for its time limit publishes nothing: after its checkpoint it exits with
    ``EXIT_TIME_LIMIT`` for the scheduler to resubmit it.
    """
    prepare_deepspeed(EXTENSIONS_CACHE)
    ensure_process_group_env()
    world = World.from_env()
    log.info("%s", world.describe())
    if job.planned is not None and (problem := world.mismatch(*job.planned)):
        raise RuntimeError(problem)
    recipe = job.recipe
    accumulation = accumulation_steps(
        recipe.global_batch_size, world.size, recipe.per_device_train_batch_size
    )
    main = world.rank == 0
    if main:
        log.info(
            "global batch %d = %d processes (%d node(s) x %d) x %d per device x %d accumulation steps",
            recipe.global_batch_size,
            world.size,
            world.nodes,
            world.local_size,
            recipe.per_device_train_batch_size,
            accumulation,
        )
    (job.output_dir / "samples").mkdir(parents=True, exist_ok=True)
    deepspeed_json = resolve_deepspeed(recipe.deepspeed, job.output_dir)
    args = training_arguments(job, deepspeed_json, accumulation)
    join_deepspeed_to_process_group()
    # weights the base lacks (the action token and its heads) are drawn now: from the seed, so that
    # every topology and every rerun starts from the same ones (the Trainer seeds only later);
    # deterministic kernels from here on
    compute_deterministically(recipe.seed)
    tokenizer, model, frame_processor = load_base(job)
    for part, count in freeze_untuned(model, recipe.tunable_parts).items():
        log.info("training %s: %d parameters", part, count)
    time_left, source = job_time_left(job.time_left_s) if main else (None, "rank 0's")
    time_limit = TimeLimitCallback(time_left, recipe.time_limit_reserve_s, source)
    dataset = build_dataset(job)
    trainer = ActionTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=LoggingCollator(
            ChatCollator(tokenizer, model.config, frame_processor, train=True),
            job.output_dir / "samples" / f"rank{world.rank}.txt",
        ),
        processing_class=tokenizer,
        callbacks=[
            LossCurveCallback(job.output_dir / "loss.csv"),
            StepCostCallback(),
            CheckpointLogCallback(world.rank),
            time_limit,
        ],
        vision_tower_lr=recipe.vision_tower_lr,
        projector_lr=recipe.projector_lr,
        sample_lengths=dataset.text_lengths(tokenizer) if recipe.group_by_length else None,
    )

    resume = find_resume(job, trainer, world)
    if main:
        record_job_event(
            job.output_dir,
            "start",
            nodes=world.nodes,
            processes=world.size,
            accumulation_steps=accumulation,
            resumed_from=None if resume is None else resume.name,
        )
    log.info("DeepSpeed ZeRO stage %s from %s", _zero_stage(args), deepspeed_json)
    trainer.train(resume_from_checkpoint=None if resume is None else str(resume))
    log.info(
        "trained on %s to global step %d", type(trainer.model_wrapped).__name__, trainer.state.global_step
    )
    if time_limit.stopped_at is not None:
        if main:
            record_job_event(
                job.output_dir,
                "time limit",
                step=time_limit.stopped_at,
                checkpoint=f"checkpoint-{time_limit.stopped_at}",
                exit_status=EXIT_TIME_LIMIT,
            )
            log.warning(
                "stopped for the time limit at global step %d with checkpoint-%d saved: exiting with"
                " status %d so that the job is resubmitted (the profile's retries) and resumes from it",
                time_limit.stopped_at,
                time_limit.stopped_at,
                EXIT_TIME_LIMIT,
            )
        end_process_group()
        raise SystemExit(EXIT_TIME_LIMIT)

    save_final(trainer, job, frame_processor)
    if main:
        record_job_event(job.output_dir, "finished", step=trainer.state.global_step)
    end_process_group()
    return trainer.state.global_step


def find_resume(job: TrainJob, trainer: ActionTrainer, world: World) -> Path | None:
    """The checkpoint this run resumes from, made loadable by this world size; ``None``: step 0.

    The main process first removes checkpoints cut short by a kill and those of other inputs;
    a checkpoint saved by another number of processes is converted to DeepSpeed's universal
    format, which DeepSpeed is then told to load.
    """
    main = world.rank == 0
    if main:
        remove_incomplete(job.checkpoints)
        remove_stale(job.checkpoints, run_inputs(job))
    trainer.accelerator.wait_for_everyone()  # no rank looks for a checkpoint while rank 0 removes
    resume = latest_checkpoint(job.checkpoints)
    if resume is None:
        return None
    log.info("resuming from checkpoint %s (global step %d)", resume, checkpoint_step(resume))
    saved = saved_world_size(resume)
    if saved != world.size:
        if main:
            log.info(
                "it was saved by %d processes, this run has %d: loading it in universal format",
                saved,
                world.size,
            )
            make_universal(resume)
        trainer.accelerator.wait_for_everyone()
        # the configuration DeepSpeed is initialised with when training starts
        deepspeed_config = trainer.accelerator.state.deepspeed_plugin.hf_ds_config.config
        deepspeed_config.setdefault("checkpoint", {})["load_universal"] = True
    return resume


def _zero_stage(args: TrainingArguments) -> int:
    return args.hf_deepspeed_config.config["zero_optimization"]["stage"]


def save_final(trainer: ActionTrainer, job: TrainJob, frame_processor: FrameProcessor) -> None:
    """Every rank saves into one staging folder (ZeRO-3 gathers its shards), rank 0 publishes it."""
    staging = staging_dir(job.final)
    main = trainer.is_world_process_zero()
    if main and staging.exists():
        shutil.rmtree(staging)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))  # weights (safetensors), config, generation config, tokenizer
    if main:
        (staging / TRAINING_ARGS_PICKLE).unlink(missing_ok=True)  # training.json says it without a pickle
        frame_processor.save_pretrained(staging)
        write_json(staging / TRAINING_RECORD, provenance(job, trainer.state.global_step))
        publish_dir(staging, job.final)
        log.info("final model saved to %s", job.final)
    trainer.accelerator.wait_for_everyone()


#: Recipe keys that say how long to train and how often to save or log, not what is trained: a
#: run resumed with more steps, as a preempted run given a longer budget is, keeps its checkpoints.
RUN_LENGTH_KEYS = frozenset(
    {
        "max_steps",
        "num_train_epochs",
        "save_steps",
        "save_total_limit",
        "logging_steps",
        "dataloader_workers",
        "time_limit_reserve_s",
    }
)


def run_inputs(job: TrainJob) -> dict[str, Any]:
    """What a checkpoint's training depends on, by content: a resume needs all of it unchanged."""
    base_files = sorted(job.base.glob("*.safetensors")) + [job.base / "config.json"]
    recipe = job.recipe.model_dump(mode="json", exclude=set(RUN_LENGTH_KEYS))
    return {
        "base": {path.name: sha256_file(path) for path in base_files if path.is_file()},
        "data": [sha256_file(path) for path in job.data],
        "recipe": recipe,
    }


def provenance(job: TrainJob, global_step: int) -> dict[str, Any]:
    """What made this model: base, data (by content), recipe, steps, world size."""
    return {
        "base": str(job.base),
        "data": {str(path): sha256_file(path) for path in job.data},
        "recipe": job.recipe.model_dump(mode="json"),
        "global_step": global_step,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
    }
