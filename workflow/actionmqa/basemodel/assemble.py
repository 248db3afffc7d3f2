"""``base init``: the world's tokenizer + its pretrained tower + a fresh projector and language model.

This is a LLaVA model before its language stage: the tower already sees the world, the rest is
random. The folder is in the format ``model convert`` writes (weights, config, tokenizer,
``preprocessor_config.json``), so ``train run --base`` and ``eval mqa --model`` read it as they
read a converted LLaVA-Video checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase, Qwen2ForCausalLM, SiglipVisionModel
from transformers.utils import SAFE_WEIGHTS_NAME

from actionmqa.basemodel.tower import FEATURE_LAYER
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.labels import LabelMap
from actionmqa.ek100.schema import N_NOUNS, N_VERBS
from actionmqa.errors import InputError
from actionmqa.io import atomic_dir, sha256_file, write_json
from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.processing import FrameProcessor
from actionmqa.model.tiny import tiny_config
from actionmqa.model.tokenizer import (
    ACTION_TOKEN,
    END_OF_TURN,
    IMAGE_TOKEN,
    VIDEO_TOKEN,
    end_generation_at_turns,
)

log = logging.getLogger(__name__)

PROVENANCE_FILE = "base.json"


@dataclass(frozen=True)
class InitJob:
    """Everything ``actionmqa base init`` was told; ``hidden``, ``layers``, ``heads`` size the LM."""

    tokenizer_dir: Path
    vision_dir: Path
    annotations_dir: Path
    out: Path
    language_dir: Path | None = None
    hidden: int = 128
    layers: int = 4
    heads: int = 4
    visual_layout: Literal["hf", "llava_video"] = "llava_video"
    action_token: bool = False
    seed: int = 0


def placeholder_ids(tokenizer: PreTrainedTokenizerBase, source: Path) -> dict[str, int]:
    """Ids of `<image>`, `<video>`, `<action>`; a tokenizer without them cannot carry frames."""
    vocab = tokenizer.get_vocab()
    missing = [token for token in (IMAGE_TOKEN, VIDEO_TOKEN, ACTION_TOKEN, END_OF_TURN) if token not in vocab]
    if missing or tokenizer.pad_token_id is None:
        raise InputError(
            source, f"the tokenizer lacks {missing or ['a pad token']} (train it with `base tokenizer`)"
        )
    return {token: vocab[token] for token in (IMAGE_TOKEN, VIDEO_TOKEN, ACTION_TOKEN)}


def base_config(
    tokenizer: PreTrainedTokenizerBase, tower: SiglipVisionModel, labels: LabelMap, job: InitJob
) -> LlavaActionConfig:
    """A tiny config whose vision part is the pretrained tower's own and whose ids are the tokenizer's."""
    ids = placeholder_ids(tokenizer, job.tokenizer_dir)
    vision = tower.config
    config = tiny_config(
        len(tokenizer),
        image_size=vision.image_size,
        patch_size=vision.patch_size,
        hidden=job.hidden,
        layers=job.layers,
        heads=job.heads,
        num_verbs=N_VERBS,
        num_nouns=N_NOUNS,
        num_actions=len(labels.actions),
        visual_layout=job.visual_layout,
        action_token=job.action_token,
        image_token_id=ids[IMAGE_TOKEN],
        video_token_id=ids[VIDEO_TOKEN],
        action_token_id=ids[ACTION_TOKEN],
    )
    config.vision_config = vision
    config.text_config.pad_token_id = tokenizer.pad_token_id
    if config.vision_feature_layer != FEATURE_LAYER:
        raise ValueError(
            f"the model reads tower layer {config.vision_feature_layer}, "
            f"the tower was trained on layer {FEATURE_LAYER}"
        )
    return config


def load_tower(model: LlavaActionForConditionalGeneration, tower: SiglipVisionModel) -> None:
    """Copy the pretrained weights in, then check every tensor arrived unchanged."""
    target = model.model.vision_tower
    target.load_state_dict(tower.state_dict(), strict=True)
    expected, loaded = tower.state_dict(), target.state_dict()
    differing = [name for name, tensor in expected.items() if not torch.equal(tensor, loaded[name])]
    if differing:
        raise RuntimeError(f"tower tensors changed while loading: {differing[:5]}")


def load_language(model: LlavaActionForConditionalGeneration, source: Path) -> None:
    """Copy a pretrained LM (``base language``) in: its decoder and its output projection.

    Shapes must agree: the LM was built with the same tokenizer, width, depth and heads.
    """
    language = Qwen2ForCausalLM.from_pretrained(source)
    decoder = model.model.language_model
    try:
        decoder.load_state_dict(language.model.state_dict(), strict=True)
        model.lm_head.load_state_dict(language.lm_head.state_dict(), strict=True)
    except RuntimeError as error:
        raise InputError(
            source, f"the pretrained language model does not fit the base model: {error}"
        ) from error


def assemble(job: InitJob) -> LlavaActionForConditionalGeneration:
    """Build, check and save the base model; returns it."""
    tokenizer = AutoTokenizer.from_pretrained(job.tokenizer_dir)
    tower = SiglipVisionModel.from_pretrained(job.vision_dir)
    labels = LabelMap.from_annotations(load_annotation_dir(job.annotations_dir))
    config = base_config(tokenizer, tower, labels, job)
    torch.manual_seed(job.seed)
    model = LlavaActionForConditionalGeneration(config)
    load_tower(model, tower)
    if job.language_dir is not None:
        load_language(model, job.language_dir)
    end_generation_at_turns(tokenizer, model)
    processor = FrameProcessor.from_pretrained(job.vision_dir, config)
    with atomic_dir(job.out) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        processor.save_pretrained(staging)
        write_json(staging / PROVENANCE_FILE, provenance(job, labels))
    log.info("base model %s: %s", job.out, provenance(job, labels))
    return model


def provenance(job: InitJob, labels: LabelMap) -> dict[str, Any]:
    """Where the parts came from; the tower by its weights' sha256, so a retrained tower is visible."""
    return {
        "stage": "init: pretrained vision tower and language model (or a fresh one), fresh projector",
        "tokenizer": str(job.tokenizer_dir),
        "vision": str(job.vision_dir),
        "vision_sha256": sha256_file(job.vision_dir / SAFE_WEIGHTS_NAME),
        "language": job.language_dir and str(job.language_dir),
        "language_sha256": job.language_dir and sha256_file(job.language_dir / SAFE_WEIGHTS_NAME),
        "num_actions": len(labels.actions),
        "action_token": job.action_token,
        "visual_layout": job.visual_layout,
        "seed": job.seed,
    }
