"""``base init``: the pretrained tower inside a fresh LLaVA model that ``train run`` and ``eval`` load."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.labels import LabelMap
from actionmqa.errors import InputError
from actionmqa.evaluate.loading import LoadedModel, load_model
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.processing import ChatSample
from actionmqa.model.tokenizer import train_tokenizer
from actionmqa.prompts import chat_prompt, llava_user_text, mqa_answer, mqa_prompt
from actionmqa.train.losscurve import read_loss_curve
from actionmqa.video.synthetic import write_pattern_tree
from basemodel_world import base_parts, init_base
from process_group import run_captured
from tiny_llava_world import VIDEOS, options_for, sft_records, write_sft

TRAIN_STEPS = 2
RECIPE = f"""\
learning_rate: 1.0e-3
warmup_ratio: 0.0
max_steps: {TRAIN_STEPS}
global_batch_size: 2
per_device_train_batch_size: 2
bf16: false
gradient_checkpointing: false
deepspeed: zero2
frames: 4
clip_cache: true
"""


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return base_parts(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def base(parts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_base(parts, tmp_path_factory.mktemp("init") / "base")


@pytest.fixture(scope="module")
def loaded(base: Path) -> LoadedModel:
    return load_model(base)


def test_the_tower_weights_are_the_pretrained_ones(parts: dict[str, Path], loaded: LoadedModel) -> None:
    pretrained = load_file(parts["vision"] / "model.safetensors")
    in_model = loaded.model.model.vision_tower.state_dict()
    assert set(pretrained) == set(in_model)
    assert all(torch.equal(tensor, in_model[name]) for name, tensor in pretrained.items())


def test_the_config_follows_the_tokenizer_tower_and_world(
    parts: dict[str, Path], base: Path, loaded: LoadedModel
) -> None:
    config = loaded.model.config
    labels = LabelMap.from_annotations(load_annotation_dir(parts["world"] / "annotations"))
    assert config.num_actions == len(labels.actions)
    assert config.text_config.vocab_size == len(loaded.tokenizer)
    assert config.video_token_id == loaded.tokenizer.convert_tokens_to_ids("<video>")
    assert (config.text_config.hidden_size, config.text_config.num_hidden_layers) == (32, 1)
    assert (config.vision_config.image_size, config.vision_config.hidden_size) == (32, 32)
    assert not config.action_token and config.visual_layout == "llava_video"
    assert loaded.frames.size == 32
    assert json.loads((base / "base.json").read_text())["num_actions"] == len(labels.actions)


def test_the_saved_model_runs_a_video_prompt(loaded: LoadedModel) -> None:
    options = options_for(0)
    sample = ChatSample(
        prompt=chat_prompt(llava_user_text(mqa_prompt(options))),
        answer=mqa_answer(0, options[0]),
        frames=np.full((4, 64, 64, 3), 120, dtype=np.uint8),
    )
    batch = loaded.collator(train=True)([sample])
    with torch.no_grad():
        output = loaded.model(**batch)
    assert output.logits.shape == (*batch["input_ids"].shape, len(loaded.tokenizer))
    assert torch.isfinite(output.loss)


def test_the_action_token_switch_adds_the_heads(parts: dict[str, Path], tmp_path: Path) -> None:
    model = LlavaActionForConditionalGeneration.from_pretrained(
        init_base(parts, tmp_path / "with_token", "--action-token", "on")
    )
    assert model.config.action_token
    assert model.action_head.out_features == model.config.num_actions
    assert model.verb_head.out_features == 97 and model.noun_head.out_features == 300


def test_a_tokenizer_without_placeholders_is_refused(parts: dict[str, Path], tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    train_tokenizer(["take cup", "open drawer"] * 10, 300, plain, special_tokens=("<pad>",))
    with pytest.raises(InputError, match="<video>"):
        init_base(parts, tmp_path / "refused", tokenizer=plain)
    assert not (tmp_path / "refused").exists()


def test_train_run_starts_from_the_base(base: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    videos = write_pattern_tree(tmp_path / "videos", VIDEOS, width=32, height=32).root
    final = tmp_path / "final"
    command = [
        *(sys.executable, "-m", "actionmqa", "train", "run", "--base", str(base)),
        *("--data", str(write_sft(tmp_path / "sft.jsonl", sft_records(4)))),
        *("--video-root", str(videos), "--layout", "whole", "--recipe", str(recipe)),
        *("--output-dir", str(tmp_path / "train"), "--final", str(final)),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TORCH_EXTENSIONS_DIR": str(tmp_path / "extensions")}
    run = run_captured(command, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [int(row["step"]) for row in read_loss_curve(tmp_path / "train" / "loss.csv")] == [1, 2]
    trained, start = load_model(final).model, load_model(base).model
    assert not torch.equal(trained.lm_head.weight, start.lm_head.weight)
