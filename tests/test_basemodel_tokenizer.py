"""``base tokenizer``: train text only, every prompt template, one piece per prompt word, reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from actionmqa import prompts
from actionmqa.basemodel.corpus import tokenizer_corpus
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.io import read_jsonl
from actionmqa.model.tokenizer import SPECIAL_TOKENS, special_token_id
from actionmqa.sft.clip_texts import load_scenes
from basemodel_world import build_tokenizer, make_world

OPTIONS = ["take cup", "put down cup", "open drawer", "close drawer", "wash plate"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def corpus(world: Path) -> list[str]:
    return tokenizer_corpus(
        load_annotation_dir(world / "annotations"), load_scenes(world / "scenes.jsonl"), seed=0
    )


@pytest.fixture(scope="module")
def built(world: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tokenizer built twice, into two folders."""
    root = tmp_path_factory.mktemp("tokenizers")
    return build_tokenizer(world, root / "first"), build_tokenizer(world, root / "second")


@pytest.fixture(scope="module")
def tokenizer(built: tuple[Path, Path]) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(built[0])


def test_corpus_has_the_train_scenes_and_none_of_validation(world: Path, corpus: list[str]) -> None:
    scenes = read_jsonl(world / "scenes.jsonl")
    train = {s["description"] for s in scenes if s["split"] == "train"}
    validation_only = {s["description"] for s in scenes if s["split"] == "validation"} - train
    text = "\n".join(corpus)
    assert validation_only, "the world should have validation scenes unlike any train scene"
    assert all(description in text for description in train)
    assert not any(description in text for description in validation_only)


def test_corpus_renders_every_prompt_template(corpus: list[str]) -> None:
    text = "\n".join(corpus)
    for fragment in (
        prompts.chat_prompt(prompts.llava_user_text(prompts.caption_prompt())),
        prompts.chat_prompt(prompts.llava_user_text(prompts.direct_narration_prompt())),
        prompts.PERSPECTIVE_PREFIX + "Given multiple choices",
        "What action are you currently performing? Here are the options of actions you can select:\n",
        "seconds ago, you started an action",
        "What is the relative start and end time of the action in seconds?",
        "frames are uniformly sampled from it.You are seeing",  # upstream's missing separator
        "frames are uniformly sampled from it. You are seeing",  # the GPT baseline's system prompt
    ):
        assert fragment in text, fragment


def test_rebuilding_gives_a_byte_identical_tokenizer(built: tuple[Path, Path]) -> None:
    first, second = built
    assert (first / "tokenizer.json").read_bytes() == (second / "tokenizer.json").read_bytes()


def test_special_tokens_come_first_in_the_fixed_order(tokenizer: PreTrainedTokenizerBase) -> None:
    assert [tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS] == [
        special_token_id(token) for token in SPECIAL_TOKENS
    ]
    assert tokenizer.unk_token is None  # byte-level: no text is ever unknown


@pytest.mark.parametrize(
    "text",
    [
        prompts.mqa_prompt(OPTIONS),
        prompts.caption_prompt(),
        prompts.direct_narration_prompt(),
        prompts.SYSTEM_PROMPT,
    ],
)
def test_every_word_of_a_prompt_template_is_one_piece(tokenizer: PreTrainedTokenizerBase, text: str) -> None:
    words = [word for word, _ in tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)]
    pieces = tokenizer.tokenize(text)
    assert len(pieces) == len(words), [w for w in words if len(tokenizer.tokenize(w)) > 1]
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_chat_markers_and_placeholders_stay_whole(tokenizer: PreTrainedTokenizerBase) -> None:
    text = prompts.chat_prompt(prompts.llava_user_text(prompts.mqa_prompt(OPTIONS)))
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert ids.count(special_token_id("<video>")) == 1
    assert ids.count(special_token_id("<|im_start|>")) == 3
    assert tokenizer.decode(ids) == text
