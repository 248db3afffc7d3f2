"""The paper's architectures as the config fields that fix their parameters; plain data, no torch.

Read by ``convert`` (a LLaVA-NeXT config names its tower by hub id) and ``random_init``
(the same shapes, untrained), and by the CLI for its choices without importing a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIGLIP_SO400M = "google/siglip-so400m-patch14-384"

#: Towers named by hub id in LLaVA-NeXT configs, as stored: 27 layers less the one LLaVA-NeXT deletes.
SIGLIP_PRESETS: dict[str, dict[str, int]] = {
    SIGLIP_SO400M: {
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_attention_heads": 16,
        "patch_size": 14,
        "image_size": 384,
        "num_hidden_layers": 26,
    },
}

#: The Qwen2 language models of LLaVA-OneVision-0.5B and LLaVA-Video-7B, from their config.json.
QWEN2_PRESETS: dict[str, dict[str, Any]] = {
    "Qwen/Qwen2-0.5B": {
        "vocab_size": 151936,
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "tie_word_embeddings": True,
    },
    "Qwen/Qwen2-7B": {
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "tie_word_embeddings": False,
    },
}


@dataclass(frozen=True)
class ModelShape:
    """A vision tower and a language model, each as the config fields that fix its parameters."""

    tower: Mapping[str, Any]
    language: Mapping[str, Any]


SHAPES: dict[str, ModelShape] = {
    "llava-onevision-qwen2-0.5b": ModelShape(SIGLIP_PRESETS[SIGLIP_SO400M], QWEN2_PRESETS["Qwen/Qwen2-0.5B"]),
    "llava-video-7b-qwen2": ModelShape(SIGLIP_PRESETS[SIGLIP_SO400M], QWEN2_PRESETS["Qwen/Qwen2-7B"]),
}
