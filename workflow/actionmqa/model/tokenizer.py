"""Tokenizers: an offline byte-level BPE for tiny models, and the placeholders a real one lacks.

The special tokens come first, in a fixed order, so a tiny model's config can name their ids
without reading a file: ``SPECIAL_TOKENS.index("<video>")`` is the `<video>` id of every
tokenizer trained here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AddedToken,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from actionmqa.errors import InputError

IMAGE_TOKEN = "<image>"
VIDEO_TOKEN = "<video>"
ACTION_TOKEN = "<action>"
END_OF_TURN = "<|im_end|>"
PAD_TOKEN = "<pad>"

#: ChatML markers (as Qwen2) first, then the multimodal placeholders, then padding.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    END_OF_TURN,
    IMAGE_TOKEN,
    VIDEO_TOKEN,
    ACTION_TOKEN,
    PAD_TOKEN,
)


def special_token_id(token: str) -> int:
    """Id of ``token`` in every tokenizer ``train_tokenizer`` writes with the default special tokens."""
    return SPECIAL_TOKENS.index(token)


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int,
    out_dir: Path,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` and save it to ``out_dir`` (same texts -> same bytes).

    Byte-level means no unknown token: any text the world or a user writes still encodes.
    ``<|im_end|>`` is the end-of-sequence token, since chat generation stops at the end of a turn.
    """
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=END_OF_TURN if END_OF_TURN in special_tokens else None,
        pad_token=PAD_TOKEN if PAD_TOKEN in special_tokens else None,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def add_special_tokens(tokenizer: PreTrainedTokenizerBase, tokens: Sequence[str]) -> dict[str, int]:
    """Add the placeholders ``tokens`` the tokenizer lacks (never split nor normalised); returns their ids."""
    missing = [token for token in tokens if token not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_tokens(
            [AddedToken(token, special=True, normalized=False) for token in missing], special_tokens=True
        )
    return {token: tokenizer.convert_tokens_to_ids(token) for token in tokens}


def fit_embeddings(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    """Grow the embeddings if the tokenizer outgrew them (Qwen2 checkpoints have spare rows, tiny may not)."""
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))


def load_chat_tokenizer(src: Path) -> PreTrainedTokenizerBase:
    """A checkpoint's tokenizer, padding with its end-of-text token where it names no pad token (Qwen2)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(src)
    except (OSError, ValueError) as exc:
        raise InputError(src, f"cannot load its tokenizer ({exc})") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def end_generation_at_turns(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    """Greedy chat generation stops at ``<|im_end|>`` and pads with the tokenizer's pad id."""
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def add_action_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> int:
    """Add `<action>` to a real checkpoint's tokenizer and model: right after loading, before any backward."""
    action_id = add_special_tokens(tokenizer, [ACTION_TOKEN])[ACTION_TOKEN]
    fit_embeddings(tokenizer, model)
    model.config.action_token_id = action_id
    return action_id
