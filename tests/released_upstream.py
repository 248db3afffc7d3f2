"""The released models as their upstream code builds them, for the tests of the port.

Transliterated by hand from upstream into plain PyTorch (no einops, timm or flash-attn), keeping
upstream's module names, so that a ``state_dict()`` of these classes has the released files'
key layout and their forward passes are the reference the port must match. Nothing here comes
from ``actionmqa.specialist.released``.

- AVION (zhaoyue-zephyrus/AVION @ 31b00b6): ``avion/models/transformer.py`` ``VisionTransformer``
  with ``use_fast_conv1=True, use_flash_attn=True`` (the fine-tune flags of docs/MODEL_ZOO.md),
  whose blocks hold flash-attn's ``MHA`` (``Wqkv``, ``out_proj``; the reference attention of
  ``flash_attn/modules/mha.py::SelfAttention``) and ``Mlp`` (``fc1``, ``fc2``), wrapped in
  ``avion/models/model_clip.py`` ``VideoClassifier`` (``visual``, ``fc_cls``).
- LaViLa (facebookresearch/LaViLa @ 8002b5a): ``lavila/models/timesformer.py``
  ``SpaceTimeTransformer`` as ``CLIP_OPENAI_TIMESFORMER_LARGE`` configures it (``ln_pre=True``,
  QuickGELU, ``time_init='zeros'``), wrapped in ``lavila/models/models.py``
  ``VideoClassifierMultiHead`` (``visual``, ``fc_cls`` a ModuleList of verb, noun, action heads).
"""

from __future__ import annotations

import argparse
import math
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import torch
from torch import nn

# ---------------------------------------------------------------- AVION


class FlashMHA(nn.Module):
    """flash_attn.modules.mha.MHA (self-attention, bias=True) with its non-CUDA reference attention."""

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.Wqkv = nn.Linear(embed_dim, 3 * embed_dim, bias=True)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.Wqkv(x)
        b, s, _ = qkv.shape
        qkv = qkv.view(b, s, 3, self.num_heads, self.head_dim)  # '... (three h d) -> ... three h d'
        q, k, v = qkv.unbind(dim=2)
        softmax_scale = 1.0 / math.sqrt(q.shape[-1])
        scores = torch.einsum("bthd,bshd->bhts", q, k * softmax_scale)
        attention = torch.softmax(scores, dim=-1)
        context = torch.einsum("bhts,bshd->bthd", attention, v)
        return self.out_proj(context.reshape(b, s, self.num_heads * self.head_dim))


class FlashMlp(nn.Module):
    def __init__(self, in_features: int, hidden_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.activation = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation(self.fc1(x)))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model: int, n_head: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, eps=1e-6)
        self.attn = FlashMHA(d_model, n_head)
        self.ln_2 = nn.LayerNorm(d_model, eps=1e-6)
        self.mlp = FlashMlp(d_model, 4 * d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for r in self.resblocks:
            x = r(x)
        return x


class AvionVisionTransformer(nn.Module):
    def __init__(
        self, image_size: int, patch_size: int, width: int, layers: int, heads: int, num_frames: int
    ):
        super().__init__()
        self.patch_size = patch_size
        self.width = width
        grid = image_size // patch_size
        self.patches_per_frame = grid * grid
        self.conv1 = nn.Linear(in_features=3 * patch_size**2, out_features=width, bias=False)  # ln_pre on
        self.class_embedding = nn.Parameter(torch.randn(width))
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width))
        self.num_frames = num_frames
        self.temporal_embedding = nn.Parameter(torch.zeros(num_frames, width))
        self.ln_pre = nn.LayerNorm(width, eps=1e-6)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width, eps=1e-6)
        self.image_projection = None  # VideoClassifier sets it to None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # rearrange(x, "b c t (hh sh) (ww sw) -> b (t hh ww) (c sh sw)")
        b, c, t, h, w = x.shape
        p = self.patch_size
        x = x.reshape(b, c, t, h // p, p, w // p, p).permute(0, 2, 3, 5, 1, 4, 6).reshape(b, -1, c * p * p)
        x = self.conv1(x)
        zeros = torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([self.class_embedding.to(x.dtype) + zeros, x], dim=1)
        cls_embed = self.positional_embedding[0, :].unsqueeze(0)
        tile_pos_embed = self.positional_embedding[1:, :].repeat(self.num_frames, 1)
        tile_temporal_embed = self.temporal_embedding.repeat_interleave(self.patches_per_frame, 0)
        total_pos_embed = torch.cat([cls_embed, tile_pos_embed + tile_temporal_embed], dim=0)
        x = x + total_pos_embed.to(x.dtype).unsqueeze(0)
        x = self.ln_pre(x)
        x = self.transformer(x)
        return self.ln_post(x[:, 0])


class AvionVideoClassifier(nn.Module):
    def __init__(self, vision_model: AvionVisionTransformer, num_classes: int) -> None:
        super().__init__()
        self.visual = vision_model
        self.dropout = nn.Dropout(0.5)
        self.fc_cls = nn.Linear(vision_model.width, num_classes, bias=True)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(self.dropout(self.visual(image)))


# ---------------------------------------------------------------- LaViLa


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def attn(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    sim = torch.einsum("b i d, b j d -> b i j", q, k)
    return torch.einsum("b i j, b j d -> b i d", sim.softmax(dim=-1), v)


class VarAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, axis: str, f: int, n: int) -> torch.Tensor:
        h = self.num_heads
        b, length, dim = x.shape
        d = dim // h
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        # 'b n (h d) -> (b h) n d'
        q, k, v = (
            t.reshape(b, length, h, d).permute(0, 2, 1, 3).reshape(b * h, length, d) for t in (q, k, v)
        )
        q = q * self.scale
        (cls_q, q_), (cls_k, k_), (cls_v, v_) = ((t[:, 0:1], t[:, 1:]) for t in (q, k, v))
        cls_out = attn(cls_q, k, v)
        bh = q_.shape[0]
        if axis == "space":  # 'b (f n) d -> (b f) n d'
            q_, k_, v_ = (t.reshape(bh * f, n, d) for t in (q_, k_, v_))
        else:  # 'b (f n) d -> (b n) f d'
            q_, k_, v_ = (t.reshape(bh, f, n, d).transpose(1, 2).reshape(bh * n, f, d) for t in (q_, k_, v_))
        r = q_.shape[0] // cls_k.shape[0]
        cls_k, cls_v = (t.repeat_interleave(r, dim=0) for t in (cls_k, cls_v))  # 'b () d -> (b r) () d'
        out = attn(q_, torch.cat((cls_k, k_), dim=1), torch.cat((cls_v, v_), dim=1))
        if axis == "space":  # '(b f) n d -> b (f n) d'
            out = out.reshape(bh, f * n, d)
        else:  # '(b n) f d -> b (f n) d'
            out = out.reshape(bh, n, f, d).transpose(1, 2).reshape(bh, f * n, d)
        out = torch.cat((cls_out, out), dim=1)
        out = (
            out.reshape(b, h, length, d).permute(0, 2, 1, 3).reshape(b, length, h * d)
        )  # '(b h) n d -> b n (h d)'
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, in_features: int, hidden_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = QuickGELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SpaceTimeBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = VarAttention(dim, num_heads)
        self.timeattn = VarAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.norm3 = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, time_n: int, space_f: int) -> torch.Tensor:
        time_output = self.timeattn(self.norm3(x), "time", space_f, time_n)
        time_residual = x + time_output
        space_output = self.attn(self.norm1(time_residual), "space", space_f, time_n)
        space_residual = x + space_output
        return space_residual + self.mlp(self.norm2(space_residual))


class VideoPatchEmbed(nn.Module):
    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size, bias=False)


class SpaceTimeTransformer(nn.Module):
    def __init__(
        self, img_size: int, patch_size: int, embed_dim: int, depth: int, num_heads: int, num_frames: int
    ):
        super().__init__()
        self.num_frames = num_frames
        self.embed_dim = embed_dim
        self.patch_embed = VideoPatchEmbed(patch_size, embed_dim)
        self.patches_per_frame = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patches_per_frame + 1, embed_dim))
        self.temporal_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dim))
        self.ln_pre = nn.LayerNorm(embed_dim)
        self.blocks = nn.ModuleList([SpaceTimeBlock(embed_dim, num_heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 1, 3, 4).contiguous()  # B C T H W => B T C H W
        b, curr_frames, channels, _, _ = x.shape
        x = self.patch_embed.proj(x.view(-1, channels, *x.shape[-2:]))
        x = x.flatten(2).transpose(2, 1)
        x = x.reshape(b, -1, self.embed_dim)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        cls_embed = self.pos_embed[:, 0, :].unsqueeze(1)
        tile_pos_embed = self.pos_embed[:, 1:, :].repeat(1, self.num_frames, 1)
        tile_temporal_embed = self.temporal_embed.repeat_interleave(self.patches_per_frame, 1)
        total_pos_embed = torch.cat([cls_embed, tile_pos_embed + tile_temporal_embed], dim=1)
        x = x + total_pos_embed[:, : x.shape[1]]
        x = self.ln_pre(x)
        for blk in self.blocks:
            x = blk(x, time_n=self.patches_per_frame, space_f=curr_frames)
        return self.norm(x)[:, 0]


class VideoClassifierMultiHead(nn.Module):
    def __init__(self, vision_model: SpaceTimeTransformer, num_classes_list: list[int]) -> None:
        super().__init__()
        self.visual = vision_model
        self.dropout = nn.Dropout(0.5)
        self.fc_cls = nn.ModuleList(
            [nn.Linear(vision_model.embed_dim, num_classes, bias=True) for num_classes in num_classes_list]
        )

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        embed = self.visual(image)
        return [m(self.dropout(embed)) for m in self.fc_cls]


# ---------------------------------------------------------------- release files


def randomise(model: nn.Module, seed: int) -> nn.Module:
    """Every weight drawn at random (upstream's zero-initialised tables would hide mistakes)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * 0.2
            parameter.copy_(
                1.0 + noise if name.endswith(("ln_1.weight", "ln_2.weight", "norm1.weight")) else noise
            )
    return model.eval()


def write_release(path: Path, model: nn.Module, actions: list[str], *, prefix: str = "module.") -> None:
    """``torch.save`` as both fine-tune scripts save: DDP-prefixed weights beside optimizer, scaler,
    epoch, best accuracy and the argparse ``args`` (which carry the label space as a DataFrame)."""
    state = OrderedDict((prefix + key, value) for key, value in model.state_dict().items())
    verbs = [int(vn.split(":")[0]) for vn in actions]
    nouns = [int(vn.split(":")[1]) for vn in actions]
    args = argparse.Namespace(
        dataset="ek100_cls", clip_length=4, actions=pd.DataFrame({"verb": verbs, "noun": nouns})
    )
    momentum = {i: {"momentum_buffer": torch.zeros_like(v)} for i, v in enumerate(state.values())}
    torch.save(
        {
            "epoch": 90,
            "state_dict": state,
            "optimizer": {"state": momentum, "param_groups": [{"lr": 1e-5}]},
            "scaler": {"scale": 65536.0},
            "best_acc1": 54.4,
            "args": args,
        },
        path,
    )
