"""``base language``: the language model pretrained on the world's text, before it ever sees a frame.

The stand-in for Qwen2's pretraining. A real LLaVA starts from a language model that can already
copy from its context and pick the listed option a question points to; a tiny LM trained from
scratch on the video tasks alone never learns that in a CPU budget: it learns to narrate the
video in its own words and ignores the options, so its generated MQA answers rarely match an
option's text even when it recognises the action. Two text-only tasks on the world's train
narrations teach it, cheaply because there are no frames:

* ``repeat``: the option list, then "Repeat the options." and the list again (dense copying: every
  answer token is a copy, which is what builds induction heads quickly);
* ``choose``: the option list, then "Which option is: <query>?" and that option's text, where the
  query is the option's own wording or another wording of the same action (a paraphrase).
  Distractors are other actions, some sharing its verb or noun.

``choose`` is answered with the option's text alone, not ``"C. <option>"``: with the right letter
first in every answer, the text can be copied from the option that letter labels, so the model
can learn to copy by letter instead of finding an option by what it says, and a letter is what
this size cannot learn to pick in budget. Without it, the text must be found by its content, as
an MQA answer must be found by the video; the "X. text" form comes later, with the instruction
data. At 600 steps the outcome depends on the seed (README, "Where the demo stands").

The recipe keeps the other way as knobs (``layout``, ``choose_answer``): with options one per line,
``"C. <option>"`` answers and 8 heads, 2000 steps start to teach the letter, but the base built on
that language model lost most of its EK100-MQA score (README, the benchmarks' letter). The
scale of the fresh weights is a knob too (``initializer_range``): Qwen2's 0.02 starts a model
this narrow with near-uniform attention, in which even a two-word letter lookup waits 1000
steps; the fan-in scale learns that in 200, but chose worse held out and cost the base its
EK100-MQA score in a whole run.

Options can also be novel phrases (random strings of the world's words, asked for verbatim), a
knob of the recipe. Only the train split is read. A seeded share of its distinct wordings is
held out of training; the metrics ask for them verbatim (``exact``) and by another wording
(``paraphrase``), and for novel phrases (``novel``): choosing and copying on unseen strings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from transformers import (
    AutoTokenizer,
    PreTrainedTokenizerBase,
    Qwen2Config,
    Qwen2ForCausalLM,
    get_cosine_schedule_with_warmup,
)

from actionmqa.answers import score_mqa_output
from actionmqa.basemodel.device import training_device
from actionmqa.basemodel.recipes import LanguageRecipe
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.io import atomic_dir, write_json
from actionmqa.model.modeling import supervised_lm_loss
from actionmqa.model.tiny import tiny_text_config
from actionmqa.model.tokenizer import END_OF_TURN
from actionmqa.prompts import chat_answer, chat_prompt, format_option_lines, format_options, mqa_answer
from actionmqa.seeding import rng_for

log = logging.getLogger(__name__)

PROVENANCE_FILE = "language.json"
TaskKind = Literal["repeat", "choose"]
Action = tuple[int, int]

REPEAT_INSTRUCTION = "Repeat the options."


def choose_question(query: str) -> str:
    return f"Which option is: {query}?"


@dataclass(frozen=True)
class TextSample:
    """One exchange: the ChatML prompt, the answer after it, and for ``choose`` the right option."""

    kind: TaskKind
    prompt: str
    answer: str
    options: tuple[str, ...]
    answer_index: int


class Wordings:
    """The world's narrations grouped by action (verb class, noun class): its paraphrase sets."""

    def __init__(self, by_action: dict[Action, tuple[str, ...]]) -> None:
        self.by_action = {action: words for action, words in by_action.items() if words}
        self.actions: list[Action] = sorted(self.by_action)
        self.words: list[str] = sorted(
            {word for words in self.by_action.values() for text in words for word in text.split()}
        )

    @classmethod
    def from_segments(cls, verbs: Sequence[int], nouns: Sequence[int], narrations: Sequence[str]) -> Wordings:
        groups: dict[Action, set[str]] = {}
        for verb, noun, text in zip(verbs, nouns, narrations, strict=True):
            groups.setdefault((int(verb), int(noun)), set()).add(str(text))
        return cls({action: tuple(sorted(texts)) for action, texts in groups.items()})

    def split(self, fraction: float, seed: int) -> tuple[Wordings, Wordings]:
        """(trained on, held out): a seeded ``fraction`` of each action's wordings, rounded.

        An action keeps at least one wording to train on, so every action stays an option.
        """
        train: dict[Action, tuple[str, ...]] = {}
        heldout: dict[Action, tuple[str, ...]] = {}
        for action in self.actions:
            words = self.by_action[action]
            order = rng_for(seed, "base-language", "heldout", *action).permutation(len(words))
            n_out = min(round(fraction * len(words)), len(words) - 1)
            heldout[action] = tuple(sorted(words[i] for i in order[:n_out]))
            train[action] = tuple(sorted(words[i] for i in order[n_out:]))
        return Wordings(train), Wordings(heldout)

    def __len__(self) -> int:
        return sum(len(words) for words in self.by_action.values())


def pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def distractor_actions(wordings: Wordings, action: Action, n: int, rng: np.random.Generator) -> list[Action]:
    """``n`` other actions: a random number of them share the verb or the noun, the rest are any."""
    others = [other for other in wordings.actions if other != action]
    if len(others) < n:
        raise ValueError(f"{n} distractors need {n + 1} actions, the narrations have {len(wordings.actions)}")
    related = [other for other in others if other[0] == action[0] or other[1] == action[1]]
    n_related = min(len(related), int(rng.integers(n + 1)))
    chosen = [related[i] for i in rng.permutation(len(related))[:n_related]]
    rest = [other for other in others if other not in chosen]
    return chosen + [rest[i] for i in rng.permutation(len(rest))[: n - len(chosen)]]


def novel_phrases(words: Sequence[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct strings of two to four of the world's words: text no narration has, to copy."""
    phrases: list[str] = []
    while len(phrases) < n:
        phrase = " ".join(pick(rng, words) for _ in range(int(rng.integers(2, 5))))
        if phrase not in phrases:
            phrases.append(phrase)
    return phrases


def sample_text(
    wordings: Wordings,
    recipe: LanguageRecipe,
    rng: np.random.Generator,
    *,
    kind: TaskKind | None = None,
    novel: bool | None = None,
    paraphrase: bool | None = None,
    answers: Wordings | None = None,
) -> TextSample:
    """One seeded exchange over ``wordings``; ``answers`` (held-out wordings) supplies the right option.

    ``kind``, ``novel`` (options are novel phrases, asked for verbatim) and ``paraphrase`` are
    drawn with the recipe's fractions unless given. A paraphrase query is another wording of the
    right option's action (any of ``wordings`` and ``answers``).
    """
    if kind is None:
        kind = "repeat" if rng.random() < recipe.repeat_fraction else "choose"
    if novel is None:
        novel = rng.random() < recipe.novel_fraction
    if novel:
        options = novel_phrases(wordings.words, recipe.options, rng)
        answer_index = int(rng.integers(len(options)))
        text = query = options[answer_index]
    else:
        source = answers or wordings
        action = pick(rng, source.actions)
        text = pick(rng, source.by_action[action])
        others = distractor_actions(wordings, action, recipe.options - 1, rng)
        drawn = [text, *(pick(rng, wordings.by_action[other]) for other in others)]
        options = [drawn[i] for i in rng.permutation(len(drawn))]
        answer_index = options.index(text)
        if paraphrase is None:
            paraphrase = rng.random() < recipe.paraphrase_fraction
        same_action = sorted({*wordings.by_action.get(action, ()), *source.by_action[action]} - {text})
        query = pick(rng, same_action) if paraphrase and same_action else text
    listed = format_option_lines(options) if recipe.layout == "lines" else format_options(options)
    if kind == "repeat":
        prompt, answer = f"{listed}\n{REPEAT_INSTRUCTION}", listed
    else:
        chosen = mqa_answer(answer_index, text) if recipe.choose_answer == "lettered" else text
        prompt, answer = f"{listed}\n{choose_question(query)}", chosen
    return TextSample(kind, chat_prompt(prompt), chat_answer(answer), tuple(options), answer_index)


def language_config(
    tokenizer: PreTrainedTokenizerBase, hidden: int, layers: int, heads: int, initializer_range: float
) -> Qwen2Config:
    """The LM half of ``tiny_config``: same widths, so ``base init`` can load it into the LLaVA model;
    the scale of its fresh weights is the recipe's (``LanguageRecipe.initializer_range``)."""
    config = tiny_text_config(len(tokenizer), hidden, layers, heads, tokenizer.pad_token_id)
    config.initializer_range = initializer_range
    return config


def encode(samples: Sequence[TextSample], tokenizer: PreTrainedTokenizerBase) -> dict[str, torch.Tensor]:
    """Right-padded ids with labels on the answer tokens only (the prompt is context, not target)."""
    rows: list[tuple[list[int], list[int]]] = []
    for sample in samples:
        prompt = tokenizer(sample.prompt, add_special_tokens=False).input_ids
        answer = tokenizer(sample.answer, add_special_tokens=False).input_ids
        rows.append((prompt + answer, [-100] * len(prompt) + answer))
    width = max(len(ids) for ids, _ in rows)
    pad = tokenizer.pad_token_id

    def padded(values: list[int], fill: int) -> list[int]:
        return values + [fill] * (width - len(values))

    return {
        "input_ids": torch.tensor([padded(ids, pad) for ids, _ in rows]),
        "labels": torch.tensor([padded(labels, -100) for _, labels in rows]),
        "attention_mask": torch.tensor([padded([1] * len(ids), 0) for ids, _ in rows]),
    }


@dataclass(frozen=True)
class ChoiceAccuracy:
    """Answers to ``choose`` questions, read as upstream reads an MQA answer
    (``actionmqa.answers.score_mqa_output``): ``text`` is the share that is the right option's text,
    ``letter`` the share whose strict letter is the right option's (an answer in text alone has none).
    """

    questions: int
    text: float
    letter: float


def score_choices(samples: Sequence[TextSample], answers: Sequence[str]) -> ChoiceAccuracy:
    """Each raw answer scored against its ``choose`` question."""
    scored = [
        score_mqa_output({"options": sample.options, "answer_index": sample.answer_index}, answer)
        for sample, answer in zip(samples, answers, strict=True)
    ]
    return ChoiceAccuracy(
        len(scored),
        text=sum(s.correct_upstream for s in scored) / len(scored),
        letter=sum(s.correct_strict for s in scored) / len(scored),
    )


@torch.no_grad()
def greedy_answers(
    model: Qwen2ForCausalLM,
    tokenizer: PreTrainedTokenizerBase,
    samples: Sequence[TextSample],
    batch_size: int = 100,
) -> list[str]:
    """Greedy, left-padded (so a batch equals one-by-one) answers to the samples' prompts."""
    model.eval()
    answers: list[str] = []
    pad = tokenizer.pad_token_id
    for start in range(0, len(samples), batch_size):
        prompts = [
            tokenizer(sample.prompt, add_special_tokens=False).input_ids
            for sample in samples[start : start + batch_size]
        ]
        width = max(len(ids) for ids in prompts)
        padding = [width - len(ids) for ids in prompts]
        output = model.generate(
            input_ids=torch.tensor(
                [[pad] * n + ids for n, ids in zip(padding, prompts, strict=True)], device=model.device
            ),
            attention_mask=torch.tensor([[0] * n + [1] * (width - n) for n in padding], device=model.device),
            max_new_tokens=16,
            do_sample=False,
            pad_token_id=pad,
            eos_token_id=tokenizer.convert_tokens_to_ids(END_OF_TURN),
        )
        answers += [
            text.strip() for text in tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
        ]
    model.train()
    return answers


def choice_accuracy(
    model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerBase, samples: Sequence[TextSample]
) -> ChoiceAccuracy:
    return score_choices(samples, greedy_answers(model, tokenizer, samples))


def batches_of_samples(
    wordings: Wordings, recipe: LanguageRecipe, tokenizer: PreTrainedTokenizerBase
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless seeded batches; a step's batch depends only on the seed and the step."""
    step = 0
    while True:
        rng = rng_for(recipe.seed, "base-language", "batch", step)
        yield encode([sample_text(wordings, recipe, rng) for _ in range(recipe.batch_size)], tokenizer)
        step += 1


def answer_loss(model: Qwen2ForCausalLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The causal LM loss on the answer tokens, with the vocabulary projection run only where needed.

    Equal to ``model(**batch).loss``; the prompt positions would only be projected and ignored,
    and that projection is a large share of a tiny model's step.
    """
    hidden = model.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    loss, _ = supervised_lm_loss(hidden, batch["labels"], model.lm_head)
    return loss


@dataclass
class PretrainedLanguage:
    model: Qwen2ForCausalLM
    heldout: dict[str, ChoiceAccuracy]
    final_loss: float
    trained_wordings: int
    heldout_wordings: int


QuestionView = Literal["exact", "paraphrase", "novel"]


def heldout_questions(
    train: Wordings, heldout: Wordings, recipe: LanguageRecipe, view: QuestionView
) -> list[TextSample]:
    """``choose`` questions nothing trained on: a held-out wording asked for verbatim (``exact``) or
    by another wording of its action (``paraphrase``), or fresh novel phrases (``novel``)."""
    rng = rng_for(recipe.seed, "base-language", "eval", view)
    return [
        sample_text(
            train,
            recipe,
            rng,
            kind="choose",
            novel=view == "novel",
            paraphrase=view == "paraphrase",
            answers=heldout,
        )
        for _ in range(recipe.eval_questions)
    ]


def pretrain_language(
    wordings: Wordings, tokenizer: PreTrainedTokenizerBase, config: Qwen2Config, recipe: LanguageRecipe
) -> PretrainedLanguage:
    """Train a fresh LM on ``repeat`` and ``choose``; measure choosing among held-out wordings after."""
    train, heldout = wordings.split(recipe.heldout_fraction, recipe.seed)
    if not heldout.actions:
        raise ValueError(
            f"holding out {recipe.heldout_fraction} of each action's wordings (rounded) leaves none out:"
            " nothing to measure on; raise the fraction"
        )
    torch.manual_seed(recipe.seed)
    model = Qwen2ForCausalLM(config).to(training_device())
    log.info("pretraining the language model on %s", model.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = get_cosine_schedule_with_warmup(
        optimizer, round(recipe.warmup_ratio * recipe.steps), recipe.steps
    )
    data = batches_of_samples(train, recipe, tokenizer)
    model.train()
    loss = torch.tensor(float("nan"))
    progress = tqdm(range(recipe.steps), desc="pretrain language model", unit="step")
    for _ in progress:
        loss = answer_loss(model, {key: tensor.to(model.device) for key, tensor in next(data).items()})
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), recipe.max_grad_norm)
        optimizer.step()
        schedule.step()
        progress.set_postfix(loss=f"{loss.item():.3f}")
    result = PretrainedLanguage(
        model=model.eval(),
        heldout={
            view: choice_accuracy(model, tokenizer, heldout_questions(train, heldout, recipe, view))
            for view in ("exact", "paraphrase", "novel")
        },
        final_loss=float(loss.item()),
        trained_wordings=len(train),
        heldout_wordings=len(heldout),
    )
    log.info("language model pretrained, held-out choosing: %s", result.heldout)
    return result


@dataclass(frozen=True)
class LanguageJob:
    """Everything ``actionmqa base language`` was told; ``hidden``, ``layers``, ``heads`` as ``base init``."""

    annotations_dir: Path
    tokenizer_dir: Path
    out: Path
    metrics: Path
    recipe: LanguageRecipe
    hidden: int = 128
    layers: int = 4
    heads: int = 4


def train_wordings(annotations_dir: Path) -> Wordings:
    """The train split's narrations by action; validation text is the benchmark's and stays out."""
    segments = load_annotation_dir(annotations_dir).split("train")
    return Wordings.from_segments(segments["verb_class"], segments["noun_class"], segments["narration"])


def build_language(job: LanguageJob) -> PretrainedLanguage:
    """Pretrain, save the LM folder (``Qwen2ForCausalLM``) and the metrics; returns the result."""
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(job.tokenizer_dir)
    config = language_config(tokenizer, job.hidden, job.layers, job.heads, job.recipe.initializer_range)
    result = pretrain_language(train_wordings(job.annotations_dir), tokenizer, config, job.recipe)
    log.info("language model pretrained in %.1f s", time.perf_counter() - started)
    with atomic_dir(job.out) as staging:
        result.model.save_pretrained(staging)
        write_json(
            staging / PROVENANCE_FILE,
            {"annotations_dir": str(job.annotations_dir), "recipe": asdict(job.recipe)},
        )
    write_json(job.metrics, metrics(result, job))
    return result


def metrics(result: PretrainedLanguage, job: LanguageJob) -> dict[str, Any]:
    """Held-out choosing accuracies beside chance (one option in ``options``)."""
    return {
        "heldout": {view: asdict(accuracy) for view, accuracy in result.heldout.items()},
        "chance": 1 / job.recipe.options,
        "trained_wordings": result.trained_wordings,
        "heldout_wordings": result.heldout_wordings,
        "final_loss": result.final_loss,
        "steps": job.recipe.steps,
    }
