"""``base language``: the text-only pretraining of the toy base's language model, and its loading."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, Qwen2ForCausalLM

from actionmqa.basemodel.language import (
    REPEAT_INSTRUCTION,
    TextSample,
    Wordings,
    answer_loss,
    batches_of_samples,
    distractor_actions,
    encode,
    language_config,
    pretrain_language,
    sample_text,
    score_choices,
    train_wordings,
)
from actionmqa.basemodel.recipes import LanguageRecipe
from actionmqa.errors import InputError
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.seeding import rng_for
from basemodel_world import base_parts, init_base, run_base

RECIPE = LanguageRecipe(steps=2, batch_size=4, lr=1e-3)

WORDINGS = Wordings(
    {
        (0, 0): ("open fridge", "open the fridge", "open up fridge"),
        (1, 0): ("close fridge", "shut the fridge"),
        (0, 1): ("open drawer",),
        (2, 2): ("wash knife", "rinse knife"),
        (3, 3): ("take cup",),
        (4, 4): ("cut onion", "chop onion"),
    }
)


def test_wordings_group_narrations_by_action_sorted_and_distinct() -> None:
    wordings = Wordings.from_segments(
        [0, 0, 1, 0], [5, 5, 5, 5], ["open up tap", "open tap", "close tap", "open tap"]
    )
    assert wordings.by_action == {(0, 5): ("open tap", "open up tap"), (1, 5): ("close tap",)}
    assert len(wordings) == 3


def test_the_split_holds_wordings_out_but_leaves_every_action_one_to_train_on() -> None:
    train, heldout = WORDINGS.split(0.5, seed=0)
    assert train.actions == WORDINGS.actions
    for action in WORDINGS.actions:
        assert set(train.by_action[action]) | set(heldout.by_action.get(action, ())) == set(
            WORDINGS.by_action[action]
        )
        assert not set(train.by_action[action]) & set(heldout.by_action.get(action, ()))
    assert heldout.actions == [(0, 0), (1, 0), (2, 2), (4, 4)]  # one-wording actions hold none out
    assert (train.by_action, heldout.by_action) == tuple(w.by_action for w in WORDINGS.split(0.5, seed=0))


def test_a_choose_exchange_is_the_option_list_a_question_and_the_options_text_alone() -> None:
    sample = sample_text(WORDINGS, RECIPE, rng_for(0, "golden"), kind="choose", novel=False, paraphrase=False)
    right = sample.options[sample.answer_index]
    listed = ", ".join(f"{'ABCDE'[i]}. {text}" for i, text in enumerate(sample.options))
    assert sample.prompt == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{listed}\nWhich option is: {right}?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert sample.answer == f"{right}<|im_end|>\n"  # no letter to copy the text by
    assert len(sample.options) == len(set(sample.options)) == 5


def test_the_lettered_recipe_lists_options_one_per_line_and_answers_with_the_letter() -> None:
    recipe = replace(RECIPE, layout="lines", choose_answer="lettered")
    sample, default = (
        sample_text(WORDINGS, r, rng_for(0, "golden"), kind="choose", novel=False, paraphrase=False)
        for r in (recipe, RECIPE)
    )
    assert sample.options == default.options and sample.answer_index == default.answer_index  # same draw
    a, b, c, d, e = sample.options
    right = sample.options[sample.answer_index]
    assert sample.prompt == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nE. {e}\nWhich option is: {right}?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert sample.answer == f"{'ABCDE'[sample.answer_index]}. {right}<|im_end|>\n"
    repeat = sample_text(WORDINGS, recipe, rng_for(1, "golden"), kind="repeat")
    assert repeat.answer == f"A. {repeat.options[0]}\nB. {repeat.options[1]}\nC. {repeat.options[2]}\n" + (
        f"D. {repeat.options[3]}\nE. {repeat.options[4]}<|im_end|>\n"
    )


def test_choices_are_scored_as_the_mqa_evaluation_scores_them() -> None:
    options = ("open fridge", "take cup", "wash knife", "cut onion", "open drawer")
    sample = TextSample("choose", "prompt", "C. wash knife", options, answer_index=2)
    answers = ["C. wash knife", "C", "A. wash knife", "Cx", "C. rinse knife", "(C)", "wash knife"]
    accuracy = score_choices([sample] * len(answers), answers)
    assert accuracy.questions == 7
    # upstream: the text after the last "X. " (letter irrelevant), or the whole answer without one
    assert accuracy.text == 3 / 7
    # strict: "B", "B.", "(B)" or "B. text", nothing else (actionmqa.answers.parse_strict_letter)
    assert accuracy.letter == 4 / 7


def test_a_paraphrase_query_is_another_wording_of_the_right_action() -> None:
    for seed in range(20):
        sample = sample_text(
            WORDINGS, RECIPE, rng_for(seed, "para"), kind="choose", novel=False, paraphrase=True
        )
        right = sample.options[sample.answer_index]
        query = sample.prompt.split("Which option is: ")[1].split("?<|im_end|>")[0]
        (action,) = [a for a, words in WORDINGS.by_action.items() if right in words]
        assert query in WORDINGS.by_action[action]
        assert query != right or len(WORDINGS.by_action[action]) == 1


def test_a_repeat_exchange_answers_with_the_option_list_itself() -> None:
    sample = sample_text(WORDINGS, RECIPE, rng_for(1, "golden"), kind="repeat")
    listed = sample.prompt.split("<|im_start|>user\n")[1].split(f"\n{REPEAT_INSTRUCTION}")[0]
    assert sample.answer == f"{listed}<|im_end|>\n"
    assert listed.startswith("A. ") and listed.count(", ") >= 4


def test_novel_options_are_distinct_phrases_of_the_worlds_words_asked_for_verbatim() -> None:
    for seed in range(10):
        sample = sample_text(WORDINGS, RECIPE, rng_for(seed, "novel"), kind="choose", novel=True)
        assert len(set(sample.options)) == 5
        for option in sample.options:
            assert 2 <= len(option.split()) <= 4 and set(option.split()) <= set(WORDINGS.words)
        right = sample.options[sample.answer_index]
        assert sample.prompt.endswith(f"\nWhich option is: {right}?<|im_end|>\n<|im_start|>assistant\n")
    assert WORDINGS.words[:4] == ["chop", "close", "cup", "cut"]


def test_held_out_answers_come_from_the_held_out_wordings_among_trained_distractors() -> None:
    train, heldout = WORDINGS.split(0.5, seed=0)
    held = {text for words in heldout.by_action.values() for text in words}
    for seed in range(10):
        sample = sample_text(
            train, RECIPE, rng_for(seed, "eval"), kind="choose", novel=False, answers=heldout
        )
        assert sample.options[sample.answer_index] in held
        assert not held & {text for i, text in enumerate(sample.options) if i != sample.answer_index}


def test_distractors_are_distinct_other_actions_and_too_few_actions_is_an_error() -> None:
    for seed in range(10):
        chosen = distractor_actions(WORDINGS, (0, 0), 4, rng_for(seed, "d"))
        assert len(chosen) == len(set(chosen)) == 4 and (0, 0) not in chosen
    with pytest.raises(ValueError, match="6 distractors need 7 actions, the narrations have 6"):
        distractor_actions(WORDINGS, (0, 0), 6, rng_for(0, "d"))


def test_a_split_that_holds_nothing_out_is_refused_before_training() -> None:
    one_wording_each = Wordings({(i, i): (f"take thing{i}",) for i in range(6)})
    expected = r"holding out 0.1 of each action's wordings \(rounded\) leaves none out"
    with pytest.raises(ValueError, match=expected):
        pretrain_language(one_wording_each, None, None, RECIPE)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return base_parts(tmp_path_factory.mktemp("language"))


def test_answer_loss_equals_the_models_own_loss(parts: dict[str, Path]) -> None:
    tokenizer = AutoTokenizer.from_pretrained(parts["tokenizer"])
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(language_config(tokenizer, 32, 1, 2, LanguageRecipe().initializer_range))
    batch = encode([sample_text(WORDINGS, RECIPE, rng_for(s, "loss")) for s in range(4)], tokenizer)
    assert answer_loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), rel=1e-5)


def test_batches_depend_only_on_the_seed(parts: dict[str, Path]) -> None:
    tokenizer = AutoTokenizer.from_pretrained(parts["tokenizer"])
    first, again = (
        batches_of_samples(WORDINGS, RECIPE, tokenizer),
        batches_of_samples(WORDINGS, RECIPE, tokenizer),
    )
    for _ in range(2):
        a, b = next(first), next(again)
        assert all(torch.equal(a[key], b[key]) for key in a)


def language(parts: dict[str, Path], out: Path, *flags: str) -> Path:
    run_base(
        [
            "language",
            *(
                "--annotations-dir",
                str(parts["world"] / "annotations"),
                "--tokenizer",
                str(parts["tokenizer"]),
            ),
            *("--hidden", "32", "--layers", "1", "--heads", "2", "--steps", "2", "--batch-size", "4"),
            # the small world has a few wordings per action: 0.1 of them rounds to none
            *("--heldout-fraction", "0.5"),
            *("--threads", "1", "--out", str(out), "--metrics", str(out.with_suffix(".json"))),
            *flags,
        ]
    )
    return out


def test_the_stage_writes_a_language_model_and_held_out_metrics(parts: dict[str, Path]) -> None:
    out = language(parts, parts["root"] / "lm")
    model = Qwen2ForCausalLM.from_pretrained(out)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 1
    metrics = json.loads(out.with_suffix(".json").read_text())
    assert metrics["chance"] == 0.2 and metrics["steps"] == 2
    train_count = len(train_wordings(parts["world"] / "annotations"))
    assert metrics["trained_wordings"] + metrics["heldout_wordings"] == train_count
    assert sorted(metrics["heldout"]) == ["exact", "novel", "paraphrase"]
    for accuracy in metrics["heldout"].values():
        assert accuracy["questions"] == 200 and 0 <= accuracy["text"] <= 1 and 0 <= accuracy["letter"] <= 1
    recipe = json.loads((out / "language.json").read_text())["recipe"]
    assert (recipe["layout"], recipe["choose_answer"]) == ("inline", "text")


def test_the_stage_trains_the_lettered_recipe_it_is_told(parts: dict[str, Path]) -> None:
    out = language(parts, parts["root"] / "lm_lettered", "--layout", "lines", "--choose-answer", "lettered")
    recipe = json.loads((out / "language.json").read_text())["recipe"]
    assert (recipe["layout"], recipe["choose_answer"]) == ("lines", "lettered")


def test_the_stage_draws_the_fresh_weights_at_the_recipes_scale(parts: dict[str, Path]) -> None:
    """Qwen2 draws its linear and embedding weights from N(0, initializer_range): measured after
    steps at a learning rate that moves nothing."""
    stds = {}
    for scale in ("0.02", "0.2"):
        out = language(
            parts, parts["root"] / f"lm_init_{scale}", "--initializer-range", scale, "--lr", "1e-12"
        )
        assert Qwen2ForCausalLM.from_pretrained(out).config.initializer_range == float(scale)
        stds[scale] = load_file(out / "model.safetensors")["model.layers.0.mlp.up_proj.weight"].std().item()
    assert stds["0.02"] == pytest.approx(0.02, rel=0.05) and stds["0.2"] == pytest.approx(0.2, rel=0.05)


def test_base_init_takes_the_pretrained_language_model_whole(parts: dict[str, Path]) -> None:
    lm = language(parts, parts["root"] / "lm_for_init")
    base = init_base(parts, parts["root"] / "base", "--language", str(lm))
    pretrained, assembled = load_file(lm / "model.safetensors"), load_file(base / "model.safetensors")
    lm_head = LlavaActionForConditionalGeneration.from_pretrained(base).lm_head.weight
    assert torch.equal(lm_head, Qwen2ForCausalLM.from_pretrained(lm).lm_head.weight)
    assert "lm_head.weight" not in assembled  # tied to the input embeddings, as in Qwen2-0.5B
    decoder = {key.removeprefix("model."): t for key, t in pretrained.items() if key.startswith("model.")}
    assert decoder and all(
        torch.equal(assembled[f"model.language_model.{key}"], t) for key, t in decoder.items()
    )
    assert json.loads((base / "base.json").read_text())["language"] == str(lm)


def test_a_language_model_of_another_width_is_refused_naming_its_folder(parts: dict[str, Path]) -> None:
    lm = language(parts, parts["root"] / "lm_wide")
    with pytest.raises(InputError, match=r"lm_wide.*does not fit the base model"):
        init_base(parts, parts["root"] / "base_wide", "--language", str(lm), "--hidden", "64")
