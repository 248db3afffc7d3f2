"""The toy world's tokenizer: trained on every kind of text the base model will read or write.

A 2048-piece BPE spends its merges on the most frequent words, so the corpus repeats what the
model sees most: every prompt template of ``actionmqa.prompts``, rendered in its chat frame once
per train clip with that clip's narration among sampled options. Prompt words then become
single tokens and a 64-frame prompt stays short. Only the train split's narrations and scenes
go in: validation text in the vocabulary would be a (small) leak of the benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from actionmqa.ek100.annotations import AnnotationSet, load_annotation_dir
from actionmqa.ek100.labels import LabelMap, noun_text
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError
from actionmqa.io import atomic_dir
from actionmqa.model.tokenizer import train_tokenizer
from actionmqa.prompts import (
    caption_prompt,
    chat_answer,
    chat_prompt,
    direct_narration_prompt,
    general_caption_prompt,
    gpt_benchmark_system_prompt,
    llava_user_text,
    mqa_answer,
    mqa_prompt,
    prior_actions_prompt,
    temporal_detection_answer,
    temporal_detection_prompt,
    time_instruction,
)
from actionmqa.seeding import rng_for
from actionmqa.sft.clip_texts import ClipText, ClipTexts, load_scenes
from actionmqa.sft.segments import Segment, segments_in_order

#: Frame counts the time instruction is rendered with (the paper trains and tests with these).
FRAME_COUNTS = (8, 16, 32, 64)
N_OPTIONS = 5


def exchange(user_text: str, answer: str) -> str:
    """One chat turn as training sees it: the ChatML prompt, then the answer and end of turn."""
    return chat_prompt(user_text) + chat_answer(answer)


def class_texts(labels: LabelMap) -> list[str]:
    """Verb and noun keys as stored and as options print them, and every action's option text."""
    nouns = [text for key in labels.nouns.values() for text in (key, noun_text(key))]
    return [*labels.verbs.values(), *nouns, *(labels.label_text(vn) for vn in labels.actions)]


def scene_exchanges(text: ClipText) -> list[str]:
    """The scene as the caption and open-QA tasks put it: a described clip, then each question."""
    caption = exchange(llava_user_text(caption_prompt()), text.caption)
    return [caption, *(exchange(llava_user_text(pair.question), pair.answer) for pair in text.qa)]


def draw(rng: np.random.Generator, pool: Sequence[str], n: int) -> list[str]:
    """Up to ``n`` distinct items of ``pool``, as plain strings."""
    return [str(item) for item in rng.choice(pool, min(n, len(pool)), replace=False)]


def prompt_exchanges(
    segment: Segment, narrations: Sequence[str], labels: LabelMap, rng: np.random.Generator
) -> list[str]:
    """Every template of ``actionmqa.prompts`` once, around ``segment`` with options drawn by ``rng``."""
    others = [n for n in narrations if n != segment.narration]
    options = [segment.narration, *draw(rng, others, N_OPTIONS - 1)]
    rng.shuffle(options)
    answer = options.index(segment.narration)
    actions = [segment.vn, *draw(rng, [vn for vn in labels.actions if vn != segment.vn], N_OPTIONS - 1)]
    label_options = [labels.label_text(vn) for vn in actions]
    frames = int(rng.choice(FRAME_COUNTS))
    timing = time_instruction(segment.duration, frames)
    prev2, prev1 = draw(rng, others, 2)
    offsets = sorted(rng.uniform(0.5, 10.0, 2), reverse=True)
    rel_start = rng.uniform(0.0, 2.0)
    return [
        exchange(
            llava_user_text(mqa_prompt(options), time_instruction=timing), mqa_answer(answer, options[answer])
        ),
        exchange(llava_user_text(mqa_prompt(label_options)), mqa_answer(0, label_options[0])),
        exchange(
            llava_user_text(prior_actions_prompt(options, prev2, offsets[0], prev1, offsets[1])),
            mqa_answer(answer, options[answer]),
        ),
        exchange(llava_user_text(direct_narration_prompt()), segment.narration),
        exchange(
            llava_user_text(temporal_detection_prompt(segment.narration, segment.duration)),
            temporal_detection_answer(rel_start, rel_start + segment.duration),
        ),
        gpt_benchmark_system_prompt(options, segment.duration, frames),
    ]


def tokenizer_corpus(annotations: AnnotationSet, scenes: ClipTexts, seed: int) -> list[str]:
    """The texts, in a fixed order (train segments canonically sorted), so the BPE is reproducible."""
    train = segments_in_order(annotations.split("train"), annotations.root / SPLIT_FILES["train"])
    labels = LabelMap.from_annotations(annotations)
    narrations = sorted({segment.narration for segment in train})
    if len(narrations) < N_OPTIONS:
        raise InputError(
            annotations.root / SPLIT_FILES["train"],
            f"{len(narrations)} distinct narrations; options need at least {N_OPTIONS}",
        )
    # the toy base's caption request once, not with each clip's caption: that doubled the
    # caption text and moved the merges (base random MQA 16.8 -> 7.6, fine-tuned hard 52.8 ->
    # 35.2 in one run each: this demo is that sensitive to its tokenizer)
    texts = [*class_texts(labels), *narrations, chat_prompt(llava_user_text(general_caption_prompt()))]
    for segment in train:
        scene = scenes.by_narration.get(segment.narration_id)
        if scene is None:
            raise InputError(scenes.path, "no scene for this train segment", key=segment.narration_id)
        texts += scene_exchanges(scene)
        texts += prompt_exchanges(segment, narrations, labels, rng_for(seed, segment.key, "tokenizer"))
    return texts


def build_tokenizer(annotations_dir: Path, scenes: Path, vocab_size: int, out: Path, seed: int = 0) -> int:
    """Train the world's tokenizer into ``out`` (replaced whole); returns its size."""
    texts = tokenizer_corpus(load_annotation_dir(annotations_dir), load_scenes(scenes), seed)
    with atomic_dir(out) as staging:
        return len(train_tokenizer(texts, vocab_size, staging))
