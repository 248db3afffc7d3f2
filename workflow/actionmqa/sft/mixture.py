"""Which tasks go into the SFT mixture, and how much of each (spec/llavaction.md §2.2).

The paper's mix (``avion_tim_top5_gpt4o_detection_direct_178K_100percent.yaml``) is the default:
every task on every train clip except random-distractor MQA, which the paper does not use. A
``fraction`` below 1 keeps each clip independently with probability ``fraction``, drawn from
``rng_for(seed, sample key, task, "keep")``, so shrinking one task never changes another's picks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from actionmqa.io import read_yaml_model
from actionmqa.seeding import rng_for

__all__ = [
    "MixtureConfig",
    "GenericMCShare",
    "OpenQAShare",
    "PriorActionsShare",
    "ReplayShare",
    "TaskShare",
    "TemporalShare",
    "VideoMCShare",
    "keeps",
    "load_mixture",
]


class _Strict(BaseModel):
    """Unknown keys are typos: refuse them instead of silently training on a default."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskShare(_Strict):
    """The fraction of eligible clips that get this task's record(s)."""

    fraction: float = Field(default=1.0, ge=0.0, le=1.0)


class CaptionShare(TaskShare):
    """Captions; ``prompt`` asks for them with LLaVAction's egocentric caption prompt
    (``llavaction``, the recipe's) or with a general description request (``general``, the toy
    base's general instruction data)."""

    prompt: Literal["llavaction", "general"] = "llavaction"


class PriorActionsShare(_Strict):
    """The prior-actions variant of MQA: ``fraction`` of MQA samples that have two close predecessors.

    ``max_gap_sec`` is upstream's ``delta=3`` of ``get_lookup_dict``: the largest gap from one
    segment's end to the next one's start (overlaps always count as close).
    """

    fraction: float = Field(default=0.3, ge=0.0, le=1.0)
    max_gap_sec: float = Field(default=3.0, ge=0.0)


class TemporalShare(TaskShare):
    """Temporal detection; ``delta_sec`` is the total padding (paper: 3 s; upstream code used 5 s)."""

    delta_sec: float = Field(default=3.0, gt=0.0)


class OpenQAShare(TaskShare):
    """Open QA from the teacher: pairs kept per clip (upstream: 1 with ``apply_filter``, else all 3)."""

    pairs_per_clip: int = Field(default=3, ge=1)


class GenericMCShare(TaskShare):
    """General multiple choice; ``inline_fraction`` of its questions list the options on one line.

    The rest use lmms-eval's one-option-per-line layout (:func:`actionmqa.prompts.generic_mc_prompt`).
    """

    fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    inline_fraction: float = Field(default=0.0, ge=0.0, le=1.0)


class VideoMCShare(GenericMCShare):
    """General video multiple choice over windows of several train actions (``sft.tasks.video_mc``):
    ``questions`` per window, of distinct kinds."""

    questions: int = Field(default=1, ge=1)


class ReplayShare(TaskShare):
    """General-video replay: LLaVA-Video-178K JSON files (relative paths from the working directory).

    A file listed twice is refused: upstream's mixture lists ``0_30_s_academic_oe`` twice and so
    trains on it twice, by accident.
    """

    files: tuple[Path, ...] = ()

    @field_validator("files")
    @classmethod
    def _distinct(cls, files: tuple[Path, ...]) -> tuple[Path, ...]:
        repeated = sorted({path.as_posix() for path in files if files.count(path) > 1})
        if repeated:
            raise ValueError(f"files listed more than once: {repeated}")
        return files


class MixtureConfig(_Strict):
    """The whole mixture; ``options`` is K for every MQA task (letters A..)."""

    options: int = Field(default=5, ge=2, le=26)
    hard_mqa: TaskShare = TaskShare()
    random_mqa: TaskShare = TaskShare(fraction=0.0)
    prior_actions: PriorActionsShare = PriorActionsShare()
    direct_narration: TaskShare = TaskShare()
    temporal_detection: TemporalShare = TemporalShare()
    caption: CaptionShare = CaptionShare()
    open_qa: OpenQAShare = OpenQAShare()
    #: General multiple-choice QA over the teacher's QA pairs with random distractors: the toy
    #: base model's stand-in for general instruction data; not in the paper's mixture.
    generic_mc: GenericMCShare = GenericMCShare()
    #: Questions about several actions of a toy world's train video (what first, how often, what
    #: next): the toy base's stand-in for general video QA; not in the paper's mixture.
    video_mc: VideoMCShare = VideoMCShare()
    replay: ReplayShare = ReplayShare()

    @property
    def needs_clip_texts(self) -> bool:
        """Whether captions or QA (scenes or teacher outputs) must be supplied."""
        return self.caption.fraction > 0 or self.open_qa.fraction > 0 or self.generic_mc.fraction > 0


def keeps(fraction: float, seed: int, key: str, task: str) -> bool:
    """Whether clip ``key`` gets ``task``; ``random() < 1`` always holds and ``< 0`` never does."""
    if fraction >= 1.0:
        return True
    return bool(rng_for(seed, key, task, "keep").random() < fraction)


def load_mixture(path: Path) -> MixtureConfig:
    """A mixture from YAML or JSON (JSON is YAML); every problem names its dotted key."""
    return read_yaml_model(path, MixtureConfig, "SFT mixture")
