"""Transformer pieces both released video models are built from, in plain PyTorch.

Both AVION's ViT and LaViLa's TimeSformer project queries, keys and values with one linear layer
whose output is laid out ``(three heads dim)`` (flash-attn's ``Wqkv``, timm's ``qkv``, the same
layout as ``nn.MultiheadAttention.in_proj_weight``), attend with the ``1/sqrt(dim)`` scale, and
project back. Attention runs through ``scaled_dot_product_attention``, which picks a fused kernel
on a GPU and needs no flash-attn. Patches are embedded by one linear layer over each patch's
pixels in ``(channel, row, column)`` order, which is a stride-``p`` convolution written as a matmul.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)`` (LaViLa's TimeSformer uses it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


ACTIVATIONS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "quick_gelu": QuickGELU}


class Mlp(nn.Module):
    """``fc2(act(fc1(x)))``: the transformer block's feed-forward part."""

    def __init__(self, width: int, hidden: int, activation: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = ACTIVATIONS[activation]()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class FusedSelfAttention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection and an output ``proj``.

    ``heads_of`` and ``merge`` are exposed so that attention patterns other than "every token
    with every token" (the TimeSformer's divided space-time attention) reuse the projections.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def heads_of(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[B, L, D]`` -> queries, keys, values, each ``[B, heads, L, D / heads]``."""
        batch, length, width = x.shape
        qkv = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        return q, k, v

    def merge(self, out: torch.Tensor) -> torch.Tensor:
        """``[B, heads, L, d]`` -> ``[B, L, heads * d]`` through the output projection."""
        batch, heads, length, dim = out.shape
        return self.proj(out.transpose(1, 2).reshape(batch, length, heads * dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(F.scaled_dot_product_attention(*self.heads_of(x)))


class LinearPatchEmbed(nn.Module):
    """Non-overlapping ``p x p`` patches of every frame, embedded by one bias-free linear layer.

    ``[B, T, 3, H, W]`` -> ``[B, T * (H/p) * (W/p), D]``, tokens in (frame, row, column) order and
    each patch's pixels flattened as (channel, row, column): the order of a ``Conv2d`` weight
    ``[D, 3, p, p]`` flattened, so ``weight = conv.weight.reshape(D, -1)`` gives the same output.
    """

    def __init__(self, patch: int, width: int, channels: int = 3) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(channels * patch * patch, width, bias=False)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        batch, frames, channels, height, width = video.shape
        p = self.patch
        if height % p or width % p:
            raise ValueError(f"frames of {height}x{width} do not divide into {p}x{p} patches")
        patches = video.reshape(batch, frames, channels, height // p, p, width // p, p)
        patches = patches.permute(0, 1, 3, 5, 2, 4, 6)
        return self.proj(patches.reshape(batch, frames * (height // p) * (width // p), channels * p * p))


def space_time_positions(
    pos_embed: torch.Tensor, time_embed: torch.Tensor, tokens_per_frame: int
) -> torch.Tensor:
    """``[1 + T * N, D]``: the CLS position, then each frame's spatial positions plus its time embedding.

    The spatial table is tiled over frames (``[1, 2, 3] -> [1, 2, 3, 1, 2, 3]``) and the temporal
    one repeated within each frame (``[a, b] -> [a, a, a, b, b, b]``), as both upstream models do.
    """
    frames = time_embed.shape[0]
    patches = pos_embed[1:].repeat(frames, 1) + time_embed.repeat_interleave(tokens_per_frame, 0)
    return torch.cat([pos_embed[:1], patches], dim=0)
