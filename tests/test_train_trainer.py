"""Trainer pieces without a run: tuned parts, parameter groups, loss terms, loss curve, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import TrainerControl, TrainerState, TrainingArguments

from actionmqa.model.modeling import LlavaActionForConditionalGeneration, LlavaActionOutput
from actionmqa.model.tiny import tiny_config
from actionmqa.train.checkpoints import (
    COMPLETE_MARKER,
    INPUTS_FILE,
    latest_checkpoint,
    remove_incomplete,
    remove_stale,
)
from actionmqa.train.losscurve import COLUMNS, LossCurveCallback, read_loss_curve
from actionmqa.train.recipe import TrainRecipe
from actionmqa.train.run import TrainJob, load_base
from actionmqa.train.trainer import ActionTrainer, LossTerms, freeze_untuned, tunable_part
from tiny_llava_world import IMAGE_SIZE, write_base_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    # untied, as LLaVA-Video-7B: lm_head is a parameter of its own
    config = tiny_config(64, num_verbs=3, num_nouns=4, num_actions=5, tie_word_embeddings=False)
    return LlavaActionForConditionalGeneration(config)


def test_parts_follow_upstream_mm_tunable_parts(model):
    parts = {name: tunable_part(name) for name, _ in model.named_parameters()}
    assert parts["model.vision_tower.embeddings.patch_embedding.weight"] == "mm_vision_tower"
    assert parts["model.multi_modal_projector.linear_1.weight"] == "mm_mlp_adapter"
    for name in ("model.image_newline", "model.action_embedding", "verb_head.weight", "lm_head.weight"):
        assert parts[name] == "mm_language_model"


def test_freeze_untuned_trains_only_the_named_parts(model):
    counts = freeze_untuned(model, ("mm_mlp_adapter",))
    trainable = {name for name, param in model.named_parameters() if param.requires_grad}
    assert trainable and all(name.startswith("model.multi_modal_projector.") for name in trainable)
    assert counts == {
        "mm_mlp_adapter": sum(p.numel() for p in model.model.multi_modal_projector.parameters())
    }
    freeze_untuned(model, ("mm_vision_tower", "mm_mlp_adapter", "mm_language_model"))
    assert all(param.requires_grad for param in model.parameters())


def make_trainer(model, tmp_path, projector_lr=None, **args) -> ActionTrainer:
    arguments = TrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", learning_rate=1e-5, **args
    )
    return ActionTrainer(model=model, args=arguments, vision_tower_lr=2e-6, projector_lr=projector_lr)


def test_vision_tower_gets_its_own_rate_and_the_main_group_comes_first(model, tmp_path):
    freeze_untuned(model, ("mm_vision_tower", "mm_mlp_adapter", "mm_language_model"))
    optimizer = make_trainer(model, tmp_path, weight_decay=0.1).create_optimizer()
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["lr"] == 1e-5
    by_param = {id(p): (g["lr"], g["weight_decay"]) for g in optimizer.param_groups for p in g["params"]}
    for name, param in model.named_parameters():
        lr, weight_decay = by_param[id(param)]
        assert lr == (2e-6 if name.startswith("model.vision_tower.") else 1e-5), name
        assert weight_decay == (0.0 if "norm" in name or name.endswith("bias") else 0.1), name


def test_projector_gets_its_own_rate_when_the_recipe_sets_one(model, tmp_path):
    freeze_untuned(model, ("mm_vision_tower", "mm_mlp_adapter", "mm_language_model"))
    optimizer = make_trainer(model, tmp_path, projector_lr=2e-3).create_optimizer()
    assert optimizer.param_groups[0]["lr"] == 1e-5
    by_param = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    expected = {"model.vision_tower.": 2e-6, "model.multi_modal_projector.": 2e-3}
    for name, param in model.named_parameters():
        prefix = next((prefix for prefix in expected if name.startswith(prefix)), None)
        assert by_param[id(param)] == expected.get(prefix, 1e-5), name


def test_frozen_parameters_are_not_optimised(model, tmp_path):
    freeze_untuned(model, ("mm_language_model",))
    optimizer = make_trainer(model, tmp_path).create_optimizer()
    assert [group["lr"] for group in optimizer.param_groups] == [1e-5]
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )
    freeze_untuned(model, ("mm_vision_tower", "mm_mlp_adapter", "mm_language_model"))


def test_loss_terms_average_the_micro_batches_and_skip_absent_heads(model, tmp_path):
    terms = LossTerms()
    terms.add(LlavaActionOutput(lm_loss=torch.tensor(2.0), verb_loss=torch.tensor(1.0)))
    terms.add(LlavaActionOutput(lm_loss=torch.tensor(4.0), verb_loss=torch.tensor(3.0)))
    assert terms.pop_means(make_trainer(model, tmp_path)) == {"lm_loss": 3.0, "verb_loss": 2.0}
    assert (terms.sums, terms.batches) == ({}, 0)


def log_step(curve, args, state, control, step, logs):
    """What ``Trainer.log`` does: record the entry in the state, then call the callbacks."""
    state.global_step, state.epoch = step, step / 4
    state.log_history.append({**logs, "epoch": state.epoch, "step": step})
    curve.on_log(args, state, control, logs=logs)


def test_loss_curve_is_rebuilt_from_the_resumed_state(tmp_path):
    path = tmp_path / "loss.csv"
    curve = LossCurveCallback(path)
    args, control = TrainingArguments(output_dir=str(tmp_path), report_to="none"), TrainerControl()
    state = TrainerState()
    curve.on_train_begin(args, state, control)
    for step in (1, 2, 3):
        log_step(
            curve, args, state, control, step, {"loss": 1.0 / step, "lm_loss": 0.5, "learning_rate": 1e-5}
        )
    log_step(curve, args, state, control, 3, {"train_loss": 0.3})  # the end-of-training summary: no row
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert [row["step"] for row in read_loss_curve(path)] == ["1", "2", "3"]
    assert read_loss_curve(path)[1] == {
        "step": "2",
        "epoch": "0.5",
        "loss": "0.5",
        "lm_loss": "0.5",
        "verb_loss": "",
        "noun_loss": "",
        "action_loss": "",
        "learning_rate": "1e-05",
    }
    # resumed from checkpoint-2 after step 3 was logged, and the file itself was deleted meanwhile
    resumed = TrainerState(global_step=2, log_history=state.log_history[:2])
    path.unlink()
    curve.on_train_begin(args, resumed, control)
    assert [row["step"] for row in read_loss_curve(path)] == ["1", "2"]
    assert read_loss_curve(path)[1]["loss"] == "0.5"


def test_latest_checkpoint_is_the_newest_complete_one(tmp_path):
    for step, complete in ((2, True), (4, True), (10, True), (12, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / COMPLETE_MARKER).write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-10"  # 10 > 4 numerically, 12 cut short
    assert remove_incomplete(tmp_path) == [tmp_path / "checkpoint-12"]
    assert not (tmp_path / "checkpoint-12").exists() and (tmp_path / "checkpoint-10").exists()
    assert latest_checkpoint(tmp_path / "missing") is None


def test_checkpoints_of_other_inputs_are_removed_and_the_new_inputs_recorded(tmp_path):
    inputs = {"base": {"model.safetensors": "aa"}, "data": ["bb"], "recipe": {"learning_rate": 0.001}}
    for step in (2, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / COMPLETE_MARKER).write_text("{}")
    # checkpoints without a record of their inputs are stale
    assert remove_stale(tmp_path, inputs) == [tmp_path / "checkpoint-2", tmp_path / "checkpoint-4"]
    assert json.loads((tmp_path / INPUTS_FILE).read_text()) == inputs
    (tmp_path / "checkpoint-6").mkdir()
    (tmp_path / "checkpoint-6" / COMPLETE_MARKER).write_text("{}")
    assert remove_stale(tmp_path, inputs) == []  # same inputs: a resume
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-6"
    assert remove_stale(tmp_path, {**inputs, "data": ["cc"]}) == [tmp_path / "checkpoint-6"]
    assert latest_checkpoint(tmp_path) is None
    assert remove_stale(tmp_path / "fresh", inputs) == [] and (tmp_path / "fresh" / INPUTS_FILE).is_file()


@pytest.mark.parametrize("switch", [None, False])
def test_recipe_can_switch_the_action_token_off_for_the_ablation(tmp_path, switch):
    base = write_base_model(tmp_path / "base", action_token=True)
    job = TrainJob(
        base=base,
        data=(),
        video_root=tmp_path,
        layout="whole",
        recipe=TrainRecipe(action_token=switch, bf16=False),
        output_dir=tmp_path / "run",
        final=tmp_path / "final",
    )
    tokenizer, model, frames = load_base(job)
    expected = switch is None  # None keeps the base's setting (on)
    assert model.config.action_token is expected
    assert hasattr(model, "verb_head") is expected and (model.model.action_embedding is not None) is expected
    assert model.dtype == torch.float32 and frames.size == IMAGE_SIZE
    assert tokenizer.convert_tokens_to_ids("<video>") == model.config.video_token_id
