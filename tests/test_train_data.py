"""SFT records to training samples: reading, clip decoding and caching, prompts, labels, sample log."""

from __future__ import annotations

import json

import pytest
from transformers import AutoTokenizer

from actionmqa.errors import InputError
from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.modeling import IGNORE_INDEX
from actionmqa.model.processing import ChatCollator, FrameProcessor
from actionmqa.prompts import chat_prompt
from actionmqa.train.data import (
    ClipCache,
    LoggingCollator,
    OnDemandClips,
    SFTDataset,
    clip_request,
    read_sft,
)
from actionmqa.video.readers import ClipReader
from actionmqa.video.synthetic import write_pattern_tree
from tiny_llava_world import IMAGE_SIZE, VIDEOS, sft_records, write_base_model, write_sft

FRAMES = 4


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return write_pattern_tree(tmp_path_factory.mktemp("videos"), VIDEOS, width=32, height=32)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return write_base_model(tmp_path_factory.mktemp("base"))


def test_read_sft_keeps_order_across_files(tmp_path):
    records = sft_records(6)
    first = write_sft(tmp_path / "a.jsonl", records[:4])
    second = write_sft(tmp_path / "b.jsonl", sft_records(2, offset=4))
    assert [r.id for r in read_sft([first, second])] == [r.id for r in records[:4]] + [
        r.id for r in sft_records(2, offset=4)
    ]


def test_read_sft_names_the_file_and_line_of_a_bad_record(tmp_path):
    path = write_sft(tmp_path / "sft.jsonl", sft_records(3))
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["start_timestamp"]
    path.write_text("\n".join([lines[0], json.dumps(broken), lines[2]]) + "\n")
    with pytest.raises(InputError, match="start_timestamp") as caught:
        read_sft([path])
    assert caught.value.line == 2 and caught.value.path == str(path)


def test_read_sft_refuses_repeated_ids(tmp_path):
    path = write_sft(tmp_path / "a.jsonl", sft_records(2))
    with pytest.raises(InputError, match="repeat"):
        read_sft([path, path])


def test_clip_cache_decodes_each_unique_clip_once_in_video_order(layout):
    records = sft_records(4)
    repeated = [*records, records[0].model_copy(update={"id": "again"})]  # same span as records[0]
    reader = ClipReader(layout)
    cache = ClipCache(reader, [clip_request(record, FRAMES) for record in repeated])
    assert reader.stats.n_clips == 4
    assert cache.nbytes == 4 * FRAMES * 32 * 32 * 3
    lazy = OnDemandClips(ClipReader(layout))
    request = clip_request(records[2], FRAMES)
    assert (cache.frames(request) == lazy.frames(request)).all()


def test_sample_is_the_chatml_prompt_the_answer_the_frames_and_the_action_ids(layout):
    records = sft_records(4)
    dataset = SFTDataset(records, OnDemandClips(ClipReader(layout)), FRAMES)
    sample = dataset[3]
    assert sample.id == records[3].id
    assert sample.chat.prompt == chat_prompt(records[3].conversations[0].value)
    assert sample.chat.answer == records[3].conversations[1].value
    assert sample.chat.frames.shape == (FRAMES, 32, 32, 3)
    assert sample.chat.actions == (3, 3, -1)  # the world leaves every fourth action id out


def test_collator_logs_ids_and_supervises_only_the_answer(layout, base, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(base)
    config = LlavaActionConfig.from_pretrained(base)
    records = sft_records(2)
    dataset = SFTDataset(records, OnDemandClips(ClipReader(layout)), FRAMES)
    log = tmp_path / "rank0.txt"
    collate = LoggingCollator(ChatCollator(tokenizer, config, FrameProcessor(IMAGE_SIZE)), log)
    batch = collate([dataset[0], dataset[1]])
    collate([dataset[1]])
    assert log.read_text().splitlines() == [records[0].id, records[1].id, records[1].id]
    assert batch["pixel_values_videos"].shape == (2, FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert batch["actions"].tolist() == [[0, 0, 0], [1, 1, 1]]
    for row, record in enumerate(records):
        supervised = batch["labels"][row][batch["labels"][row] != IGNORE_INDEX]
        assert tokenizer.decode(supervised) == record.conversations[1].value + "<|im_end|>"
