"""SFT conversations as training samples: the clip's frames, the ChatML prompt, the answer, the action ids.

Decoding is the slow part of a step on a CPU (a tiny model's forward and backward take less
time than reading its clip), so clips can be decoded once, up front, into memory: one entry
per unique (video, start, end, frames), read grouped by video and sorted by start so each
file is opened once and decoded forward (``ClipCache``). That holds
``clips x frames x H x W x 3`` bytes of uint8 RGB, fine for the toy world and small sets,
not for the full EK100 mixture: there ``OnDemandClips`` reads each clip when its sample is
drawn, as upstream does. Frames stay uint8 in the cache (four times smaller than the float
pixels); the model's ``ChatCollator`` turns them into pixel values per batch, the same way
evaluation does.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from actionmqa.errors import InputError
from actionmqa.io import read_jsonl_models
from actionmqa.model.processing import ChatCollator, ChatSample
from actionmqa.prompts import chat_prompt
from actionmqa.sft.records import SFTRecord
from actionmqa.video.readers import ClipReader, ClipRequest

log = logging.getLogger(__name__)


def read_sft(paths: Sequence[Path]) -> list[SFTRecord]:
    """Every record of every file, in order; a bad line raises ``InputError`` naming file and line."""
    records = [record for path in paths for _, record in read_jsonl_models(path, SFTRecord, "SFT record")]
    repeated = sorted(key for key, count in Counter(record.id for record in records).items() if count > 1)
    if repeated:
        raise InputError(paths[0], f"SFT record ids repeat across the inputs: {repeated[:5]}", key="id")
    return records


def clip_request(record: SFTRecord, n_frames: int) -> ClipRequest:
    """The clip a record trains on; records with the same span and frame count share one key."""
    key = f"{record.video}@{record.start_timestamp:.3f}-{record.end_timestamp:.3f}x{n_frames}"
    return ClipRequest(
        key, record.participant_id, record.video_id, record.start_timestamp, record.end_timestamp, n_frames
    )


class ClipSource(Protocol):
    """Where a sample's frames come from: uint8 RGB ``[frames, H, W, 3]`` for a request."""

    def frames(self, request: ClipRequest) -> np.ndarray: ...


class ClipCache:
    """Every clip decoded once, up front, kept in memory (see the module docstring for the cost)."""

    def __init__(self, reader: ClipReader, requests: Iterable[ClipRequest]) -> None:
        unique = {request.key: request for request in requests}
        self._frames = {request.key: frames for request, frames in reader.read(unique.values())}
        self.nbytes = sum(frames.nbytes for frames in self._frames.values())
        log.info("decoded %d unique clips into memory (%.1f MiB)", len(self._frames), self.nbytes / 2**20)

    def frames(self, request: ClipRequest) -> np.ndarray:
        return self._frames[request.key]


@dataclass(frozen=True)
class OnDemandClips:
    """Reads a clip when its sample is drawn: no memory cost, one file open per clip."""

    reader: ClipReader

    def frames(self, request: ClipRequest) -> np.ndarray:
        ((_, frames),) = self.reader.read([request])
        return frames


@dataclass(frozen=True)
class TrainingSample:
    """A chat sample and the SFT record id it came from (for the per-rank sample log)."""

    id: str
    chat: ChatSample


class SFTDataset(torch.utils.data.Dataset):
    """Record ``i`` -> its ``TrainingSample``: ChatML prompt, answer, frames, (verb, noun, action)."""

    def __init__(self, records: Sequence[SFTRecord], clips: ClipSource, n_frames: int) -> None:
        self.records = list(records)
        self.clips = clips
        self.n_frames = n_frames

    def __len__(self) -> int:
        return len(self.records)

    def text_lengths(self, tokenizer: PreTrainedTokenizerBase) -> list[int]:
        """Tokens of each record's ChatML prompt and answer: what sets its padded length (every
        clip adds the same number of visual tokens)."""
        return [
            len(tokenizer(chat_prompt(user.value) + answer.value, add_special_tokens=False).input_ids)
            for user, answer in (record.conversations for record in self.records)
        ]

    def __getitem__(self, index: int) -> TrainingSample:
        record = self.records[index]
        user, answer = record.conversations
        chat = ChatSample(
            prompt=chat_prompt(user.value),
            answer=answer.value,
            frames=self.clips.frames(clip_request(record, self.n_frames)),
            actions=(record.verb_id, record.noun_id, record.action_id),  # -1: no label for that head
        )
        return TrainingSample(record.id, chat)


@dataclass(frozen=True)
class LoggingCollator:
    """The model's training collator, appending each batch's record ids to this rank's sample log.

    The log is what proves which samples a rank trained on (sharding, resume); ids are written
    as batches are drawn, which the data loader does one batch ahead of the optimizer.
    """

    collator: ChatCollator
    sample_log: Path

    def __call__(self, samples: Sequence[TrainingSample]) -> dict[str, torch.Tensor]:
        with open(self.sample_log, "a", encoding="utf-8") as handle:
            handle.writelines(f"{sample.id}\n" for sample in samples)
        return self.collator([sample.chat for sample in samples])
