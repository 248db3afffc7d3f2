"""A saved model with everything inference needs: weights, tokenizer, frame preprocessing, device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from actionmqa.determinism import compute_deterministically
from actionmqa.errors import InputError
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.processing import ChatCollator, FrameProcessor


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    model: LlavaActionForConditionalGeneration
    tokenizer: PreTrainedTokenizerBase
    frames: FrameProcessor

    @property
    def device(self) -> torch.device:
        return self.model.device

    def collator(self, train: bool, end_of_turn: str | None = None) -> ChatCollator:
        """Left-padded prompts for generation (``train=False``), or labelled answers for scoring."""
        extra: dict[str, Any] = {} if end_of_turn is None else {"end_of_turn": end_of_turn}
        return ChatCollator(self.tokenizer, self.model.config, self.frames, train=train, **extra)

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Move a batch to the model, pixels in the model's dtype."""
        moved = {key: value.to(self.device) for key, value in batch.items()}
        if "pixel_values_videos" in moved:
            moved["pixel_values_videos"] = moved["pixel_values_videos"].to(self.model.dtype)
        return moved


def load_model(path: Path) -> LoadedModel:
    """bf16 on a GPU (as upstream's ``prepare_llava``), fp32 on a CPU; eval mode, deterministic kernels."""
    compute_deterministically()
    path = Path(path)
    if not (path / "config.json").is_file():
        raise InputError(path / "config.json", "not a saved model folder (no config.json)")
    on_gpu = torch.cuda.is_available()
    model = LlavaActionForConditionalGeneration.from_pretrained(
        path, dtype=torch.bfloat16 if on_gpu else torch.float32
    )
    model = model.to("cuda" if on_gpu else "cpu").eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return LoadedModel(path, model, tokenizer, FrameProcessor.from_pretrained(path, model.config))
