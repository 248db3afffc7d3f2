"""LaViLa's EK100 multi-head classifier (``lavila/models/timesformer.py``, ``VideoClassifierMultiHead``).

A TimeSformer with divided space-time attention in Frozen-in-Time's form. In each block:

1. time attention: every patch token attends to the tokens at its spatial position in all
   frames, plus the CLS token; the CLS token attends to every token;
2. space attention over ``norm1(x + time)``: every patch token attends to the tokens of its own
   frame plus the CLS token; the CLS token again attends to every token;
3. ``x = x + space`` (the time branch only feeds the space attention, not the residual stream:
   upstream's ``space_residual = x + space_output``), then ``x + mlp(norm2(x))``.

Upstream details kept: QuickGELU; LayerNorm eps 1e-6 in the blocks and the final norm but
PyTorch's default 1e-5 in ``ln_pre``; a bias-free patch embedding; three linear heads (verb,
noun, action) on the final CLS token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.layers import (
    FusedSelfAttention,
    LinearPatchEmbed,
    Mlp,
    space_time_positions,
)

BLOCK_NORM_EPS = 1e-6
PRE_NORM_EPS = 1e-5


class DividedAttention(FusedSelfAttention):
    """Self-attention restricted to one frame (``space``) or one spatial position (``time``).

    The CLS token (position 0) attends to everything and is a key and value of every group.
    """

    def __init__(self, width: int, heads: int, frames: int, axis: str) -> None:
        super().__init__(width, heads)
        if axis not in ("space", "time"):
            raise ValueError(f"axis must be 'space' or 'time', got {axis!r}")
        self.frames = frames
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.heads_of(x)  # [B, H, 1 + F * N, d]
        batch, heads, length, dim = q.shape
        frames = self.frames
        per_frame = (length - 1) // frames
        cls_out = F.scaled_dot_product_attention(q[:, :, :1], k, v)

        def groups(t: torch.Tensor) -> torch.Tensor:
            # [B, H, F * N, d] -> [B, H, groups, members, d]
            t = t[:, :, 1:].reshape(batch, heads, frames, per_frame, dim)
            return t if self.axis == "space" else t.transpose(2, 3)

        q_, k_, v_ = groups(q), groups(k), groups(v)
        n_groups = q_.shape[2]
        cls_k = k[:, :, :1, None].expand(batch, heads, n_groups, 1, dim)
        cls_v = v[:, :, :1, None].expand(batch, heads, n_groups, 1, dim)
        out = F.scaled_dot_product_attention(q_, torch.cat([cls_k, k_], dim=3), torch.cat([cls_v, v_], dim=3))
        if self.axis == "time":
            out = out.transpose(2, 3)
        out = out.reshape(batch, heads, frames * per_frame, dim)
        return self.merge(torch.cat([cls_out, out], dim=2))


class TimeSformerBlock(nn.Module):
    """Time attention, then space attention, then the MLP (see the module docstring)."""

    def __init__(self, width: int, heads: int, frames: int) -> None:
        super().__init__()
        self.norm_time = nn.LayerNorm(width, eps=BLOCK_NORM_EPS)
        self.time_attn = DividedAttention(width, heads, frames, "time")
        self.norm1 = nn.LayerNorm(width, eps=BLOCK_NORM_EPS)
        self.attn = DividedAttention(width, heads, frames, "space")
        self.norm2 = nn.LayerNorm(width, eps=BLOCK_NORM_EPS)
        self.mlp = Mlp(width, 4 * width, "quick_gelu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time = self.time_attn(self.norm_time(x))
        x = x + self.attn(self.norm1(x + time))
        return x + self.mlp(self.norm2(x))


class TimeSformerClassifier(nn.Module):
    """``[B, T, 3, H, W]`` normalised frames -> ``{"verb", "noun", "action"}`` logits."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        if arch.family != "lavila_timesformer" or arch.n_verbs is None:
            raise ValueError(f"not a LaViLa multi-head TimeSformer architecture: {arch}")
        self.arch = arch
        width = arch.width
        self.patch_embed = LinearPatchEmbed(arch.patch, width)
        self.cls_token = nn.Parameter(torch.zeros(width))
        self.pos_embed = nn.Parameter(torch.zeros(1 + arch.tokens_per_frame, width))
        self.time_embed = nn.Parameter(torch.zeros(arch.frames, width))
        self.norm_pre = nn.LayerNorm(width, eps=PRE_NORM_EPS)
        self.blocks = nn.ModuleList(
            TimeSformerBlock(width, arch.heads, arch.frames) for _ in range(arch.layers)
        )
        self.norm = nn.LayerNorm(width, eps=BLOCK_NORM_EPS)
        self.heads = nn.ModuleDict({head: nn.Linear(width, arch.head_size(head)) for head in arch.heads_out})

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.patch_embed(video)
        cls = self.cls_token.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        x = x + space_time_positions(self.pos_embed, self.time_embed, self.arch.tokens_per_frame).to(x.dtype)
        x = self.norm_pre(x)
        for block in self.blocks:
            x = block(x)
        features = self.norm(x[:, 0])
        return {head: layer(features) for head, layer in self.heads.items()}
