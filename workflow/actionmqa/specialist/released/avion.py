"""AVION's EK100 action classifier (``avion/models/transformer.py``, ``model_clip.VideoClassifier``).

A CLIP ViT over all frames at once: ``frames x patches`` tokens plus one CLS token attend jointly
in every block, positions are a spatial table tiled over frames plus a temporal table, and a
linear head reads the final CLS token. Upstream details kept: LayerNorm eps 1e-6 everywhere,
exact ``nn.GELU`` (the ``use_quick_gelu`` flag of its fine-tune script is swallowed by
``**kwargs``), a bias-free patch embedding (``ln_pre`` is on), no image projection.
"""

from __future__ import annotations

import torch
from torch import nn

from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.layers import (
    FusedSelfAttention,
    LinearPatchEmbed,
    Mlp,
    space_time_positions,
)

LAYER_NORM_EPS = 1e-6


class AvionBlock(nn.Module):
    """Pre-norm residual block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.attn = FusedSelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(width, 4 * width, "gelu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class AvionClassifier(nn.Module):
    """``[B, T, 3, H, W]`` normalised frames -> ``{"action": [B, n_actions]}`` logits."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        if arch.family != "avion_vit" or arch.n_verbs is not None:
            raise ValueError(f"not an AVION single-head architecture: {arch}")
        self.arch = arch
        width = arch.width
        self.patch_embed = LinearPatchEmbed(arch.patch, width)
        self.cls_token = nn.Parameter(torch.zeros(width))
        self.pos_embed = nn.Parameter(torch.zeros(1 + arch.tokens_per_frame, width))
        self.time_embed = nn.Parameter(torch.zeros(arch.frames, width))
        self.norm_pre = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.blocks = nn.ModuleList(AvionBlock(width, arch.heads) for _ in range(arch.layers))
        self.norm = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(width, arch.n_actions)

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.patch_embed(video)
        cls = self.cls_token.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        x = x + space_time_positions(self.pos_embed, self.time_embed, self.arch.tokens_per_frame).to(x.dtype)
        x = self.norm_pre(x)
        for block in self.blocks:
            x = block(x)
        return {"action": self.head(self.norm(x[:, 0]))}
