"""Train clips decoded once into memory, with dense class targets and a seeded held-out part.

Pretraining revisits every clip for many epochs; decoding costs about as much as a training
step, so the uint8 frames are kept (8 x 64 x 64 x 3 bytes per toy clip, 100 MB for the world)
and only normalised per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from actionmqa.model.processing import FrameProcessor
from actionmqa.seeding import rng_for
from actionmqa.sft.segments import Segment
from actionmqa.video.readers import ClipReader, ClipRequest


@dataclass(frozen=True)
class ClipSet:
    """uint8 frames ``[clips, frames, H, W, 3]``, and each clip's verb and noun as dense indices.

    ``verb_classes[i]`` is the EK100 class id of dense verb index ``i`` (likewise nouns): the head
    only needs as many outputs as the world has classes, and the ids stay recoverable.
    """

    keys: tuple[str, ...]
    frames: np.ndarray
    verbs: np.ndarray
    nouns: np.ndarray
    verb_classes: tuple[int, ...]
    noun_classes: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def n_frames(self) -> int:
        return self.frames.shape[1]


def dense(ids: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Class ids -> (dense index per item, sorted distinct ids)."""
    classes = tuple(sorted(set(ids)))
    index = {class_id: i for i, class_id in enumerate(classes)}
    return np.array([index[i] for i in ids], dtype=np.int64), classes


def decode_clips(segments: Sequence[Segment], reader: ClipReader, n_frames: int) -> ClipSet:
    """Decode ``n_frames`` segment-midpoint frames of each segment; clips stay in ``segments`` order."""
    requests = [
        ClipRequest(s.key, s.participant_id, s.video_id, s.start_sec, s.stop_sec, n_frames) for s in segments
    ]
    decoded = dict(tqdm(reader.read(requests), total=len(requests), desc="decode clips", unit="clip"))
    verbs, verb_classes = dense([s.verb_class for s in segments])
    nouns, noun_classes = dense([s.noun_class for s in segments])
    return ClipSet(
        keys=tuple(s.key for s in segments),
        frames=np.stack([decoded[request] for request in requests]),
        verbs=verbs,
        nouns=nouns,
        verb_classes=verb_classes,
        noun_classes=noun_classes,
    )


def heldout_mask(keys: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    """A seeded ``fraction`` of the clips (rounded, at least one) to measure generalisation on."""
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must be in (0, 1), got {fraction}")
    order = rng_for(seed, "base-vision", "heldout").permutation(len(keys))
    mask = np.zeros(len(keys), dtype=bool)
    mask[order[: max(1, round(fraction * len(keys)))]] = True
    return mask


def pixel_values(frames: np.ndarray, processor: FrameProcessor) -> torch.Tensor:
    """uint8 ``[clips, frames, H, W, 3]`` -> ``[clips, frames, 3, S, S]``, as ``processor.videos`` computes.

    At the processor's size its bicubic resize is the identity and most of its cost (a PIL call
    per frame, as long as a training step), so such frames are only rescaled and normalised here.
    """
    if frames.shape[2:4] != (processor.size, processor.size):
        return processor.videos(list(frames))
    scaled = torch.from_numpy(frames).float() / 255.0
    mean, std = torch.tensor(processor.image_mean), torch.tensor(processor.image_std)
    return ((scaled - mean) / std).permute(0, 1, 4, 2, 3).contiguous()
