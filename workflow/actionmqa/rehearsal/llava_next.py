"""LLaVA-NeXT-format checkpoints with random weights, as ``LlavaQwenForCausalLM.save_pretrained`` writes them.

The released checkpoints (LLaVA-Video-7B, LLaVA-OneVision, LLaVAction) are a Qwen2 ``config.json``
with LLaVA's ``mm_*`` fields (``llava_qwen_config``), the tokenizer, and safetensors shards of the
module tree LLaVA-NeXT builds (``llava/model/llava_arch.py``, ``language_model/llava_qwen.py``):

- ``LlavaQwenForCausalLM`` is a ``Qwen2ForCausalLM``: ``model.`` holds the Qwen2 model, ``lm_head``
  sits beside it (not stored when tied, as in Qwen2-0.5B);
- ``model.vision_tower.vision_tower`` is LLaVA-NeXT's ``SigLipVisionModel`` (its own copy of
  transformers 4's, whose ``vision_model`` holds the embeddings, encoder and norms that
  transformers 5's ``SiglipVisionModel`` holds directly), stored after LLaVA-NeXT deletes its last
  encoder layer and replaces its head by an identity;
- ``model.mm_projector`` is ``nn.Sequential(Linear, GELU, Linear)`` (``mlp2x_gelu``);
- ``model.image_newline`` one vector; LLaVAction adds ``model.action_supervision`` and bias-free
  ``verb_head``, ``noun_head``, ``action_head``.

``llava_next_tensors`` builds those modules (transformers' own classes, LLaVA-NeXT's names) at a
tiny size; ``write_llava_next`` lays a checkpoint out on disk. The rehearsal's hub models come
from here; the conversion's oracle test writes its files with ``write_llava_next`` from a key list
of its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, SiglipVisionConfig, SiglipVisionModel

#: Where a tiny checkpoint keeps its tower's config (the real ones name the hub id of SigLIP).
TOWER_DIR = "siglip_tower"
#: The language model's tensors go in the first shard, the tower and projector in the second.
VISUAL_PREFIXES = ("model.vision_tower.", "model.mm_projector.")
#: Qwen2 fields of ``config.json`` (those ``model.convert`` reads, and the tied-embedding switch).
QWEN2_CONFIG_FIELDS = (
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps", "rope_theta",
    "tie_word_embeddings", "use_sliding_window",
)  # fmt: skip


def llava_qwen_config(
    text: Mapping[str, Any], tower_hidden: int, newline_position: str, **fields: Any
) -> dict[str, Any]:
    """config.json as ``LlavaQwenForCausalLM.save_pretrained`` writes it: Qwen2 fields plus LLaVA's.

    ``text`` holds the Qwen2 fields (vocab, sizes, ``tie_word_embeddings``, ...); ``fields`` add or
    replace LLaVA's (e.g. LLaVAction's ``vision_supervision`` and ``action_types``).
    """
    return {
        "architectures": ["LlavaQwenForCausalLM"],
        "model_type": "llava_qwen",
        "hidden_act": "silu",
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "use_sliding_window": False,
        **text,
        "torch_dtype": "float32",
        "mm_vision_tower": TOWER_DIR,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_hidden_size": tower_hidden,
        "mm_patch_merge_type": "spatial_unpad",
        "mm_newline_position": newline_position,
        "mm_spatial_pool_mode": "bilinear",
        "mm_spatial_pool_stride": 2,
        "image_aspect_ratio": "anyres_max_9",
        **fields,
    }


def write_llava_next(
    folder: Path,
    tokenizer_dir: Path,
    tensors: Mapping[str, torch.Tensor],
    config: Mapping[str, Any],
    tower: SiglipVisionConfig,
) -> Path:
    """A checkpoint folder: tokenizer, config.json, the tower's config (all its layers, as released)
    and the tensors as two safetensors shards with an index."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tower.save_pretrained(folder / TOWER_DIR)
    visual = sorted(k for k in tensors if k.startswith(VISUAL_PREFIXES))
    language = sorted(k for k in tensors if k not in set(visual))
    weight_map = {}
    for index, keys in enumerate((language, visual), start=1):
        name = f"model-{index:05d}-of-00002.safetensors"
        save_file({k: tensors[k].contiguous() for k in keys}, folder / name)
        weight_map |= dict.fromkeys(keys, name)
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return folder


def random_tensors(shapes: Mapping[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Normal random tensors (x 0.2, so no weight is a default 0 or 1) under ``shapes``' names."""
    generator = torch.Generator().manual_seed(seed)
    return {name: 0.2 * torch.randn(shape, generator=generator) for name, shape in sorted(shapes.items())}


def llava_next_tensors(
    text: Qwen2Config, tower: SiglipVisionConfig, *, labels: tuple[int, int, int] | None, seed: int
) -> dict[str, torch.Tensor]:
    """The stored tensors of a LLaVA-NeXT model of these sizes, freshly initialised by transformers.

    ``labels`` (verbs, nouns, actions): LLaVAction's action token and heads; None: none.
    """
    torch.manual_seed(seed)
    tensors = dict(Qwen2ForCausalLM(text).state_dict())
    if text.tie_word_embeddings:
        tensors.pop("lm_head.weight")
    vision = SiglipVisionModel(SiglipVisionConfig(**{**tower.to_dict(), "vision_use_head": False}))
    last = tower.num_hidden_layers - 1  # LLaVA-NeXT: del vision_tower.vision_model.encoder.layers[-1:]
    for key, value in vision.state_dict().items():
        if not key.startswith(f"encoder.layers.{last}."):
            tensors[f"model.vision_tower.vision_tower.vision_model.{key}"] = value
    h = text.hidden_size
    projector = nn.Sequential(nn.Linear(tower.hidden_size, h), nn.GELU(), nn.Linear(h, h))
    tensors |= {f"model.mm_projector.{k}": v for k, v in projector.state_dict().items()}
    tensors["model.image_newline"] = torch.randn(h) / h**0.5
    if labels is not None:
        tensors["model.action_supervision"] = torch.randn(1, h) / h**0.5
        for head, size in zip(("verb", "noun", "action"), labels, strict=True):
            tensors[f"{head}_head.weight"] = nn.Linear(h, size, bias=False).weight.detach()
    return {k: v.detach().clone() for k, v in sorted(tensors.items())}
