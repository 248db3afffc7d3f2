"""Training recipe YAML and the DeepSpeed configurations it names."""

from __future__ import annotations

import json

import pytest

from actionmqa.errors import InputError
from actionmqa.train.deepspeed_configs import resolve_deepspeed, zero_config
from actionmqa.train.recipe import ALL_PARTS, TrainRecipe, load_recipe


def test_defaults_are_the_authors_final_recipe():
    recipe = TrainRecipe()
    assert (recipe.learning_rate, recipe.vision_tower_lr, recipe.projector_lr) == (1e-5, 2e-6, None)
    assert (recipe.lr_scheduler, recipe.warmup_ratio, recipe.weight_decay) == ("cosine", 0.03, 0.0)
    assert (recipe.num_train_epochs, recipe.max_steps) == (1.0, None)
    assert (recipe.global_batch_size, recipe.per_device_train_batch_size) == (256, 1)
    assert recipe.time_limit_reserve_s == 600
    assert recipe.bf16 and recipe.tf32 and recipe.gradient_checkpointing
    assert (recipe.deepspeed, recipe.save_steps, recipe.frames) == ("zero3", 1000, 64)
    assert recipe.tunable_parts == ALL_PARTS and recipe.action_token is None


def test_a_recipe_file_overrides_only_what_it_lists(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text("deepspeed: zero2\nmax_steps: 20\nbf16: false\naction_token: false\n")
    recipe = load_recipe(path)
    assert (recipe.deepspeed, recipe.max_steps, recipe.bf16, recipe.action_token) == (
        "zero2",
        20,
        False,
        False,
    )
    assert recipe.learning_rate == 1e-5


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("learnig_rate: 1.0e-4\n", "learnig_rate", "unknown key"),
        ("learning_rate: -1\n", "learning_rate", "greater than 0"),
        ("tunable_parts: [mm_vision_tower, lm]\n", "tunable_parts.1", "mm_language_model"),
    ],
)
def test_recipe_errors_name_the_key(tmp_path, text, key, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as caught:
        load_recipe(path)
    assert caught.value.key == key and str(path) in str(caught.value)


def test_zero3_is_upstreams_config_without_an_optimizer_section():
    config = zero_config("zero3")
    zero = config["zero_optimization"]
    assert zero["stage"] == 3 and zero["overlap_comm"] is True
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "none"
    assert config["bf16"] == {"enabled": "auto"} and config["fp16"]["enabled"] == "auto"
    assert "optimizer" not in config and "scheduler" not in config
    assert config["train_micro_batch_size_per_gpu"] == config["gradient_accumulation_steps"] == "auto"


def test_zero2_differs_from_zero3_only_in_the_zero_section():
    two, three = zero_config("zero2"), zero_config("zero3")
    assert two["zero_optimization"]["stage"] == 2
    assert {k: v for k, v in two.items() if k != "zero_optimization"} == {
        k: v for k, v in three.items() if k != "zero_optimization"
    }


def test_a_stage_name_is_written_into_the_run_folder(tmp_path):
    path = resolve_deepspeed("zero3", tmp_path)
    assert path == tmp_path / "deepspeed_zero3.json"
    assert json.loads(path.read_text()) == zero_config("zero3")


def test_a_deepspeed_path_is_checked(tmp_path):
    good = tmp_path / "mine.json"
    good.write_text(json.dumps({"zero_optimization": {"stage": 1}}))
    assert resolve_deepspeed(str(good), tmp_path / "run") == good
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(InputError, match="zero_optimization"):
        resolve_deepspeed(str(bad), tmp_path / "run")
    with pytest.raises(InputError, match="not a DeepSpeed stage name"):
        resolve_deepspeed("zero4", tmp_path / "run")


def test_accumulation_steps_are_derived_not_set(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("per_device_train_batch_size: 1\ngradient_accumulation_steps: 2\n")
    with pytest.raises(InputError, match="state global_batch_size instead") as caught:
        load_recipe(path)
    assert caught.value.key == "gradient_accumulation_steps" and str(path) in str(caught.value)
