"""Which tensor of a released checkpoint becomes which parameter here, and the shape it must have.

Written out key by key from the upstream model code, so that loading is strict in both
directions: a release key with no rule, or a rule with no release key, is an error.

AVION (``avion/models/transformer.py`` built with ``use_flash_attn`` and ``use_fast_conv1``,
wrapped in ``model_clip.VideoClassifier``): flash-attn's ``MHA`` names its fused projection
``Wqkv`` and its output ``out_proj``; its ``Mlp`` has ``fc1``/``fc2``; the fast patch embedding
``conv1`` is a bias-free ``Linear`` over ``(channel, row, column)`` pixels.

LaViLa (``lavila/models/timesformer.py`` ``SpaceTimeTransformer`` with ``ln_pre``, wrapped in
``models.VideoClassifierMultiHead``): timm-style ``qkv``/``proj`` for space (``attn``) and time
(``timeattn``) attention, ``norm3`` before time attention, a ``Conv2d`` patch embedding, and the
CLS, position and time tables stored with a leading batch axis of 1.

Both releases were saved from DistributedDataParallel, so every key carries ``module.``.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.specialist.released.architecture import Architecture

#: Prefix DistributedDataParallel puts on every key of the released files.
DDP_PREFIX = "module."


@dataclass(frozen=True)
class KeyRule:
    """Release tensor ``release`` (shape ``shape``) is our parameter ``ours``, reshaped to its shape."""

    release: str
    ours: str
    shape: tuple[int, ...]


def key_rules(arch: Architecture) -> list[KeyRule]:
    """Every tensor the release of ``arch`` holds, in file order, keys without ``module.``."""
    if arch.family == "avion_vit":
        return _avion_rules(arch)
    return _lavila_rules(arch)


def _linear(release: str, ours: str, n_out: int, n_in: int) -> list[KeyRule]:
    return [
        KeyRule(f"{release}.weight", f"{ours}.weight", (n_out, n_in)),
        KeyRule(f"{release}.bias", f"{ours}.bias", (n_out,)),
    ]


def _norm(release: str, ours: str, width: int) -> list[KeyRule]:
    return [
        KeyRule(f"{release}.weight", f"{ours}.weight", (width,)),
        KeyRule(f"{release}.bias", f"{ours}.bias", (width,)),
    ]


def _avion_rules(arch: Architecture) -> list[KeyRule]:
    d, p = arch.width, arch.patch
    rules = [
        KeyRule("visual.class_embedding", "cls_token", (d,)),
        KeyRule("visual.positional_embedding", "pos_embed", (1 + arch.tokens_per_frame, d)),
        KeyRule("visual.temporal_embedding", "time_embed", (arch.frames, d)),
        KeyRule("visual.conv1.weight", "patch_embed.proj.weight", (d, 3 * p * p)),
        *_norm("visual.ln_pre", "norm_pre", d),
    ]
    for i in range(arch.layers):
        up, ours = f"visual.transformer.resblocks.{i}", f"blocks.{i}"
        rules += [
            *_norm(f"{up}.ln_1", f"{ours}.norm1", d),
            *_linear(f"{up}.attn.Wqkv", f"{ours}.attn.qkv", 3 * d, d),
            *_linear(f"{up}.attn.out_proj", f"{ours}.attn.proj", d, d),
            *_norm(f"{up}.ln_2", f"{ours}.norm2", d),
            *_linear(f"{up}.mlp.fc1", f"{ours}.mlp.fc1", 4 * d, d),
            *_linear(f"{up}.mlp.fc2", f"{ours}.mlp.fc2", d, 4 * d),
        ]
    rules += [*_norm("visual.ln_post", "norm", d), *_linear("fc_cls", "head", arch.n_actions, d)]
    return rules


def _lavila_rules(arch: Architecture) -> list[KeyRule]:
    d, p = arch.width, arch.patch
    rules = [
        KeyRule("visual.cls_token", "cls_token", (1, 1, d)),
        KeyRule("visual.pos_embed", "pos_embed", (1, 1 + arch.tokens_per_frame, d)),
        KeyRule("visual.temporal_embed", "time_embed", (1, arch.frames, d)),
        KeyRule("visual.patch_embed.proj.weight", "patch_embed.proj.weight", (d, 3, p, p)),
        *_norm("visual.ln_pre", "norm_pre", d),
    ]
    for i in range(arch.layers):
        up, ours = f"visual.blocks.{i}", f"blocks.{i}"
        rules += [
            *_norm(f"{up}.norm1", f"{ours}.norm1", d),
            *_linear(f"{up}.attn.qkv", f"{ours}.attn.qkv", 3 * d, d),
            *_linear(f"{up}.attn.proj", f"{ours}.attn.proj", d, d),
            *_linear(f"{up}.timeattn.qkv", f"{ours}.time_attn.qkv", 3 * d, d),
            *_linear(f"{up}.timeattn.proj", f"{ours}.time_attn.proj", d, d),
            *_norm(f"{up}.norm2", f"{ours}.norm2", d),
            *_linear(f"{up}.mlp.fc1", f"{ours}.mlp.fc1", 4 * d, d),
            *_linear(f"{up}.mlp.fc2", f"{ours}.mlp.fc2", d, 4 * d),
            *_norm(f"{up}.norm3", f"{ours}.norm_time", d),
        ]
    rules += _norm("visual.norm", "norm", d)
    for index, head in enumerate(arch.heads_out):
        rules += _linear(f"fc_cls.{index}", f"heads.{head}", arch.head_size(head), d)
    return rules


def head_of(rule: KeyRule) -> str | None:
    """The classifier head a rule belongs to (``verb``, ``noun``, ``action``), else None."""
    parts = rule.ours.split(".")
    if parts[0] == "head":
        return "action"
    if parts[0] == "heads":
        return parts[1]
    return None
