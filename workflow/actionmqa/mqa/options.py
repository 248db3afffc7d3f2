"""The text shown for each option class (spec/llavaction.md §1.3).

Two modes, both from the paper's code:

- ``narration`` (upstream ``GT_random_narration``, the paper's MQA): the ground truth shows the
  clip's own narration; each distractor class shows a narration drawn from that class's pool.
- ``label`` (upstream ``official_key``): every option shows ``LabelMap.label_text``.

Options must read differently, or a model could not pick one. The rule, applied to the classes
in order (ground truth first, its text never changes):

1. draw, with ``rng_for(seed, uid, "narration", vn)``, from the pool entries of the class
   (repeats kept, so frequent phrasings are drawn more often) whose text is not yet an option.
   This is the same as drawing from the whole pool and, on a collision, drawing again from the
   class's remaining narrations;
2. if the class has no narration in the pool (``no_narration``), or every one is already an
   option (``exhausted``), use the class's label text instead;
3. if that label text is also already an option, raise ``InputError`` naming the uid.

Texts are compared exactly, as the model sees them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from actionmqa.ek100.labels import LabelMap
from actionmqa.errors import InputError
from actionmqa.seeding import rng_for


class TextMode(str, Enum):
    NARRATION = "narration"
    LABEL = "label"


class Fallback(str, Enum):
    """Why a distractor shows its label text in narration mode (counted in the manifest)."""

    NO_NARRATION = "no_narration"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class OptionTexts:
    """Texts in the order of the classes given, and the fallbacks taken on the way."""

    texts: tuple[str, ...]
    fallbacks: tuple[Fallback, ...] = ()


@dataclass(frozen=True)
class OptionTexter:
    """Chooses option texts; ``pools`` maps ``vn`` to its narrations, repeats kept, sorted."""

    mode: TextMode
    labels: LabelMap
    pools: Mapping[str, tuple[str, ...]]
    seed: int

    def texts_for(self, uid: str, gt_narration: str, option_vns: Sequence[str]) -> OptionTexts:
        """``option_vns[0]`` is the ground truth; see the module docstring for the rule."""
        if self.mode is TextMode.LABEL:
            texts = [self.labels.label_text(vn) for vn in option_vns]
            for position in range(1, len(texts)):
                self._check_new(uid, texts[:position], texts[position], option_vns[position])
            return OptionTexts(tuple(texts))
        texts = [gt_narration]
        fallbacks: list[Fallback] = []
        for vn in option_vns[1:]:
            text, fallback = self._narration(uid, vn, texts)
            texts.append(text)
            if fallback is not None:
                fallbacks.append(fallback)
        return OptionTexts(tuple(texts), tuple(fallbacks))

    def _narration(self, uid: str, vn: str, taken: list[str]) -> tuple[str, Fallback | None]:
        pool = self.pools.get(vn, ())
        candidates = [text for text in pool if text not in taken]
        if candidates:
            pick = rng_for(self.seed, uid, "narration", vn).integers(len(candidates))
            return candidates[int(pick)], None
        label = self.labels.label_text(vn)
        self._check_new(uid, taken, label, vn)
        return label, Fallback.EXHAUSTED if pool else Fallback.NO_NARRATION

    @staticmethod
    def _check_new(uid: str, taken: Sequence[str], text: str, vn: str) -> None:
        if text in taken:
            raise InputError(
                None,
                f"cannot give class {vn} a distinct option text: {text!r} is already an option "
                f"({list(taken)!r})",
                key=uid,
            )
