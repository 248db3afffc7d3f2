"""Tiny LLaVAction configs: the toy world's base model and the tests' models, in seconds on a CPU.

Same architecture as the real ones (SigLIP tower, 2-layer GELU projector, Qwen2 language model),
only small; placeholder ids follow ``tokenizer.SPECIAL_TOKENS``, the order every tokenizer
trained by ``train_tokenizer`` has.
"""

from __future__ import annotations

from typing import Literal

from transformers import Qwen2Config, SiglipVisionConfig

from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.tokenizer import ACTION_TOKEN, IMAGE_TOKEN, PAD_TOKEN, VIDEO_TOKEN, special_token_id


def tiny_text_config(
    vocab_size: int,
    hidden: int,
    layers: int,
    heads: int,
    pad_token_id: int,
    max_position_embeddings: int = 8192,
    tie_word_embeddings: bool = True,
) -> Qwen2Config:
    """The language model of ``tiny_config``, alone (``base language`` pretrains it before assembly).

    Input and output embeddings are tied, as in Qwen2-0.5B: a word's embedding is then the
    direction that predicts it, which is what copying an option's text needs. Toy demo, generated
    hard / medium / random MQA of ``llavaction`` over fine-tuning seeds 0 and 1: 0.336, 0.320 /
    0.348, 0.340 / 0.532, 0.556 tied; 0.272, 0.272 / 0.276, 0.260 / 0.376, 0.348 untied.
    """
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=tie_word_embeddings,
        pad_token_id=pad_token_id,
    )


def tiny_config(
    vocab_size: int,
    *,
    image_size: int = 64,
    patch_size: int = 8,
    vision_hidden: int = 32,
    vision_layers: int = 2,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    num_verbs: int = 97,
    num_nouns: int = 300,
    num_actions: int = 3806,
    visual_layout: Literal["hf", "llava_video"] = "llava_video",
    spatial_pool_mode: Literal["bilinear", "average"] = "bilinear",
    action_token: bool = True,
    max_position_embeddings: int = 8192,
    tie_word_embeddings: bool = True,
    image_token_id: int = special_token_id(IMAGE_TOKEN),
    video_token_id: int = special_token_id(VIDEO_TOKEN),
    action_token_id: int = special_token_id(ACTION_TOKEN),
) -> LlavaActionConfig:
    """A small LlavaActionConfig; 64 px frames at patch 8 give 8x8 patches, 4x(4+1) = 20 tokens per frame.

    Placeholder ids default to those of ``train_tokenizer``; pass others for a tokenizer that
    gained its placeholders later (a converted checkpoint's).
    """
    vision_config = SiglipVisionConfig(
        hidden_size=vision_hidden,
        intermediate_size=2 * vision_hidden,
        num_hidden_layers=vision_layers,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
        vision_use_head=False,
    )
    text_config = tiny_text_config(
        vocab_size,
        hidden,
        layers,
        heads,
        special_token_id(PAD_TOKEN),
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=tie_word_embeddings,
    )
    return LlavaActionConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=image_token_id,
        video_token_index=video_token_id,
        action_token=action_token,
        action_token_id=action_token_id,
        num_verbs=num_verbs,
        num_nouns=num_nouns,
        num_actions=num_actions,
        visual_layout=visual_layout,
        spatial_pool_mode=spatial_pool_mode,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        image_grid_pinpoints=[[image_size, image_size]],
    )
