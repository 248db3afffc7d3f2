"""The SigLIP stand-in: a tiny SigLIP tower, the frame features the LLaVA model reads, and a probe head.

The tower is pretrained on exactly the features the LLaVA model will read from it: the hidden
states of ``FEATURE_LAYER`` (the model's ``vision_feature_layer``, all patches, no
``post_layernorm``), here mean-pooled over patches. The probe head sees the frames' pooled
features *in order*: the world's mirror verbs (take / put, open / close) show the same frames
in reverse, so only a tower that encodes each frame's state (hand and object position, lid and
door) lets an ordered head tell them apart. A time-pooled head, kept as the ablation, cannot.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import SiglipVisionConfig, SiglipVisionModel

from actionmqa.basemodel.recipes import HeadKind

#: ``tiny_config``'s ``vision_feature_layer``: the layer the LLaVA model projects.
FEATURE_LAYER = -1
#: Width of one attention head; the tower's heads are ``hidden // HEAD_DIM``.
HEAD_DIM = 32


def tower_config(image_size: int, patch_size: int, hidden: int, layers: int) -> SiglipVisionConfig:
    """A SigLIP vision config without the attention-pooling head (LLaVA never uses it)."""
    if image_size % patch_size:
        raise ValueError(f"image size {image_size} is not a multiple of the patch size {patch_size}")
    if hidden % HEAD_DIM:
        raise ValueError(f"hidden size {hidden} is not a multiple of the head width {HEAD_DIM}")
    return SiglipVisionConfig(
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // HEAD_DIM,
        image_size=image_size,
        patch_size=patch_size,
        vision_use_head=False,
    )


def frame_features(tower: SiglipVisionModel, pixels: torch.Tensor) -> torch.Tensor:
    """``[clips, frames, 3, S, S]`` -> ``[clips, frames, hidden]``: ``FEATURE_LAYER``, mean over patches."""
    clips, frames = pixels.shape[:2]
    out = tower(pixel_values=pixels.flatten(0, 1), output_hidden_states=True)
    return out.hidden_states[FEATURE_LAYER].mean(dim=1).unflatten(0, (clips, frames))


class ClipHead(nn.Module):
    """Verb and noun logits from per-frame features: concatenated in order, or averaged over time.

    A per-frame LayerNorm first, since the selected layer precedes the tower's own final norm.
    """

    def __init__(self, hidden: int, n_frames: int, n_verbs: int, n_nouns: int, kind: HeadKind = "ordered"):
        super().__init__()
        self.kind = kind
        self.norm = nn.LayerNorm(hidden)
        width = hidden * n_frames if kind == "ordered" else hidden
        self.verb = nn.Linear(width, n_verbs)
        self.noun = nn.Linear(width, n_nouns)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        normed = self.norm(features)
        clip = normed.flatten(1) if self.kind == "ordered" else normed.mean(dim=1)
        return self.verb(clip), self.noun(clip)
