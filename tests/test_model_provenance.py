"""A model folder's record of what made it, checked against the kind the config declares."""

from __future__ import annotations

import pytest

from actionmqa.model.provenance import mismatched_model_dirs, model_kind

HUB = {"hub": "lmms-lab/llava-onevision-qwen2-0.5b-ov", "revision": "main"}
FINETUNE = {"finetune": "base", "recipe": "config/train/toy_llavaction.yaml"}
BUILD = {"build": "toy_base"}


def make_folder(root, name, *records):
    folder = root / name
    folder.mkdir(parents=True)
    for record in records:
        (folder / record).write_text("{}")
    return folder


@pytest.mark.parametrize(("spec", "kind"), [(HUB, "hub"), (FINETUNE, "finetune"), (BUILD, "build")])
def test_model_kind_is_the_key_the_config_states(spec, kind):
    assert model_kind({**spec, "paper": "LLaVA-Video-7B", "gpus_per_node": 0}) == kind


def test_a_spec_with_two_kinds_is_refused():
    with pytest.raises(ValueError, match=r"exactly one of build, finetune, hub; got \['finetune', 'hub'\]"):
        model_kind({**HUB, **FINETUNE})


def test_folders_made_by_the_declared_kind_or_not_made_yet_pass(tmp_path):
    make_folder(tmp_path, "ov", "conversion.json", "model.safetensors")
    make_folder(tmp_path, "llavaction", "training.json")
    make_folder(tmp_path, "base", "training.json")
    models = {"ov": HUB, "llavaction": FINETUNE, "base": BUILD, "not_made_yet": HUB}
    assert mismatched_model_dirs(models, tmp_path) == []


def test_a_trained_folder_declared_as_a_hub_checkpoint_is_named(tmp_path):
    make_folder(tmp_path, "llava_video_7b", "training.json")
    [problem] = mismatched_model_dirs({"llava_video_7b": HUB}, tmp_path)
    assert problem.startswith(f"{tmp_path / 'llava_video_7b'}: it holds training.json, but config key")
    assert "'models.llava_video_7b' declares a hub checkpoint, downloaded and converted" in problem
    assert "(expected conversion.json)" in problem


def test_a_converted_folder_declared_as_a_fine_tune_is_named(tmp_path):
    make_folder(tmp_path, "llavaction", "conversion.json")
    [problem] = mismatched_model_dirs({"llavaction": FINETUNE}, tmp_path)
    assert "it holds conversion.json, but config key 'models.llavaction' declares a fine-tune" in problem


def test_a_folder_without_a_record_is_named_not_reused(tmp_path):
    make_folder(tmp_path, "base", "config.json")
    [problem] = mismatched_model_dirs({"base": BUILD}, tmp_path)
    assert "it holds neither conversion.json nor training.json" in problem
