"""The likelihood scorer: prefix once, options batched over its cache, the numbers of full sequences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from actionmqa.evaluate.likelihood import LikelihoodScorer, answer_span, best_answer, summed_logprobs
from actionmqa.evaluate.loading import LoadedModel, load_model
from actionmqa.evaluate.mqa import option_answers, question
from actionmqa.model.processing import ChatSample
from tiny_llava_world import mqa_records, write_base_model

FRAMES = 8


def full_sequence_scores(loaded: LoadedModel, asked: ChatSample, answers: list[str]) -> list[float]:
    """The reference: every option as its own full sequence (prompt, video and answer), in one batch."""
    collate = loaded.collator(train=True, end_of_turn="")
    batch = loaded.to_device(collate([replace(asked, answer=answer) for answer in answers]))
    labels = batch.pop("labels")
    batch.pop("actions", None)
    keep = answer_span(labels)
    with torch.inference_mode():
        logits = loaded.model(**batch, logits_to_keep=keep).logits
    return summed_logprobs(logits, labels[:, -keep:]).tolist()


@pytest.fixture(scope="module", params=[True, False], ids=["action_token", "no_action_token"])
def loaded(request, tmp_path_factory) -> LoadedModel:
    folder = tmp_path_factory.mktemp("likelihood_model")
    return load_model(write_base_model(folder, seed=3, action_token=request.param))


def random_question(index: int, with_time_instruction: bool = False) -> ChatSample:
    frames = np.random.default_rng(index).integers(0, 256, (FRAMES, 32, 32, 3), dtype=np.uint8)
    return question(mqa_records(index + 1)[index], frames, with_time_instruction)


def token_lengths(loaded: LoadedModel, answers: list[str]) -> list[int]:
    return [len(loaded.tokenizer(answer, add_special_tokens=False).input_ids) for answer in answers]


@pytest.mark.parametrize("index", [0, 3])
def test_cached_prefix_scores_equal_full_sequences(loaded, index):
    asked = random_question(index, with_time_instruction=index == 3)
    answers = option_answers(mqa_records(index + 1)[index])
    assert len(set(token_lengths(loaded, answers))) > 1  # right padding of the options is exercised
    prompt_ids = loaded.collator(train=False)([asked])["input_ids"][0]
    has_action = bool((prompt_ids == loaded.model.config.action_token_id).any())
    assert has_action is loaded.model.config.action_token
    fast = LikelihoodScorer(loaded)(asked, answers)
    reference = full_sequence_scores(loaded, asked, answers)
    assert fast == pytest.approx(reference, abs=1e-4)
    assert best_answer(fast) == best_answer(reference)


def test_lengths_from_one_token_to_many_and_one_option_alone(loaded):
    asked = random_question(1)
    long = "B. put down knife, then wash plate and close fridge"
    answers = ["A", long, "C. take cup", "D.", "E. open drawer"]
    lengths = token_lengths(loaded, answers)
    assert min(lengths) == 1 and max(lengths) > 6
    scorer = LikelihoodScorer(loaded)
    assert scorer(asked, answers) == pytest.approx(full_sequence_scores(loaded, asked, answers), abs=1e-4)
    single = scorer(asked, answers[1:2])
    assert single == pytest.approx(full_sequence_scores(loaded, asked, answers[1:2]), abs=1e-4)
    assert single[0] == pytest.approx(scorer(asked, answers)[1], abs=1e-4)  # batch-mates do not leak in


def test_a_question_without_frames_scores_the_same_way(loaded):
    asked = ChatSample(prompt="<|im_start|>user\nWhich one?<|im_end|>\n<|im_start|>assistant\n")
    answers = ["A. take cup", "B. turn on tap"]
    fast = LikelihoodScorer(loaded)(asked, answers)
    assert fast == pytest.approx(full_sequence_scores(loaded, asked, answers), abs=1e-4)


def test_a_rigged_model_picks_the_rigged_option(loaded):
    """Bias the head against tokens only the other options hold after their first token.

    The letters (each option's first token) are left alone, so the pick is decided by the answer
    tokens scored over the shared cache, not by the prefix's last logits.
    """
    rigged = load_model(loaded.path)
    asked = random_question(2)
    answers = option_answers(mqa_records(3)[2])
    before = LikelihoodScorer(rigged)(asked, answers)
    target = next(k for k in range(len(answers)) if k != best_answer(before))
    ids = [rigged.tokenizer(answer, add_special_tokens=False).input_ids for answer in answers]
    penalised = {token for k, row in enumerate(ids) if k != target for token in row[1:]} - set(ids[target])
    assert all(penalised & set(row[1:]) for k, row in enumerate(ids) if k != target)
    head = rigged.model.lm_head
    biased = nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.copy_(head.weight)
        biased.bias.zero_()
        biased.bias[sorted(penalised)] = -30.0
    rigged.model.lm_head = biased
    scores = LikelihoodScorer(rigged)(asked, answers)
    assert best_answer(scores) == target
    assert scores[target] >= before[target] - 1e-4  # removing mass elsewhere only raises its tokens
    assert all(scores[k] < before[k] - 25 for k in range(len(answers)) if k != target)
    assert scores == pytest.approx(full_sequence_scores(rigged, asked, answers), abs=1e-4)


def test_no_answers_and_empty_answers(loaded):
    asked = random_question(0)
    scorer = LikelihoodScorer(loaded)
    assert scorer(asked, []) == []
    assert scorer(asked, ["", ""]) == [0.0, 0.0]
    mixed = scorer(asked, ["", "A. take cup"])
    assert mixed[0] == 0.0
    assert mixed[1] == pytest.approx(full_sequence_scores(loaded, asked, ["A. take cup"])[0], abs=1e-4)
