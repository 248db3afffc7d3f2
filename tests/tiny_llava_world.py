"""A tiny base model, pattern videos, SFT records and an MQA benchmark for the train and evaluate tests.

The model is the real LLaVAction architecture at toy size (32 px frames, 6 visual tokens per
frame, a 2-layer language model), saved the way ``model convert`` saves one; the files are in
the real formats, written by the real record types.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from actionmqa.io import write_jsonl
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.processing import FrameProcessor
from actionmqa.model.tiny import tiny_config
from actionmqa.model.tokenizer import END_OF_TURN, train_tokenizer
from actionmqa.mqa.records import MQARecord
from actionmqa.prompts import chat_answer, chat_prompt, llava_user_text, mqa_answer, mqa_prompt
from actionmqa.sft.records import SFTRecord, Turn

IMAGE_SIZE = 32
NARRATIONS = ("take cup", "open drawer", "put down knife", "wash plate", "turn on tap", "close fridge")
VIDEOS = {("P01", "P01_01"): 180, ("P02", "P02_03"): 180}  # 6 s at 30 fps each
N_VERBS, N_NOUNS, N_ACTIONS = 5, 6, 7


def options_for(index: int, n: int = 5) -> list[str]:
    """``n`` narrations starting at ``index`` (cyclic): the first is the ground truth."""
    return [NARRATIONS[(index + k) % len(NARRATIONS)] for k in range(n)]


def segments(n: int) -> list[tuple[str, str, float, float]]:
    """``n`` (participant, video, start, end) spans, alternating videos, inside both videos."""
    videos = list(VIDEOS)
    return [(*videos[i % 2], 0.5 + 0.4 * (i // 2), 1.5 + 0.4 * (i // 2)) for i in range(n)]


def tokenizer_texts() -> list[str]:
    """Every string the tests put through the tokenizer, so the BPE has seen them."""
    texts = []
    for index in range(len(NARRATIONS)):
        options = options_for(index)
        user = llava_user_text(mqa_prompt(options))
        texts += [chat_prompt(user) + chat_answer(mqa_answer(k, text)) for k, text in enumerate(options)]
    return texts * 4


def write_base_model(folder: Path, seed: int = 0, action_token: bool = True) -> Path:
    """A random tiny LLaVAction with its tokenizer and preprocessor config, as a saved model."""
    tokenizer = train_tokenizer(tokenizer_texts(), 400, folder)
    config = tiny_config(
        len(tokenizer),
        image_size=IMAGE_SIZE,
        patch_size=8,
        num_verbs=N_VERBS,
        num_nouns=N_NOUNS,
        num_actions=N_ACTIONS,
        action_token=action_token,
    )
    torch.manual_seed(seed)
    model = LlavaActionForConditionalGeneration(config)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    FrameProcessor(IMAGE_SIZE).save_pretrained(folder)
    return folder


def sft_records(n: int, offset: int = 0) -> list[SFTRecord]:
    """``n`` hard-MQA style records; the answer letter cycles so the task is not one constant string."""
    records = []
    for i, (participant, video, start, end) in enumerate(segments(n)):
        options = options_for(i)
        answer_index = i % len(options)
        uid = f"{video}_{offset + i}"
        records.append(
            SFTRecord(
                id=f"{uid}:hard_mqa",
                uid=uid,
                narration_id=uid,
                task="hard_mqa",
                video=f"{participant}-{video}",
                participant_id=participant,
                video_id=video,
                conversations=(
                    Turn(speaker="human", value=llava_user_text(mqa_prompt(options))),
                    Turn(speaker="gpt", value=mqa_answer(answer_index, options[answer_index])),
                ),
                split="train",
                question_type="mc_GT_random_narration",
                dataset_name="EK100",
                start_timestamp=start,
                end_timestamp=end,
                verb_id=i % N_VERBS,
                noun_id=i % N_NOUNS,
                action_id=-1 if i % 4 == 3 else i % N_ACTIONS,
                teacher=None,
            )
        )
    return records


def write_sft(path: Path, records: Sequence[SFTRecord]) -> Path:
    write_jsonl(path, (record.to_json() for record in records))
    return path


def mqa_records(n: int) -> list[MQARecord]:
    """``n`` benchmark questions over the same videos; the answer sits at a different letter each time."""
    records = []
    for i, (participant, video, start, end) in enumerate(segments(n)):
        options = options_for(i)
        answer_index = (2 * i) % len(options)
        options[0], options[answer_index] = options[answer_index], options[0]
        records.append(
            MQARecord(
                uid=f"{video}_{i}",
                narration_id=f"{video}_{i}",
                video_id=video,
                participant_id=participant,
                start_sec=start,
                end_sec=end,
                narration=options[answer_index],
                options=tuple(options),
                option_vns=tuple(f"{k}:{(i + k) % len(NARRATIONS)}" for k in range(len(options))),
                answer_index=answer_index,
                gt_vn=f"{answer_index}:{(i + answer_index) % len(NARRATIONS)}",
                distractor_source="test",
                seed=0,
            )
        )
    return records


def write_benchmark(path: Path, records: Sequence[MQARecord]) -> Path:
    write_jsonl(path, (record.model_dump(mode="json") for record in records))
    return path
