"""From (prompt, answer, frames, action labels) to model inputs.

Frames go through transformers' ``SiglipImageProcessorPil`` (bicubic resize to a square, rescale
to [0, 1], normalise; PIL and numpy, no torchvision). The chat text itself comes fully formatted
from the caller; this module only expands the `<video>` placeholder, tokenises, pads and masks
the labels.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase, SiglipImageProcessorPil

from actionmqa.errors import InputError
from actionmqa.io import write_json
from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.layout import num_video_tokens
from actionmqa.model.modeling import HEADS, IGNORE_INDEX
from actionmqa.model.tokenizer import ACTION_TOKEN, END_OF_TURN, VIDEO_TOKEN

PREPROCESSOR_FILE = "preprocessor_config.json"
SIGLIP_MEAN = (0.5, 0.5, 0.5)
SIGLIP_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class FrameProcessor:
    """SigLIP frame preprocessing at the tower's ``size``, mean and std from ``preprocessor_config.json``."""

    size: int
    image_mean: tuple[float, float, float] = SIGLIP_MEAN
    image_std: tuple[float, float, float] = SIGLIP_STD

    @classmethod
    def from_pretrained(cls, model_dir: Path, config: LlavaActionConfig) -> FrameProcessor:
        """Size from the vision config (the tower's truth); mean and std from ``preprocessor_config.json``."""
        size = config.vision_config.image_size
        path = Path(model_dir) / PREPROCESSOR_FILE
        if not path.is_file():
            return cls(size)
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg})") from exc
        stats = {
            key: _three_floats(path, fields, key, default)
            for key, default in (("image_mean", SIGLIP_MEAN), ("image_std", SIGLIP_STD))
        }
        declared = fields.get("size", {"height": size, "width": size})
        if declared != {"height": size, "width": size}:
            raise InputError(path, f"{declared} disagrees with the vision tower's {size}x{size}", key="size")
        return cls(size, **stats)

    @cached_property
    def image_processor(self) -> SiglipImageProcessorPil:
        """transformers' SigLIP processor with these settings (its other defaults are SigLIP's own)."""
        return SiglipImageProcessorPil(
            size={"height": self.size, "width": self.size},
            image_mean=list(self.image_mean),
            image_std=list(self.image_std),
        )

    def save_pretrained(self, model_dir: Path) -> None:
        """Write the processor's ``preprocessor_config.json``, so other tools read the same preprocessing."""
        write_json(Path(model_dir) / PREPROCESSOR_FILE, json.loads(self.image_processor.to_json_string()))

    def __call__(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 RGB ``[frames, H, W, 3]`` -> float32 ``[frames, 3, size, size]``."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected uint8 frames [N, H, W, 3], got {frames.dtype} {tuple(frames.shape)}")
        return self.image_processor(
            list(frames), input_data_format="channels_last", return_tensors="pt"
        ).pixel_values

    def videos(self, clips: Sequence[np.ndarray]) -> torch.Tensor:
        """Equal-length clips -> ``pixel_values_videos`` ``[batch, frames, 3, size, size]``."""
        lengths = {len(clip) for clip in clips}
        if len(lengths) != 1:
            raise ValueError(f"videos in one batch need the same frame count, got {sorted(lengths)}")
        return torch.stack([self(clip) for clip in clips])


def _three_floats(
    path: Path, fields: dict, key: str, default: tuple[float, ...]
) -> tuple[float, float, float]:
    value = fields.get(key, default)
    if not (
        isinstance(value, list | tuple) and len(value) == 3 and all(isinstance(v, int | float) for v in value)
    ):
        raise InputError(path, f"expected three numbers (R, G, B), got {value!r}", key=key)
    return tuple(float(v) for v in value)


def expand_video_placeholder(text: str, n_tokens: int, action_token: bool) -> str:
    """Turn the prompt's one `<video>` into ``n_tokens`` of them, then `<action>` when the token is on."""
    found = text.count(VIDEO_TOKEN)
    if found != 1:
        raise ValueError(f"a video prompt needs exactly one {VIDEO_TOKEN}, found {found}")
    return text.replace(VIDEO_TOKEN, VIDEO_TOKEN * n_tokens + (ACTION_TOKEN if action_token else ""))


@dataclass(frozen=True)
class ChatSample:
    """One exchange: a fully formatted prompt (ending where the answer starts), and its answer and labels.

    ``answer`` is None when generating; ``frames`` are uint8 ``[N, H, W, 3]`` and need one `<video>`
    in the prompt; ``actions`` are (verb, noun, action) class ids, or None for non-EK samples.
    """

    prompt: str
    answer: str | None = None
    frames: np.ndarray | None = None
    actions: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class ChatCollator:
    """Tokenise, pad and label a batch of ``ChatSample``.

    Training pads on the right and supervises only the answer and the end-of-turn marker after
    it; generation pads on the left, so every row's last prompt token is at the end and new tokens
    follow it directly.
    """

    tokenizer: PreTrainedTokenizerBase
    config: LlavaActionConfig
    frame_processor: FrameProcessor
    train: bool = True
    end_of_turn: str = END_OF_TURN

    def __post_init__(self) -> None:
        if self.tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token")
        expected = {VIDEO_TOKEN: self.config.video_token_id}
        if self.config.action_token:
            expected[ACTION_TOKEN] = self.config.action_token_id
        for token, model_id in expected.items():
            if self.tokenizer.convert_tokens_to_ids(token) != model_id:
                raise ValueError(
                    f"tokenizer id of {token} is {self.tokenizer.convert_tokens_to_ids(token)}, "
                    f"the model expects {model_id}"
                )

    def __call__(self, samples: Sequence[ChatSample]) -> dict[str, torch.Tensor]:
        rows = [self.encode(sample) for sample in samples]
        batch = self.pad(rows)
        clips = [sample.frames for sample in samples if sample.frames is not None]
        if clips:
            batch["pixel_values_videos"] = self.frame_processor.videos(clips)
        if self.train:
            no_label = (-1,) * len(HEADS)
            batch["actions"] = torch.tensor(
                [sample.actions or no_label for sample in samples], dtype=torch.long
            )
        return batch

    def encode(self, sample: ChatSample) -> tuple[list[int], list[int]]:
        """Token ids and labels of one sample (labels empty when generating)."""
        prompt = sample.prompt
        if sample.frames is not None:
            n_tokens = num_video_tokens(self.config, len(sample.frames))
            prompt = expand_video_placeholder(prompt, n_tokens, self.config.action_token)
        elif VIDEO_TOKEN in prompt:
            raise ValueError(f"the prompt holds {VIDEO_TOKEN} but the sample has no frames")
        prompt_ids = self.tokenizer(prompt, add_special_tokens=False).input_ids
        if not self.train:
            return prompt_ids, []
        if sample.answer is None:
            raise ValueError("a training sample needs an answer")
        answer_ids = self.tokenizer(sample.answer + self.end_of_turn, add_special_tokens=False).input_ids
        return prompt_ids + answer_ids, [IGNORE_INDEX] * len(prompt_ids) + answer_ids

    def pad(self, rows: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
        length = max(len(ids) for ids, _ in rows)
        input_ids, attention_mask, labels = [], [], []
        for ids, row_labels in rows:
            fill = length - len(ids)
            if self.train:
                input_ids.append(ids + [self.tokenizer.pad_token_id] * fill)
                attention_mask.append([1] * len(ids) + [0] * fill)
                labels.append(row_labels + [IGNORE_INDEX] * fill)
            else:
                input_ids.append([self.tokenizer.pad_token_id] * fill + ids)
                attention_mask.append([0] * fill + [1] * len(ids))
        batch = {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "attention_mask": torch.tensor(attention_mask, dtype=torch.long),
        }
        if self.train:
            batch["labels"] = torch.tensor(labels, dtype=torch.long)
        return batch


__all__ = [
    "ChatCollator",
    "ChatSample",
    "FrameProcessor",
    "expand_video_placeholder",
    "num_video_tokens",
]
