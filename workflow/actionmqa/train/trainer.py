"""The HF Trainer, specialised for LLaVAction: tuned parts, the vision tower's own learning rate, loss terms.

Upstream's ``LLaVATrainer.create_optimizer`` gives the vision tower ``mm_vision_tower_lr``
(2e-6), the projector ``mm_projector_lr`` when set, and everything else the main rate (1e-5);
``mm_tunable_parts`` decides what trains at all. The loss is logged apart (LM, verb, noun,
action) so the curve shows whether the action heads learn, not only their weighted sum.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import Sampler
from transformers import Trainer

from actionmqa.model.modeling import HEADS
from actionmqa.train.recipe import TunablePart
from actionmqa.train.sampling import LengthGroupedBatches

log = logging.getLogger(__name__)

VISION_TOWER = "model.vision_tower."
PROJECTOR = "model.multi_modal_projector."
#: The loss terms a LlavaActionOutput carries besides ``loss``, in CSV order.
LOSS_TERMS = ("lm_loss", *(f"{head}_loss" for head in HEADS))


def tunable_part(name: str) -> TunablePart:
    """Upstream's split: vision tower, projector, and everything else (LM, newline, action token, heads)."""
    if name.startswith(VISION_TOWER):
        return "mm_vision_tower"
    if name.startswith(PROJECTOR):
        return "mm_mlp_adapter"
    return "mm_language_model"


def freeze_untuned(model: nn.Module, parts: Sequence[TunablePart]) -> dict[TunablePart, int]:
    """Train only ``parts``; returns the trainable parameter count per part (for the log)."""
    counts: dict[TunablePart, int] = {}
    for name, param in model.named_parameters():
        part = tunable_part(name)
        param.requires_grad_(part in parts)
        if part in parts:
            # ZeRO-3 partitions at load time; ``ds_numel`` is the full size of a partitioned tensor
            counts[part] = counts.get(part, 0) + getattr(param, "ds_numel", param.numel())
    return counts


class LossTerms:
    """Per-micro-batch loss terms summed between two log lines, averaged like the Trainer's ``loss``."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.batches = 0

    def add(self, outputs: Any) -> None:
        self.batches += 1
        for term in LOSS_TERMS:
            value = outputs.get(term)
            if value is not None:
                self.sums[term] = self.sums.get(term, 0.0) + float(value.detach())

    def pop_means(self, trainer: Trainer) -> dict[str, float]:
        """Means over this rank's micro-batches, then over ranks (a collective: every rank calls it)."""
        local = torch.tensor(
            [self.sums.get(term, float("nan")) / max(self.batches, 1) for term in LOSS_TERMS]
        )
        means = trainer.accelerator.gather(local.to(trainer.args.device)).view(-1, len(LOSS_TERMS)).mean(0)
        self.sums, self.batches = {}, 0
        return {
            term: float(value) for term, value in zip(LOSS_TERMS, means, strict=True) if not value.isnan()
        }


class ActionTrainer(Trainer):
    """``Trainer`` with the vision tower (and optionally the projector) at its own learning rate and
    the loss terms in the logs."""

    def __init__(
        self,
        *args: Any,
        vision_tower_lr: float,
        projector_lr: float | None = None,
        sample_lengths: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.vision_tower_lr = vision_tower_lr
        self.projector_lr = projector_lr
        self.sample_lengths = sample_lengths
        self.loss_terms = LossTerms()
        # The head losses are per-batch means; normalising the LM term alone by the token count of
        # the accumulated batch would weight the heads by the accumulation steps. Upstream
        # (transformers 4.40) averaged each micro-batch, then divided by the accumulation steps.
        self.model_accepts_loss_kwargs = False

    def _get_train_sampler(self, train_dataset: Any = None) -> Sampler | None:
        """Batches of similar length when given the samples' lengths, else the Trainer's random order."""
        if self.sample_lengths is None:
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedBatches(self.sample_lengths, self.args.train_batch_size)

    def part_lr(self, part: TunablePart) -> float:
        """The learning rate of a tunable part: its own where the recipe sets one, else the main."""
        if part == "mm_vision_tower":
            return self.vision_tower_lr
        if part == "mm_mlp_adapter" and self.projector_lr is not None:
            return self.projector_lr
        return self.args.learning_rate

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """torch AdamW over (learning rate) x (decay, no decay) groups; the main group first.

        The Trainer logs the first group's rate as ``learning_rate``, so that stays the main one.
        """
        if self.optimizer is not None:
            return self.optimizer
        model = self.model if model is None else model
        decay = set(self.get_decay_parameter_names(model))
        groups: dict[tuple[float, float], list[nn.Parameter]] = {}
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            lr = self.part_lr(tunable_part(name))
            weight_decay = self.args.weight_decay if name in decay else 0.0
            groups.setdefault((lr, weight_decay), []).append(param)
        ordered = sorted(groups.items(), key=lambda item: item[0][0] != self.args.learning_rate)
        self.optimizer = torch.optim.AdamW(
            [{"params": params, "lr": lr, "weight_decay": wd} for (lr, wd), params in ordered],
            lr=self.args.learning_rate,
            betas=(self.args.adam_beta1, self.args.adam_beta2),
            eps=self.args.adam_epsilon,
        )
        for group in self.optimizer.param_groups:
            log.info(
                "optimizer group: lr %g, weight decay %g, %d tensors",
                group["lr"],
                group["weight_decay"],
                len(group["params"]),
            )
        return self.optimizer

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        if model.training:  # the LM head only where the loss looks (LlavaActionForConditionalGeneration)
            inputs = {**inputs, "supervised_logits_only": True}
        loss, outputs = super().compute_loss(
            model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch
        )
        if model.training:
            self.loss_terms.add(outputs)
        return (loss, outputs) if return_outputs else loss

    def get_batch_samples(
        self, epoch_iterator: Iterator, num_batches: int, device: torch.device
    ) -> tuple[list, torch.Tensor | int | None]:
        """No batches once the run is at its last step, and stop.

        The Trainer checks ``max_steps`` only after a step, so a run resumed from the checkpoint of
        its last step in mid-epoch (a rerun of a finished run, or a kill between that checkpoint and
        the published model) would train one step more than an uninterrupted run.
        """
        if self.state.global_step >= self.state.max_steps:
            self.control.should_training_stop = True
            return [], None
        return super().get_batch_samples(epoch_iterator, num_batches, device)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            logs.update(self.loss_terms.pop_means(self))
        super().log(logs, start_time)
