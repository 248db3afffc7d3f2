"""Score clips with a converted specialist: decode in worker processes, batch, run on the GPU if any.

Decoding is the slow half on a GPU node, so ``workers`` DataLoader processes each take whole
videos (one reader per video, clips sorted by start: the cheap access pattern of
:class:`~actionmqa.video.readers.ClipReader`) and hand back raw frames; the main process
resizes, crops and normalises on the model's device in batches. Results go back to CSV row
order by row index, whatever order the workers finish in.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm import tqdm

from actionmqa.specialist.extraction import clip_requests
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.frames import prepare_clip
from actionmqa.specialist.released.scores import ScoreShard
from actionmqa.specialist.released.settings import InferenceConfig
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import VideoLayout
from actionmqa.video.readers import ClipReader, ClipRequest

log = logging.getLogger(__name__)


class ClipStream(IterableDataset):
    """``(row, frames, clipped)`` for every request; a worker takes every n-th video."""

    def __init__(self, requests: Sequence[ClipRequest], layout: VideoLayout, backend: Backend) -> None:
        self.requests = list(requests)
        self.layout = layout
        self.backend = backend

    def _mine(self) -> list[ClipRequest]:
        info = get_worker_info()
        if info is None:
            return self.requests
        videos = sorted({(r.participant_id, r.video_id) for r in self.requests})
        mine = set(videos[info.id :: info.num_workers])
        return [r for r in self.requests if (r.participant_id, r.video_id) in mine]

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, bool]]:
        with ClipReader(self.layout, backend=self.backend, max_open_videos=1) as reader:
            for clip in reader.clips(self._mine()):
                yield int(clip.request.key), clip.frames, clip.clipped


def score_segments(
    model: nn.Module,
    arch: Architecture,
    segments: pd.DataFrame,
    layout: VideoLayout,
    backend: Backend,
    config: InferenceConfig,
    meta: dict | None = None,
) -> ScoreShard:
    """Softmax probabilities of every head for every row of ``segments``, in its row order."""
    device = config.torch_device()
    dtype = config.autocast_dtype(device)
    model = model.to(device).eval()
    position = {int(row): i for i, row in enumerate(segments.index)}
    probs = {
        head: np.full((len(segments), arch.head_size(head)), np.nan, np.float32) for head in arch.heads_out
    }
    clipped: list[int] = []
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        video = torch.stack([prepare_clip(frames, arch.image_size, device) for _, frames in batch])
        autocast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            logits = model(video)
        slots = [position[row] for row, _ in batch]
        for head, values in logits.items():
            probs[head][slots] = torch.softmax(values.float(), dim=-1).cpu().numpy()
        batch.clear()

    stream = ClipStream(clip_requests(segments, arch.frames), layout, backend)
    loader = DataLoader(stream, batch_size=None, num_workers=config.workers)
    log.info(
        "scoring %d clips on %s (%s), batch %d, %d decode workers",
        len(segments),
        device,
        dtype or torch.float32,
        config.batch_size,
        config.workers,
    )
    for row, frames, was_clipped in tqdm(loader, total=len(segments), desc="clips", unit="clip"):
        batch.append((int(row), np.asarray(frames)))
        if was_clipped:
            clipped.append(int(row))
        if len(batch) == config.batch_size:
            flush()
    if batch:
        flush()
    missing = np.flatnonzero(np.isnan(probs["action"][:, 0]))
    if len(missing):
        first = segments.index[missing[:5]].tolist()
        raise RuntimeError(f"no frames came back for {len(missing)} clips (first rows: {first})")
    return ScoreShard(
        rows=segments.index.to_numpy(dtype=np.int64),
        probs=probs,
        clipped_rows=np.array(sorted(clipped), dtype=np.int64),
        meta=meta or {},
    )
