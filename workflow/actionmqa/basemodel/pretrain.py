"""Pretraining the tower with the probe head: two cross-entropies (verb, noun), AdamW, warmup + cosine.

A plain loop, not the HF Trainer: the data is a tensor in memory, one process, a few hundred
steps; what matters is that the same seed gives the same tower.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from transformers import SiglipVisionConfig, SiglipVisionModel, get_cosine_schedule_with_warmup

from actionmqa.basemodel.clips import ClipSet, pixel_values
from actionmqa.basemodel.device import training_device
from actionmqa.basemodel.recipes import VisionRecipe
from actionmqa.basemodel.tower import ClipHead, frame_features
from actionmqa.model.processing import FrameProcessor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accuracy:
    """Top-1 accuracies on a set of clips; an action is right when both verb and noun are."""

    clips: int
    verb: float
    noun: float
    action: float


@dataclass
class PretrainedTower:
    tower: SiglipVisionModel
    head: ClipHead
    train: Accuracy
    heldout: Accuracy
    final_loss: float


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[np.ndarray]:
    """Endless seeded epochs over ``range(n)``, in full batches (a short tail is dropped)."""
    size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=generator).numpy()
        for start in range(0, n - size + 1, size):
            yield order[start : start + size]


def pretrain(
    clips: ClipSet,
    heldout: np.ndarray,
    config: SiglipVisionConfig,
    processor: FrameProcessor,
    recipe: VisionRecipe,
) -> PretrainedTower:
    """Train a fresh tower and head on the clips outside ``heldout``; measure both parts after."""
    torch.manual_seed(recipe.seed)
    tower = SiglipVisionModel(config)
    head = ClipHead(
        config.hidden_size, clips.n_frames, len(clips.verb_classes), len(clips.noun_classes), recipe.head
    )
    train_rows = np.flatnonzero(~heldout)
    if heldout.all() or not heldout.any():
        raise ValueError(f"need clips both to train on and held out, got {len(train_rows)} of {len(clips)}")
    device = training_device()
    tower, head = tower.to(device), head.to(device)
    log.info("pretraining the tower on %s", device)
    parameters = [*tower.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = get_cosine_schedule_with_warmup(
        optimizer, round(recipe.warmup_ratio * recipe.steps), recipe.steps
    )
    order = batches(len(train_rows), recipe.batch_size, torch.Generator().manual_seed(recipe.seed))
    tower.train()
    head.train()
    progress = tqdm(range(recipe.steps), desc="pretrain tower", unit="step")
    loss = torch.tensor(float("nan"))
    for _ in progress:
        rows = train_rows[next(order)]
        pixels = pixel_values(clips.frames[rows], processor).to(device)
        verb_logits, noun_logits = head(frame_features(tower, pixels))
        loss = nn.functional.cross_entropy(
            verb_logits, torch.from_numpy(clips.verbs[rows]).to(device)
        ) + nn.functional.cross_entropy(noun_logits, torch.from_numpy(clips.nouns[rows]).to(device))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(parameters, recipe.max_grad_norm)
        optimizer.step()
        schedule.step()
        progress.set_postfix(loss=f"{loss.item():.3f}")
    result = PretrainedTower(
        tower=tower.eval(),
        head=head.eval(),
        train=evaluate(tower, head, clips, train_rows, processor, recipe.eval_batch_size),
        heldout=evaluate(tower, head, clips, np.flatnonzero(heldout), processor, recipe.eval_batch_size),
        final_loss=float(loss.item()),
    )
    log.info("tower pretrained: train %s, held-out %s", result.train, result.heldout)
    return result


@torch.no_grad()
def evaluate(
    tower: SiglipVisionModel,
    head: ClipHead,
    clips: ClipSet,
    rows: np.ndarray,
    processor: FrameProcessor,
    batch_size: int,
) -> Accuracy:
    """Accuracies of the tower and head on ``rows`` of ``clips``."""
    verb_right, noun_right = [], []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        pixels = pixel_values(clips.frames[chunk], processor).to(tower.device)
        verb_logits, noun_logits = head(frame_features(tower, pixels))
        verb_right.append(verb_logits.argmax(-1).cpu().numpy() == clips.verbs[chunk])
        noun_right.append(noun_logits.argmax(-1).cpu().numpy() == clips.nouns[chunk])
    verbs, nouns = np.concatenate(verb_right), np.concatenate(noun_right)
    return Accuracy(
        clips=len(rows),
        verb=float(verbs.mean()),
        noun=float(nouns.mean()),
        action=float((verbs & nouns).mean()),
    )
