"""The released models' validation input: resize the short side, centre-crop, normalise.

AVION (``scripts/main_lavila_finetune_cls.py``) and LaViLa (``main_finetune_classification.py``)
evaluate one clip and one crop: ``Resize(224)`` (the short side to 224, the long side
``int(224 * long / short)``), ``CenterCrop(224)`` (offsets ``int(round((side - 224) / 2))``) and
``NormalizeVideo`` with OpenAI CLIP's mean and std on 0-255 pixels. Frames themselves are the
16 segment midpoints of :func:`actionmqa.video.sampling.segment_midpoint_frames` (AVION's
``get_frame_ids`` without jitter). Resampling is bilinear with antialiasing (torchvision's
tensor ``Resize`` today); AVION's published numbers decoded through its own decord fork's
resize-and-crop, so pixels may differ slightly from theirs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: OpenAI CLIP's normalisation on 0-255 RGB, as both upstream scripts spell it.
MEAN: tuple[float, float, float] = (108.3272985, 116.7460125, 104.09373615000001)
STD: tuple[float, float, float] = (68.5005327, 66.6321579, 70.32316305)


def resized_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """``(height, width)`` after torchvision's ``Resize(short_side)``: the long side is truncated."""
    if height <= width:
        return short_side, int(short_side * width / height)
    return int(short_side * height / width), short_side


def crop_offsets(height: int, width: int, size: int) -> tuple[int, int]:
    """``(top, left)`` of torchvision's ``CenterCrop(size)``."""
    if height < size or width < size:
        raise ValueError(f"cannot centre-crop {size}x{size} from {height}x{width}")
    return int(round((height - size) / 2.0)), int(round((width - size) / 2.0))


def prepare_clip(
    frames: np.ndarray | torch.Tensor, size: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """uint8 RGB ``[T, H, W, 3]`` -> normalised float32 ``[T, 3, size, size]`` on ``device``."""
    clip = torch.as_tensor(frames).to(device)
    if clip.ndim != 4 or clip.shape[-1] != 3:
        raise ValueError(f"expected frames [T, H, W, 3], got {tuple(clip.shape)}")
    clip = clip.permute(0, 3, 1, 2).float()
    height, width = clip.shape[-2:]
    new_height, new_width = resized_size(height, width, size)
    if (new_height, new_width) != (height, width):
        clip = F.interpolate(
            clip, size=(new_height, new_width), mode="bilinear", align_corners=False, antialias=True
        )
    top, left = crop_offsets(new_height, new_width, size)
    clip = clip[:, :, top : top + size, left : left + size]
    mean = torch.tensor(MEAN, device=clip.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=clip.device).view(1, 3, 1, 1)
    return (clip - mean) / std
