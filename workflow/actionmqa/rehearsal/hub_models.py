"""The hub checkpoints of the paper's run as tiny random LLaVA-NeXT checkpoints in a local hub cache.

Each repository the config names gets a checkpoint of its release's kind (``RELEASE_KINDS``: tied
embeddings or not, LLaVA-Video's grid newlines or LLaVA-OneVision's single one, LLaVAction's
action token and heads over EK100's 97 verbs, 300 nouns and 3,806 actions) at the sizes of
``TinySizes``, cached under the config's repository id and revision: a 40-hex revision is the
snapshot's commit, a branch (``main``) points at a commit derived from the files. The tokenizer is
a byte-level BPE trained on the rehearsal's narrations with Qwen2's chat markers, and, as in Qwen2
checkpoints, the embedding matrix has spare rows.

A random language model never emits its end-of-turn token, so every generation would run to its
cap (Perception Test's is 1,024 new tokens: minutes a question). ``plant_letter_answer`` gives the
stand-ins a real chat model's habit instead: they answer a multiple-choice letter and stop.
"""

from __future__ import annotations

import logging
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import Qwen2Config, SiglipVisionConfig

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.hub import is_commit
from actionmqa.model.tokenizer import END_OF_TURN, train_tokenizer
from actionmqa.prompts import chat_answer, chat_prompt, llava_user_text, mqa_answer, mqa_prompt
from actionmqa.rehearsal.hub_cache import content_commit, folder_files, populate_cache
from actionmqa.rehearsal.llava_next import llava_next_tensors, llava_qwen_config, write_llava_next

log = logging.getLogger(__name__)

QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", END_OF_TURN)
#: Qwen2 checkpoints hold more embedding rows than their tokenizer has tokens.
SPARE_ROWS = 16
#: LLaVAction's ``action_types`` (spec/llavaction.md §3.2).
EK100_LABELS = (97, 300, 3806)


@dataclass(frozen=True)
class ReleaseKind:
    """What distinguishes one release's checkpoint files (besides its size)."""

    tied: bool
    newline_position: str
    action_token: bool


#: The releases config/paper.yaml names. LLaVA-Video-7B: Qwen2-7B (untied), ``grid``;
#: LLaVA-OneVision-0.5B: Qwen2-0.5B (tied), ``one_token``; LLaVAction: its base's language model,
#: the ``grid`` layout of the LLaVA-Video recipe, and the action token (``vision_supervision``).
_VIDEO = ReleaseKind(tied=False, newline_position="grid", action_token=False)
_ONEVISION = ReleaseKind(tied=True, newline_position="one_token", action_token=False)
RELEASE_KINDS: dict[str, ReleaseKind] = {
    "lmms-lab/LLaVA-Video-7B-Qwen2": _VIDEO,
    "lmms-lab/llava-onevision-qwen2-0.5b-ov": _ONEVISION,
    "MLAdaptiveIntelligence/LLaVAction-7B": ReleaseKind(
        tied=False, newline_position="grid", action_token=True
    ),
    "MLAdaptiveIntelligence/LLaVAction-0.5B": ReleaseKind(
        tied=True, newline_position="grid", action_token=True
    ),
}


@dataclass(frozen=True)
class TinySizes:
    """The stand-ins' sizes: SigLIP's 14 px patches at 56 px (4x4 patches, 2x2 after pooling)."""

    hidden: int = 32
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    vision_hidden: int = 16
    vision_layers: int = 3
    image_size: int = 56
    patch_size: int = 14
    vocab_size: int = 600

    def text_config(self, vocab: int, tied: bool) -> Qwen2Config:
        return Qwen2Config(
            vocab_size=vocab,
            hidden_size=self.hidden,
            intermediate_size=2 * self.hidden,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            num_key_value_heads=self.kv_heads,
            max_position_embeddings=4096,
            rope_theta=1000000.0,
            tie_word_embeddings=tied,
        )

    def tower_config(self) -> SiglipVisionConfig:
        """The tower as released: all its layers (the checkpoint stores one fewer)."""
        return SiglipVisionConfig(
            hidden_size=self.vision_hidden,
            intermediate_size=2 * self.vision_hidden,
            num_hidden_layers=self.vision_layers,
            num_attention_heads=2,
            image_size=self.image_size,
            patch_size=self.patch_size,
        )


def tokenizer_texts(annotations: Path) -> list[str]:
    """Narrations and chat-formatted MQA turns over them: what the stand-in models will read."""
    segments = load_annotation_dir(annotations)
    narrations = sorted({*segments.split("train")["narration"], *segments.split("validation")["narration"]})
    texts = list(narrations)
    for i in range(0, len(narrations), 5):
        options = narrations[i : i + 5]
        user = llava_user_text(mqa_prompt(options))
        texts.append(chat_prompt(user) + chat_answer(mqa_answer(0, options[0])))
    return texts * 2


def release_kind(repo: str) -> ReleaseKind:
    try:
        return RELEASE_KINDS[repo]
    except KeyError:
        raise InputError(
            None, f"no stand-in for this repository; known: {sorted(RELEASE_KINDS)}", key=repo
        ) from None


#: The letter the stand-ins answer with.
ANSWER = "A"


def plant_letter_answer(tensors: dict[str, torch.Tensor], letter: int, end: int) -> None:
    """Make the language model answer token ``letter`` and then ``end``, whatever the prompt.

    transformers initialises the layers' weights at std 0.02, so the residual stream at the last
    position is mostly the current token's embedding and greedy decoding follows a bigram map. Two
    embedding dimensions set that map: every token carries 1 in dimension 0, so ``letter`` (2 there)
    wins after any of them; ``letter`` also carries 1 in dimension 1, where ``end`` carries 6, so
    ``end`` wins after ``letter``. The output rows are the embeddings (tied, or a copy when untied).
    """
    embed = tensors["model.embed_tokens.weight"]
    embed[:, :2] = torch.tensor([1.0, 0.0])
    embed[letter, :2] = torch.tensor([2.0, 1.0])
    embed[end, :2] = torch.tensor([0.0, 6.0])
    if "lm_head.weight" in tensors:
        tensors["lm_head.weight"] = embed.clone()


def write_checkpoint(folder: Path, repo: str, tokenizer_dir: Path, sizes: TinySizes, seed: int) -> Path:
    """A tiny checkpoint of ``repo``'s kind in ``folder``."""
    kind = release_kind(repo)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    vocab = len(tokenizer) + SPARE_ROWS
    text = sizes.text_config(vocab, kind.tied)
    tower = sizes.tower_config()
    labels = EK100_LABELS if kind.action_token else None
    tensors = llava_next_tensors(text, tower, labels=labels, seed=seed)
    plant_letter_answer(
        tensors, tokenizer.convert_tokens_to_ids(ANSWER), tokenizer.convert_tokens_to_ids(END_OF_TURN)
    )
    fields = {"vision_supervision": "one_token", "action_types": ",".join(map(str, labels))} if labels else {}
    text_fields = {k: v for k, v in text.to_dict().items() if k in _QWEN2_FIELDS}
    config = llava_qwen_config(text_fields, tower.hidden_size, kind.newline_position, **fields)
    return write_llava_next(folder, tokenizer_dir, tensors, config, tower)


_QWEN2_FIELDS = (
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "tie_word_embeddings",
)  # fmt: skip


def cache_checkpoint(
    cache: Path, repo: str, revision: str, annotations: Path, sizes: TinySizes = TinySizes(), seed: int = 0
) -> str:
    """Write ``repo``'s stand-in into the hub cache at ``revision``; returns the snapshot's commit.

    The weights are drawn from ``seed`` and the repository id, so no two stand-ins are the same model.
    """
    seed = zlib.crc32(f"{seed}:{repo}".encode())
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = Path(tmp) / "tokenizer"
        train_tokenizer(
            tokenizer_texts(annotations), sizes.vocab_size, tokenizer, special_tokens=QWEN_SPECIALS
        )
        files = folder_files(write_checkpoint(Path(tmp) / "checkpoint", repo, tokenizer, sizes, seed))
    commit = revision if is_commit(revision) else content_commit(files)
    refs: Sequence[str] = () if is_commit(revision) else (revision,)
    snapshot = populate_cache(cache, repo, files, commit=commit, refs=refs)
    log.info("%s@%s: %d files -> %s", repo, revision, len(files), snapshot)
    return commit
