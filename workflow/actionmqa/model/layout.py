"""Where a video's visual tokens go: 2x2 pooling of each frame's patch grid, then the newlines.

One module decides both the token count (for the processor, which writes that many `<video>`
placeholders) and the tensor arrangement (for the model, which fills them), so the two cannot
drift apart. LLaVA-NeXT's ``get_2dPool`` pools *after* the projector, as transformers does.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from actionmqa.model.configuration import LlavaActionConfig

#: LLaVA-NeXT's ``mm_spatial_pool_stride`` for video; transformers hard-codes it too.
POOL_STRIDE = 2


def patch_side(config: LlavaActionConfig) -> int:
    """Patches per side of one frame (27 for SigLIP at 384/14)."""
    return config.vision_config.image_size // config.vision_config.patch_size


def pooled_grid(config: LlavaActionConfig) -> tuple[int, int]:
    """(rows, columns) after pooling: bilinear rounds up (27 -> 14), average pooling down (27 -> 13)."""
    side = patch_side(config)
    pooled = math.ceil(side / POOL_STRIDE) if config.spatial_pool_mode == "bilinear" else side // POOL_STRIDE
    return pooled, pooled


def num_video_tokens(config: LlavaActionConfig, n_frames: int) -> int:
    """Visual tokens of an ``n_frames`` video: 210 per frame at 384/14 in the ``llava_video`` layout."""
    rows, cols = pooled_grid(config)
    if config.visual_layout == "hf":
        return n_frames * rows * cols + 1
    return n_frames * rows * (cols + 1)


def pool_frames(features: torch.Tensor, config: LlavaActionConfig) -> torch.Tensor:
    """``[frames, side*side, dim]`` projected patches -> ``[frames, rows, cols, dim]``."""
    side = patch_side(config)
    grid = features.view(features.shape[0], side, side, -1).permute(0, 3, 1, 2)
    if config.spatial_pool_mode == "bilinear":
        grid = nn.functional.interpolate(grid, size=pooled_grid(config), mode="bilinear")
    else:
        grid = nn.functional.avg_pool2d(grid, POOL_STRIDE)
    return grid.permute(0, 2, 3, 1)


def arrange_video(pooled: torch.Tensor, newline: torch.Tensor, config: LlavaActionConfig) -> torch.Tensor:
    """``[batch, frames, rows, cols, dim]`` -> ``[batch, tokens, dim]`` in the configured layout."""
    batch, frames, rows, cols, dim = pooled.shape
    newline = newline.to(pooled.dtype)
    if config.visual_layout == "hf":
        ending = newline.expand(batch, 1, dim)
        return torch.cat((pooled.reshape(batch, frames * rows * cols, dim), ending), dim=1)
    row_ends = newline.expand(batch, frames, rows, 1, dim)
    return torch.cat((pooled, row_ends), dim=3).reshape(batch, frames * rows * (cols + 1), dim)
