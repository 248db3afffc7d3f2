"""Random models of the paper's architectures: the published sizes, and a checkpoint that loads back.

The real shapes are counted on the meta device (no memory); writing and loading is checked on a
tiny shape, through the same code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.model.layout import num_video_tokens
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.presets import SHAPES, ModelShape
from actionmqa.model.processing import FrameProcessor
from actionmqa.model.random_init import shaped_config, write_random_model
from actionmqa.model.tokenizer import ACTION_TOKEN, END_OF_TURN, IMAGE_TOKEN, VIDEO_TOKEN, train_tokenizer

PLACEHOLDERS = {IMAGE_TOKEN: 151646, VIDEO_TOKEN: 151647, ACTION_TOKEN: 151648}
TINY = ModelShape(
    tower={
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 2,
        "patch_size": 8,
        "image_size": 32,
        "num_hidden_layers": 1,
    },
    language={
        "vocab_size": 64,  # smaller than the tokenizer: the config must grow to it
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "tie_word_embeddings": True,
    },
)


def parameters_on_meta(name: str, action_token: bool) -> int:
    config = shaped_config(SHAPES[name], PLACEHOLDERS, 151_649, action_token=action_token)
    with torch.device("meta"):
        model = LlavaActionForConditionalGeneration(config)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "published"),
    [
        # the hub's llava-onevision-qwen2-0.5b-ov-hf ("894M") and LLaVA-Video-7B-Qwen2 ("8.03B")
        ("llava-onevision-qwen2-0.5b", 893_618_208),
        ("llava-video-7b-qwen2", 8_030_348_832),
    ],
)
def test_shapes_have_the_published_parameter_counts(name: str, published: int) -> None:
    assert parameters_on_meta(name, action_token=False) == published
    hidden = SHAPES[name].language["hidden_size"]
    embedding_and_heads = hidden * (1 + 97 + 300 + 3806)  # EK100's verb, noun and action classes
    assert parameters_on_meta(name, action_token=True) == published + embedding_and_heads


def test_qwen2_half_billion_language_model_is_qwen2_0_5b() -> None:
    config = shaped_config(SHAPES["llava-onevision-qwen2-0.5b"], PLACEHOLDERS, 151_649)
    with torch.device("meta"):
        model = LlavaActionForConditionalGeneration(config)
    assert sum(p.numel() for p in model.model.language_model.parameters()) == 494_032_768
    assert model.lm_head.weight is model.model.language_model.embed_tokens.weight


def test_paper_layout_gives_210_visual_tokens_per_frame() -> None:
    config = shaped_config(SHAPES["llava-video-7b-qwen2"], PLACEHOLDERS, 151_649)
    assert num_video_tokens(config, 64) == 64 * 210
    tiny_hf = shaped_config(TINY, PLACEHOLDERS, 1, visual_layout="hf")
    assert num_video_tokens(tiny_hf, 8) == 8 * 2 * 2 + 1  # 32/8 = 4x4 patches pooled to 2x2, one newline


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chat tokenizer without the placeholders, as Qwen2's: writing the model must add them."""
    out = tmp_path_factory.mktemp("tokenizer")
    texts = ["take cup", "open drawer", "put down knife", "which action?"] * 20
    train_tokenizer(texts, 200, out, special_tokens=("<|endoftext|>", "<|im_start|>", END_OF_TURN))
    return out


def test_random_model_loads_back_with_placeholders_and_frame_size(
    tokenizer_dir: Path, tmp_path: Path
) -> None:
    config = write_random_model(TINY, tokenizer_dir, tmp_path / "m", seed=3)
    model = LlavaActionForConditionalGeneration.from_pretrained(tmp_path / "m")
    with safe_open(str(tmp_path / "m" / "model.safetensors"), "pt") as stored:
        assert {stored.get_tensor(key).dtype for key in stored.keys()} == {torch.bfloat16}
    assert model.config.action_token and model.model.action_embedding is not None
    assert model.config.text_config.vocab_size == config.text_config.vocab_size >= 200
    assert model.config.video_token_index == config.video_token_index
    assert model.generation_config.eos_token_id == 2  # <|im_end|>, the tokenizer's third special token
    assert FrameProcessor.from_pretrained(tmp_path / "m", model.config).size == 32
    provenance = json.loads((tmp_path / "m" / "random_init.json").read_text())
    assert provenance["seed"] == 3
    assert provenance["parameters"] == sum(p.numel() for p in model.parameters())


def test_same_seed_writes_the_same_bytes(tokenizer_dir: Path, tmp_path: Path) -> None:
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        write_random_model(TINY, tokenizer_dir, tmp_path / name, seed=seed)
    weights = {name: (tmp_path / name / "model.safetensors").read_bytes() for name in "abc"}
    assert weights["a"] == weights["b"]
    assert weights["a"] != weights["c"]


def write_with_cli(tokenizer_dir: Path, out: Path, *options: str) -> dict:
    main(
        ["model", "random", "--shape", "tiny", "--tokenizer", str(tokenizer_dir), "--out", str(out), *options]
    )
    return json.loads((out / "config.json").read_text())


def test_cli_writes_with_or_without_the_action_token(
    tokenizer_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setitem(SHAPES, "tiny", TINY)
    assert write_with_cli(tokenizer_dir, tmp_path / "m")["action_token"] is True
    assert write_with_cli(tokenizer_dir, tmp_path / "m", "--action-token", "off")["action_token"] is False


def test_missing_tokenizer_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=str(tmp_path / "absent")):
        write_random_model(TINY, tmp_path / "absent", tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_cli_refuses_an_unknown_shape(tokenizer_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "model",
                "random",
                "--shape",
                "llava-13b",
                "--tokenizer",
                str(tokenizer_dir),
                "--out",
                str(tmp_path),
            ]
        )
