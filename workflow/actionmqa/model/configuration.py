"""Configuration of the LLaVAction model: LLaVA-OneVision plus the action token and its heads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from huggingface_hub.dataclasses import strict
from transformers import LlavaOnevisionConfig, PretrainedConfig

from actionmqa.model.tokenizer import ACTION_TOKEN, IMAGE_TOKEN, VIDEO_TOKEN

#: The paper's ``last_layer`` run: 0.1 x (0.5, 0.5, 0.1) / 2 (one used layer + 1), spec §3.2.
PAPER_ACTION_LOSS_WEIGHTS = {"verb": 0.025, "noun": 0.025, "action": 0.005}


@strict
class LlavaActionConfig(LlavaOnevisionConfig):
    r"""
    action_token (`bool`, defaults to `False`):
        The ablation switch. On: one learned `<action>` embedding follows the visual block and bias-free
        verb, noun and action heads read the last hidden state there. Off: plain LLaVA-OneVision, no token,
        no heads.
    action_token_id (`int`, *optional*):
        Id of the `<action>` placeholder in the tokenizer; required when `action_token` is on.
    num_verbs, num_nouns, num_actions (`int`):
        Sizes of the three label spaces (EK100: 97, 300, 3806).
    action_loss_weights (`dict[str, float]`, *optional*):
        Weights of the verb, noun and action cross-entropies added to the LM loss.
    visual_layout (`"hf"` or `"llava_video"`):
        `"hf"`: pooled frames, then one newline after the whole video (transformers, LLaVA-OV `one_token`).
        `"llava_video"`: per frame, the pooled grid with a newline after every row (LLaVA-Video `grid`).
    spatial_pool_mode (`"bilinear"` or `"average"`):
        The 2x2 pooling of LLaVA-NeXT's `get_2dPool`: bilinear resize to ceil(n/2), or average pooling
        to floor(n/2).
    """

    model_type = "llava_action"

    action_token: bool = False
    action_token_id: int | None = None
    num_verbs: int = 97
    num_nouns: int = 300
    num_actions: int = 3806
    action_loss_weights: dict[str, float] | None = None
    visual_layout: Literal["hf", "llava_video"] = "llava_video"
    spatial_pool_mode: Literal["bilinear", "average"] = "bilinear"

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.action_loss_weights is None:
            self.action_loss_weights = dict(PAPER_ACTION_LOSS_WEIGHTS)

    def validate_action_token(self):
        """An enabled token needs its placeholder id, one weight per head and non-empty label spaces."""
        if self.action_token and self.action_token_id is None:
            raise ValueError("action_token is on but action_token_id is not set")
        if set(self.action_loss_weights) != set(PAPER_ACTION_LOSS_WEIGHTS):
            raise ValueError(
                f"action_loss_weights needs exactly the keys {sorted(PAPER_ACTION_LOSS_WEIGHTS)}, "
                f"got {sorted(self.action_loss_weights)}"
            )
        for name in ("num_verbs", "num_nouns", "num_actions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    def validate_visual_layout(self):
        """``Literal`` fields are not checked by ``@strict``; a typo would silently pick a code path."""
        if self.visual_layout not in ("hf", "llava_video"):
            raise ValueError(f"visual_layout must be 'hf' or 'llava_video', got {self.visual_layout!r}")
        if self.spatial_pool_mode not in ("bilinear", "average"):
            raise ValueError(
                f"spatial_pool_mode must be 'bilinear' or 'average', got {self.spatial_pool_mode!r}"
            )


def llava_next_config(
    vision_config: PretrainedConfig,
    text_config: PretrainedConfig,
    placeholder_ids: Mapping[str, int],
    **fields: Any,
) -> LlavaActionConfig:
    """What every LLaVA-NeXT checkpoint shares: the tower's last stored layer, all its patches, a GELU
    MLP projector with biases, and the language model's own embedding tying; ``fields`` add the rest."""
    return LlavaActionConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=placeholder_ids[IMAGE_TOKEN],
        video_token_index=placeholder_ids[VIDEO_TOKEN],
        action_token_id=placeholder_ids[ACTION_TOKEN],
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        projector_hidden_act="gelu",
        multimodal_projector_bias=True,
        tie_word_embeddings=text_config.tie_word_embeddings,
        **fields,
    )


__all__ = ["LlavaActionConfig", "PAPER_ACTION_LOSS_WEIGHTS", "llava_next_config"]
