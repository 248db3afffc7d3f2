"""Convert LLaVA-NeXT-format checkpoints (LLaVA-Video, LLaVA-OneVision, LLaVAction) to this project's format.

The source is what ``LlavaQwenForCausalLM.save_pretrained`` writes: a Qwen2 ``config.json`` with
LLaVA's ``mm_*`` fields (and, for LLaVAction, ``vision_supervision`` / ``action_types``), the
Qwen2 tokenizer, and safetensors shards. The SigLIP tower is stored with its last layer already
removed and no head, so its last stored layer is the feature layer (``vision_feature_layer=-1``);
``mm_vision_select_layer`` is ignored by LLaVA-NeXT's SigLIP tower and here too.

The model here is video-only, so image-only fields (``image_aspect_ratio``, ``image_grid_pinpoints``)
are not carried over.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file
from transformers import Qwen2Config, SiglipVisionConfig

from actionmqa.errors import InputError
from actionmqa.io import atomic_dir, write_json
from actionmqa.model.configuration import LlavaActionConfig, llava_next_config
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.presets import SIGLIP_PRESETS
from actionmqa.model.processing import FrameProcessor
from actionmqa.model.provenance import CONVERSION_RECORD
from actionmqa.model.tokenizer import (
    ACTION_TOKEN,
    IMAGE_TOKEN,
    VIDEO_TOKEN,
    add_special_tokens,
    end_generation_at_turns,
    fit_embeddings,
    load_chat_tokenizer,
)

log = logging.getLogger(__name__)

ActionTokenMode = Literal["auto", "on", "off"]

#: (LLaVA-NeXT key prefix, our key prefix); read left to right to convert, right to left to export.
KEY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("model.embed_tokens.", "model.language_model.embed_tokens."),
    ("model.layers.", "model.language_model.layers."),
    ("model.norm.", "model.language_model.norm."),
    ("lm_head.", "lm_head."),
    ("model.vision_tower.vision_tower.vision_model.", "model.vision_tower."),
    ("model.mm_projector.0.", "model.multi_modal_projector.linear_1."),
    ("model.mm_projector.2.", "model.multi_modal_projector.linear_2."),
    ("model.image_newline", "model.image_newline"),
    ("model.action_supervision", "model.action_embedding"),
    ("verb_head.", "verb_head."),
    ("noun_head.", "noun_head."),
    ("action_head.", "action_head."),
)
ACTION_KEYS = ("model.action_embedding", "verb_head.weight", "noun_head.weight", "action_head.weight")

SIGLIP_FIELDS = ("hidden_size", "intermediate_size", "num_attention_heads", "patch_size", "image_size")

#: Qwen2 fields of a ``llava_qwen`` config.json that define the language model.
TEXT_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "hidden_act",
    "max_position_embeddings",
    "rms_norm_eps",
    "rope_theta",
    "tie_word_embeddings",
    "use_sliding_window",
    "sliding_window",
    "max_window_layers",
    "attention_dropout",
    "initializer_range",
    "bos_token_id",
    "eos_token_id",
)

NEWLINE_POSITIONS = {"grid": "llava_video", "one_token": "hf"}


@dataclass(frozen=True)
class LlavaNextCheckpoint:
    """A LLaVA-NeXT checkpoint folder as read: its config.json fields and its tensors (LLaVA-NeXT keys)."""

    path: Path
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def field(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)


def rename_keys(
    state_dict: Mapping[str, torch.Tensor], pairs: Iterable[tuple[str, str]], source: Path
) -> dict:
    """Rename by the first matching prefix; any key no prefix matches is an error, never dropped."""
    pairs = tuple(pairs)
    renamed, unknown = {}, []
    for key, tensor in state_dict.items():
        match = next(((old, new) for old, new in pairs if key.startswith(old)), None)
        if match is None:
            unknown.append(key)
            continue
        renamed[match[1] + key[len(match[0]) :]] = tensor
    if unknown:
        raise InputError(source, f"{len(unknown)} tensors of unknown role, e.g. {sorted(unknown)[:5]}")
    return renamed


def to_project_keys(state_dict: Mapping[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    """LLaVA-NeXT tensor names -> ours (rotary caches are recomputed, so ``inv_freq`` is dropped)."""
    kept = {k: v for k, v in state_dict.items() if not k.endswith(".inv_freq")}
    return rename_keys(kept, KEY_PREFIXES, source)


def to_llava_next_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our tensor names -> LLaVA-NeXT's: the inverse of ``to_project_keys``, for export and tests."""
    return rename_keys(state_dict, ((new, old) for old, new in KEY_PREFIXES), Path("<model>"))


def read_checkpoint(src: Path) -> LlavaNextCheckpoint:
    """config.json and every safetensors shard (by the index when there is one)."""
    src = Path(src)
    config_path = src / "config.json"
    if not config_path.is_file():
        raise InputError(src, "no config.json: not a checkpoint folder")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    index = src / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(
            {src / name for name in json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()}
        )
    else:
        shards = sorted(src.glob("*.safetensors"))
    if not shards:
        raise InputError(src, "no .safetensors weights (pickled .bin checkpoints are not loaded)")
    state_dict: dict[str, torch.Tensor] = {}
    for shard in shards:
        if not shard.is_file():
            raise InputError(index, f"names shard {shard.name}, which is missing")
        state_dict.update(load_file(shard))
    return LlavaNextCheckpoint(src, config, state_dict)


def text_config(checkpoint: LlavaNextCheckpoint) -> Qwen2Config:
    if checkpoint.field("model_type") != "llava_qwen":
        raise InputError(
            checkpoint.config_path,
            f"expected 'llava_qwen', got {checkpoint.field('model_type')!r}",
            key="model_type",
        )
    return Qwen2Config(**{k: checkpoint.config[k] for k in TEXT_FIELDS if k in checkpoint.config})


def vision_config(checkpoint: LlavaNextCheckpoint, weights: Mapping[str, torch.Tensor]) -> SiglipVisionConfig:
    """SigLIP preset by hub id, or the config.json of a local tower folder (depth: the stored layers)."""
    name = checkpoint.field("mm_vision_tower")
    if name is None:
        raise InputError(checkpoint.config_path, "missing", key="mm_vision_tower")
    if name in SIGLIP_PRESETS:
        fields = dict(SIGLIP_PRESETS[name])
    else:
        local = next((p for p in (checkpoint.path / name, Path(name)) if (p / "config.json").is_file()), None)
        if local is None:
            raise InputError(
                checkpoint.config_path,
                f"{name!r} is neither a known tower {sorted(SIGLIP_PRESETS)} nor a folder with config.json",
                key="mm_vision_tower",
            )
        tower = SiglipVisionConfig.from_pretrained(local)
        fields = {k: getattr(tower, k) for k in SIGLIP_FIELDS} | {"num_hidden_layers": stored_layers(weights)}
    config = SiglipVisionConfig(**fields, vision_use_head=False)
    _check_vision_shapes(config, weights, checkpoint.path)
    return config


def stored_layers(weights: Mapping[str, torch.Tensor]) -> int:
    prefix = "model.vision_tower.encoder.layers."
    return len({key[len(prefix) :].split(".")[0] for key in weights if key.startswith(prefix)})


def _check_vision_shapes(
    config: SiglipVisionConfig, weights: Mapping[str, torch.Tensor], source: Path
) -> None:
    """A wrong preset would load nothing sensible; the stored shapes say which tower it really is."""
    if stored_layers(weights) != config.num_hidden_layers:
        raise InputError(
            source,
            f"the tower has {config.num_hidden_layers} layers but the weights hold {stored_layers(weights)}",
            key="model.vision_tower.vision_tower.vision_model.encoder.layers",
        )
    side = config.image_size // config.patch_size
    expected = {
        "model.vision_tower.embeddings.patch_embedding.weight": (
            config.hidden_size,
            3,
            config.patch_size,
            config.patch_size,
        ),
        "model.vision_tower.embeddings.position_embedding.weight": (side * side, config.hidden_size),
        "model.vision_tower.encoder.layers.0.mlp.fc1.weight": (config.intermediate_size, config.hidden_size),
    }
    for key, shape in expected.items():
        found = tuple(weights[key].shape) if key in weights else None
        if found != shape:
            raise InputError(source, f"tower config expects shape {shape}, the weights hold {found}", key=key)


def visual_layout(checkpoint: LlavaNextCheckpoint) -> dict[str, str]:
    """Layout and pool mode from ``mm_newline_position``, ``mm_spatial_pool_*`` (or LLaVA-NeXT's defaults)."""
    path = checkpoint.config_path
    if checkpoint.field("mm_projector_type", "linear") != "mlp2x_gelu":
        raise InputError(
            path,
            f"only mlp2x_gelu is supported, got {checkpoint.field('mm_projector_type')!r}",
            key="mm_projector_type",
        )
    position = checkpoint.field("mm_newline_position", "one_token")
    if position not in NEWLINE_POSITIONS:
        raise InputError(
            path, f"supported: {sorted(NEWLINE_POSITIONS)}, got {position!r}", key="mm_newline_position"
        )
    mode = checkpoint.field("mm_spatial_pool_mode", "bilinear")
    if mode not in ("bilinear", "average"):
        raise InputError(path, f"supported: bilinear, average; got {mode!r}", key="mm_spatial_pool_mode")
    if checkpoint.field("mm_spatial_pool_stride", 2) != 2:
        raise InputError(
            path,
            f"only stride 2 is supported, got {checkpoint.field('mm_spatial_pool_stride')}",
            key="mm_spatial_pool_stride",
        )
    return {"visual_layout": NEWLINE_POSITIONS[position], "spatial_pool_mode": mode}


def action_fields(
    checkpoint: LlavaNextCheckpoint, weights: Mapping[str, torch.Tensor], mode: ActionTokenMode
) -> dict:
    """Whether the token is on, and the label-space sizes (from ``action_types``, else the head shapes)."""
    path = checkpoint.config_path
    supervision = checkpoint.field("vision_supervision")
    stored = "model.action_embedding" in weights
    if supervision is not None and not stored:
        raise InputError(
            path, f"{supervision!r}, but no model.action_supervision tensor", key="vision_supervision"
        )
    absent_heads = [key for key in ACTION_KEYS if key not in weights]
    if stored and absent_heads:
        raise InputError(checkpoint.path, f"model.action_supervision without its heads {absent_heads}")
    if stored and supervision not in (None, "one_token"):
        raise InputError(
            path, f"only the paper's one_token is supported, got {supervision!r}", key="vision_supervision"
        )
    if stored and tuple(weights["model.action_embedding"].shape[:1]) != (1,):
        raise InputError(
            path,
            f"one_token needs a [1, hidden] parameter, got {tuple(weights['model.action_embedding'].shape)}",
            key="model.action_supervision",
        )
    fields: dict[str, Any] = {"action_token": stored if mode == "auto" else mode == "on"}
    types = checkpoint.field("action_types")
    if types is not None:
        try:
            fields["num_verbs"], fields["num_nouns"], fields["num_actions"] = (
                int(n) for n in str(types).split(",")
            )
        except ValueError as exc:
            raise InputError(
                path, f"expected 'verbs,nouns,actions', got {types!r}", key="action_types"
            ) from exc
    elif stored:
        for name in ("verb", "noun", "action"):
            fields[f"num_{name}s"] = weights[f"{name}_head.weight"].shape[0]
    return fields


def convert(src: Path, out: Path, action_token: ActionTokenMode = "auto") -> LlavaActionConfig:
    """Write ``src`` (LLaVA-NeXT format) to ``out`` in ours: config, safetensors, tokenizer, preprocessor.

    ``<image>``, ``<video>`` and ``<action>`` are always added to the tokenizer, so the action token
    can be switched on later for training; its embedding and heads are written only when on.
    """
    checkpoint = read_checkpoint(src)
    weights = to_project_keys(checkpoint.state_dict, checkpoint.path)
    tokenizer = load_chat_tokenizer(checkpoint.path)
    ids = add_special_tokens(tokenizer, [IMAGE_TOKEN, VIDEO_TOKEN, ACTION_TOKEN])
    text = text_config(checkpoint)
    config = llava_next_config(
        vision_config(checkpoint, weights),
        text,
        ids,
        **visual_layout(checkpoint),
        **action_fields(checkpoint, weights, action_token),
    )
    if config.tie_word_embeddings:
        weights.pop("lm_head.weight", None)  # tied at load time upstream: a stored copy is never read
    if not config.action_token:
        for key in ACTION_KEYS:
            weights.pop(key, None)
    model, fresh = _load(config, weights, checkpoint.path)
    fit_embeddings(tokenizer, model)
    end_generation_at_turns(tokenizer, model)
    provenance = {
        "source": str(checkpoint.path),
        "action_token": "off" if not config.action_token else ("initialised" if fresh else "converted"),
        "visual_layout": config.visual_layout,
        "spatial_pool_mode": config.spatial_pool_mode,
        "source_tensors": len(checkpoint.state_dict),
    }
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        FrameProcessor.from_pretrained(checkpoint.path, config).save_pretrained(tmp)
        write_json(tmp / CONVERSION_RECORD, provenance)
    log.info("%s -> %s: %s", checkpoint.path, out, provenance)
    return config


def _load(
    config: LlavaActionConfig, weights: dict[str, torch.Tensor], source: Path
) -> tuple[LlavaActionForConditionalGeneration, list[str]]:
    """Build the model from converted tensors; only action-token parameters may be missing (drawn fresh)."""
    dtype = weights["model.language_model.embed_tokens.weight"].dtype
    model, info = LlavaActionForConditionalGeneration.from_pretrained(
        None, config=config, state_dict=weights, dtype=dtype, output_loading_info=True
    )
    unexpected = sorted(info["unexpected_keys"]) + sorted(str(k) for k in info["mismatched_keys"])
    missing = sorted(set(info["missing_keys"]) - set(ACTION_KEYS))
    if unexpected or missing:
        raise InputError(
            source,
            f"weights do not fit the model: unexpected or mismatched {unexpected[:5]}, missing {missing[:5]}",
        )
    fresh = sorted(set(info["missing_keys"]) & set(ACTION_KEYS))
    if fresh:
        log.info("action token switched on for a checkpoint without one: %s drawn fresh", ", ".join(fresh))
    return model, fresh
