"""The recipes of the base model's pretraining stages: each knob, its default and its help, once.

``actionmqa base vision`` and ``base language`` derive their flags from these fields
(``actionmqa.flags``); the workflow's schema (``toy_base``) is tied to their defaults by a test.
Kept free of torch so the command line can read them without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from actionmqa.flags import knob

#: The tower's probe head: over the frames in order, or pooled (the order-blind ablation).
HeadKind = Literal["ordered", "pooled"]
#: How options are listed: ``"A. x, B. y"`` on one line (EK100-MQA's prompt), or one per line
#: (the video benchmarks').
OptionLayout = Literal["inline", "lines"]
#: How ``choose`` is answered: the option's text alone, or ``"C. <option>"``.
ChooseAnswer = Literal["text", "lettered"]


@dataclass(frozen=True)
class VisionRecipe:
    """The knobs of one tower pretraining run; ``head="pooled"`` is the order-blind ablation."""

    steps: int = knob(300, "optimizer steps")
    batch_size: int = knob(32, "clips per step")
    lr: float = knob(3e-3, "peak learning rate (warmup, then cosine)")
    seed: int = knob(0, "initialisation, batches, held-out part")
    weight_decay: float = knob(0.01, "AdamW weight decay")
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    head: HeadKind = knob("ordered", "pooled: the order-blind ablation")
    eval_batch_size: int = 64


@dataclass(frozen=True)
class LanguageRecipe:
    """The knobs of one language-model pretraining run; fractions are per sample."""

    steps: int = knob(600, "optimizer steps")
    batch_size: int = knob(64, "exchanges per step")
    lr: float = knob(3e-3, "peak learning rate (warmup, then cosine)")
    seed: int = knob(0, "initialisation, batches, held-out wordings")
    options: int = 5
    repeat_fraction: float = 0.5
    # Novel-phrase options teach verbatim copying of unseen strings (held-out novel phrases: 0.94
    # at 600 steps, 0.00 without), but the LM then copies the query and misses paraphrases; after
    # fine-tuning, generated MQA was hard 0.25 / random 0.24 with them at 0.5, against 0.24-0.30 /
    # 0.41-0.48 in two runs without: off by default.
    novel_fraction: float = 0.0
    paraphrase_fraction: float = 0.5
    heldout_fraction: float = knob(0.1, "share of each action's wordings not trained on")
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    eval_questions: int = 200
    initializer_range: float = knob(
        0.02, "std of the fresh weights (Qwen2's 0.02; width ** -0.5 is the fan-in scale, 0.088 at 128)"
    )
    layout: OptionLayout = knob("inline", "options on one line, or one per line")
    choose_answer: ChooseAnswer = knob(
        "text", "answer `choose` with the option's text alone, or as 'C. <option>'"
    )
