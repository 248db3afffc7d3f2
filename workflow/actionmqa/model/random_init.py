"""The paper's architectures with random weights: check a cluster's memory and speed before any download.

A toy model cannot show what the real recipe costs: ZeRO-3 partitioning of 0.9B or 8B parameters,
bf16 kernels, activation memory at 210 visual tokens a frame. A random model of the published
shape can, and it goes through the same ``train run`` and ``eval mqa`` as a converted checkpoint.
Its numbers mean nothing; its step time and peak memory are the real ones.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import torch
from transformers import Qwen2Config, SiglipVisionConfig

from actionmqa.io import atomic_dir, write_json
from actionmqa.model.configuration import LlavaActionConfig, llava_next_config
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.presets import ModelShape
from actionmqa.model.processing import FrameProcessor
from actionmqa.model.tokenizer import (
    ACTION_TOKEN,
    IMAGE_TOKEN,
    VIDEO_TOKEN,
    add_special_tokens,
    end_generation_at_turns,
    load_chat_tokenizer,
)

log = logging.getLogger(__name__)


def shaped_config(
    shape: ModelShape,
    placeholder_ids: Mapping[str, int],
    vocab_size: int,
    *,
    action_token: bool = True,
    visual_layout: Literal["hf", "llava_video"] = "llava_video",
) -> LlavaActionConfig:
    """The project's config for ``shape``, its vocabulary grown to the tokenizer's if that is larger."""
    text = Qwen2Config(**{**shape.language, "vocab_size": max(vocab_size, shape.language["vocab_size"])})
    tower = SiglipVisionConfig(**shape.tower, vision_use_head=False)
    return llava_next_config(
        tower, text, placeholder_ids, action_token=action_token, visual_layout=visual_layout
    )


def write_random_model(
    shape: ModelShape,
    tokenizer_dir: Path,
    out: Path,
    *,
    seed: int = 0,
    action_token: bool = True,
    visual_layout: Literal["hf", "llava_video"] = "llava_video",
    dtype: torch.dtype = torch.bfloat16,
) -> LlavaActionConfig:
    """Write a random model of ``shape`` with ``tokenizer_dir``'s tokenizer, laid out as ``convert`` writes.

    bf16 by default, the paper's training precision: half the memory and disk of fp32 at 8B.
    """
    tokenizer = load_chat_tokenizer(tokenizer_dir)
    ids = add_special_tokens(tokenizer, [IMAGE_TOKEN, VIDEO_TOKEN, ACTION_TOKEN])
    config = shaped_config(shape, ids, len(tokenizer), action_token=action_token, visual_layout=visual_layout)
    torch.manual_seed(seed)
    model = LlavaActionForConditionalGeneration._from_config(config, dtype=dtype)
    end_generation_at_turns(tokenizer, model)
    parameters = sum(p.numel() for p in model.parameters())
    with atomic_dir(out) as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        FrameProcessor(config.vision_config.image_size).save_pretrained(staging)
        # the shape is in config.json; this marks the weights as untrained and says how to redraw them
        write_json(staging / "random_init.json", {"seed": seed, "parameters": parameters})
    log.info("random model %s: %d parameters in %s", out, parameters, dtype)
    return config
