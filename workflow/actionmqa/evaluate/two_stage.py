"""Two-stage EK100 action recognition (spec/llavaction.md §3.3): the specialist retrieves, the model picks.

Stage 1 keeps the specialist's top-K as it is, with no ground truth injected, so the right class
is among the options only as often as the specialist's top-K recall: the pipeline's ceiling.
Stage 2 shows the K classes as text, shuffled and lettered with the MQA prompt; the model's
answer is read with upstream's parser and maps back to its ``verb:noun`` class, which makes
verb and noun top-1 computable (upstream reports action top-1 only).

Option texts: ``label`` shows each class's official key; ``narration`` draws a narration per
class from the train pools with the benchmark's :class:`OptionTexter` rule. Unlike upstream,
the right class does not show the clip's own narration: that would hand stage 2 the ground
truth (and a val-only phrasing as a cue, spec §6.1 caveats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from actionmqa.answers import read_llava_output
from actionmqa.bench.ek100_ar import action_id, topk_accuracy
from actionmqa.ek100.labels import split_vn
from actionmqa.evaluate.likelihood import ScoreAnswers, best_answer
from actionmqa.model.processing import ChatSample
from actionmqa.mqa.options import OptionTexter, OptionTexts, TextMode
from actionmqa.prompts import mqa_answer
from actionmqa.seeding import rng_for
from actionmqa.sft.segments import Segment

PickSource = Literal["parsed", "likelihood"]


@dataclass(frozen=True)
class Candidates:
    """One clip after stage 1: the specialist's ranking, and the classes as the prompt shows them."""

    segment: Segment
    ranked: tuple[str, ...]
    option_vns: tuple[str, ...]
    options: tuple[str, ...]
    fallbacks: tuple[str, ...] = ()

    @property
    def in_top_k(self) -> bool:
        return self.segment.vn in self.ranked


def class_texts(texter: OptionTexter, key: str, vns: Sequence[str]) -> OptionTexts:
    """A text per class, none pinned to the clip's narration.

    ``OptionTexter`` pins its first class to the clip's own narration (the benchmark's ground
    truth). A blank first slot, which no narration or label equals, lets every real class
    draw from its pool under the same rule; it is dropped again.
    """
    if texter.mode is TextMode.LABEL:
        return texter.texts_for(key, "", vns)
    drawn = texter.texts_for(key, "", ("", *vns))
    return OptionTexts(drawn.texts[1:], drawn.fallbacks)


def retrieve(segment: Segment, ranked: Sequence[str], top_k: int, texter: OptionTexter) -> Candidates:
    """Stage 1: the top-K classes, texts drawn per (seed, key, class), shuffled by (seed, key, "order")."""
    if len(ranked) < top_k:
        raise ValueError(f"{segment.narration_id}: {len(ranked)} predictions for top-{top_k}")
    top = tuple(ranked[:top_k])
    texts = class_texts(texter, segment.key, top)
    order = rng_for(texter.seed, segment.key, "order").permutation(top_k).tolist()
    return Candidates(
        segment=segment,
        ranked=top,
        option_vns=tuple(top[i] for i in order),
        options=tuple(texts.texts[i] for i in order),
        fallbacks=tuple(fallback.value for fallback in texts.fallbacks),
    )


@dataclass(frozen=True)
class Pick:
    """Stage 2's reading of one answer: the option chosen (``None``: nothing usable) and how."""

    parsed_answer: str
    index: int | None
    source: PickSource | None


def select(candidates: Candidates, raw: str, sample: ChatSample, score_answers: ScoreAnswers | None) -> Pick:
    """Upstream's reading; an answer naming no option falls back to the most likely option."""
    parsed = read_llava_output(raw)
    if parsed in candidates.options:
        return Pick(parsed, candidates.options.index(parsed), "parsed")
    if score_answers is None:
        return Pick(parsed, None, None)
    answers = [mqa_answer(index, text) for index, text in enumerate(candidates.options)]
    return Pick(parsed, best_answer(score_answers(sample, answers)), "likelihood")


def prediction(candidates: Candidates, raw: str, pick: Pick) -> dict[str, Any]:
    """One row of the predictions JSONL."""
    segment = candidates.segment
    chosen = None if pick.index is None else candidates.option_vns[pick.index]
    return {
        "narration_id": segment.narration_id,
        "uid": segment.uid,
        "gt_vn": segment.vn,
        "specialist_top1": candidates.ranked[0],
        "in_top_k": candidates.in_top_k,
        "options": list(candidates.options),
        "option_vns": list(candidates.option_vns),
        "raw_output": raw,
        "parsed_answer": pick.parsed_answer,
        "pick_index": pick.index,
        "pick_source": pick.source,
        "pick_vn": chosen,
        **{f"correct_{part}": value for part, value in _hits(chosen, segment.vn).items()},
    }


def _hits(chosen: str | None, gt_vn: str) -> dict[str, bool]:
    if chosen is None:
        return {"verb": False, "noun": False, "action": False}
    (verb, noun), (gt_verb, gt_noun) = split_vn(chosen), split_vn(gt_vn)
    return {"verb": verb == gt_verb, "noun": noun == gt_noun, "action": chosen == gt_vn}


def top1(picks: Sequence[str | None], targets: Sequence[str]) -> dict[str, float]:
    """Verb, noun and action top-1 (x100, as the EK100 metrics) of one class per clip; None is wrong."""
    chosen = np.array([(-1, -1) if vn is None else split_vn(vn) for vn in picks], dtype=np.int64)
    truth = np.array([split_vn(vn) for vn in targets], dtype=np.int64)
    chosen, truth = chosen.reshape(-1, 2), truth.reshape(-1, 2)
    columns = {
        "verb": (chosen[:, 0], truth[:, 0]),
        "noun": (chosen[:, 1], truth[:, 1]),
        "action": (action_id(chosen[:, 0], chosen[:, 1]), action_id(truth[:, 0], truth[:, 1])),
    }
    return {
        f"{task}_top1": 100 * topk_accuracy(np.asarray(pred)[:, None], np.asarray(label), 1)
        for task, (pred, label) in columns.items()
    }


def summarise(rows: Sequence[dict[str, Any]], top_k: int) -> dict[str, Any]:
    """The pipeline next to the specialist alone, and the top-K recall that caps the pipeline.

    ``two_stage`` counts likelihood fallbacks; ``two_stage_parsed_only`` scores unparsed answers
    wrong, as upstream's exact-match does.
    """
    targets = [row["gt_vn"] for row in rows]
    parsed_only = [row["pick_vn"] if row["pick_source"] == "parsed" else None for row in rows]
    return {
        "n": len(rows),
        "top_k": top_k,
        "two_stage": top1([row["pick_vn"] for row in rows], targets),
        "two_stage_parsed_only": top1(parsed_only, targets),
        "specialist": top1([row["specialist_top1"] for row in rows], targets),
        "top_k_recall": 100 * float(np.mean([row["in_top_k"] for row in rows])) if rows else float("nan"),
        "unparsed": sum(row["pick_source"] != "parsed" for row in rows),
        "likelihood_fallbacks": sum(row["pick_source"] == "likelihood" for row in rows),
    }
