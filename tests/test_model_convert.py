"""LLaVA-NeXT checkpoint conversion, on tiny checkpoints written here in LLaVA-NeXT's key layout.

The real checkpoints cannot be downloaded here, so a tiny model is exported with the inverse key
mapping, converted back and compared three ways: against itself (whole model), against a plain
Qwen2ForCausalLM on the LLaVA-NeXT LM tensors (language model), and against LLaVA-NeXT's own
video path re-implemented from its source (vision tower, projector, get_2dPool, grid newlines).
``test_model_convert_oracle.py`` checks the conversion against Hugging Face's own instead.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, SiglipVisionConfig, SiglipVisionModel

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.model.convert import convert, to_llava_next_keys
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.processing import ChatCollator, ChatSample, FrameProcessor
from actionmqa.model.tiny import tiny_config
from actionmqa.model.tokenizer import END_OF_TURN, train_tokenizer

TEXTS = ["take cup", "pick up the cup", "put down knife", "open drawer", "which action?"] * 20
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", END_OF_TURN)  # no placeholders, as Qwen2's tokenizer
PROMPT = "<|im_start|>user\n<video>\nWhat is the person doing?<|im_end|>\n<|im_start|>assistant\n"
SPARE_ROWS = 13  # Qwen2 checkpoints have more embedding rows than tokens
TOWER_DIR = "siglip_tower"
LM_PREFIXES = ("model.embed_tokens.", "model.layers.", "model.norm.", "lm_head.")


def llava_qwen_config(model: LlavaActionForConditionalGeneration, **fields) -> dict:
    """config.json as LlavaQwenForCausalLM writes it: Qwen2 fields plus LLaVA's mm_* fields."""
    text = model.config.text_config
    return {
        "architectures": ["LlavaQwenForCausalLM"],
        "model_type": "llava_qwen",
        "vocab_size": text.vocab_size,
        "hidden_size": text.hidden_size,
        "intermediate_size": text.intermediate_size,
        "num_hidden_layers": text.num_hidden_layers,
        "num_attention_heads": text.num_attention_heads,
        "num_key_value_heads": text.num_key_value_heads,
        "hidden_act": text.hidden_act,
        "max_position_embeddings": text.max_position_embeddings,
        "rms_norm_eps": text.rms_norm_eps,
        "rope_theta": text.rope_parameters["rope_theta"],
        "tie_word_embeddings": False,
        "use_sliding_window": False,
        "mm_vision_tower": TOWER_DIR,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_hidden_size": model.config.vision_config.hidden_size,
        "mm_patch_merge_type": "spatial_unpad",
        "mm_newline_position": "grid",
        "mm_spatial_pool_mode": "bilinear",
        "mm_spatial_pool_stride": 2,
        "image_aspect_ratio": "anyres_max_9",
        **fields,
    }


def write_llava_next(folder: Path, model, tokenizer, tensors: dict, config: dict) -> Path:
    """A checkpoint folder: two safetensors shards and their index, config.json, tokenizer, tower config."""
    folder.mkdir(parents=True)
    tokenizer.save_pretrained(folder)
    model.config.vision_config.save_pretrained(folder / TOWER_DIR)
    (folder / "config.json").write_text(json.dumps(config))
    language = {k for k in tensors if k.startswith(LM_PREFIXES)}
    shards = {
        "model-00001-of-00002.safetensors": {k: tensors[k] for k in language},
        "model-00002-of-00002.safetensors": {k: v for k, v in tensors.items() if k not in language},
    }
    for name, part in shards.items():
        save_file({k: v.contiguous() for k, v in part.items()}, folder / name)
    weight_map = {key: name for name, part in shards.items() for key in part}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return folder


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A tiny LLaVAction checkpoint in LLaVA-NeXT's layout, and the model it was exported from."""
    root = tmp_path_factory.mktemp("convert")
    tokenizer = train_tokenizer(TEXTS, 300, root / "qwen_tokenizer", special_tokens=QWEN_SPECIALS)
    n = len(tokenizer)  # the converter appends <image>, <video>, <action> after the existing tokens
    config = tiny_config(
        n + SPARE_ROWS, num_verbs=4, num_nouns=5, num_actions=6,
        image_token_id=n, video_token_id=n + 1, action_token_id=n + 2,
        tie_word_embeddings=False,  # LLaVA-Video-7B and LLaVAction-7B keep a separate lm_head
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlavaActionForConditionalGeneration(config).eval()
    tensors = to_llava_next_keys(model.state_dict())
    action = {
        "vision_supervision": "one_token",
        "action_types": "4,5,6",
        "vision_token_training": "last_layer",
    }
    llavaction = llava_qwen_config(model, **action)
    folder = write_llava_next(root / "llavaction", model, tokenizer, tensors, llavaction)
    # like LLaVA-OV-0.5B: no action token, tied embeddings, hence no lm_head tensor
    base_tensors = {k: v for k, v in tensors.items() if "head" not in k and "action" not in k}
    base_config = llava_qwen_config(model, tie_word_embeddings=True)
    base = write_llava_next(root / "base", model, tokenizer, base_tensors, base_config)
    return {"model": model, "llavaction": folder, "base": base, "root": root}


@pytest.fixture(scope="module")
def converted(source):
    out = source["root"] / "converted"
    convert(source["llavaction"], out)
    return out


def video_batch(folder: Path, model) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(folder)
    clip = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    frame_processor = FrameProcessor.from_pretrained(folder, model.config)
    collator = ChatCollator(tokenizer, model.config, frame_processor, train=False)
    return collator([ChatSample(PROMPT, frames=clip)])


def test_round_trip_keeps_every_tensor_and_the_logits(source, converted):
    original = source["model"]
    model = LlavaActionForConditionalGeneration.from_pretrained(converted).eval()
    assert model.config.action_token and model.config.visual_layout == "llava_video"
    assert (model.config.num_verbs, model.config.num_nouns, model.config.num_actions) == (4, 5, 6)
    ours, theirs = model.state_dict(), original.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[key], theirs[key]) for key in ours)

    batch = video_batch(converted, model)  # the converted tokenizer and preprocessor
    assert (batch["input_ids"] == original.config.action_token_id).sum() == 1
    with torch.no_grad():
        after, before = model(**batch), original(**batch)
    # Same weights, same inputs; the BLAS kernel a 1-row product takes can still depend on memory
    # alignment, which moved verb logits by 2e-8 on an AMD EPYC host. A wrong tensor moves them by far more.
    for name in ("logits", "verb_logits", "noun_logits", "action_logits"):
        torch.testing.assert_close(getattr(after, name), getattr(before, name), rtol=0, atol=1e-6)
    assert json.loads((converted / "conversion.json").read_text())["action_token"] == "converted"
    end_of_turn = AutoTokenizer.from_pretrained(converted).convert_tokens_to_ids(END_OF_TURN)
    assert model.generation_config.eos_token_id == end_of_turn


@pytest.mark.parametrize("name", ["llavaction", "base"])
def test_language_model_equals_plain_qwen2_on_the_llava_next_tensors(source, tmp_path, name):
    folder = source[name]
    raw = json.loads((folder / "config.json").read_text())
    qwen_fields = (
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings",
    )  # fmt: skip
    qwen = Qwen2ForCausalLM(Qwen2Config(**{k: raw[k] for k in qwen_fields})).eval()
    tensors = {}
    for shard in folder.glob("*.safetensors"):
        tensors.update({k: v for k, v in load_file(shard).items() if k.startswith(LM_PREFIXES)})
    qwen.load_state_dict(tensors, strict=not raw["tie_word_embeddings"])  # tied: lm_head is the embedding
    convert(folder, tmp_path / "out")
    model = LlavaActionForConditionalGeneration.from_pretrained(tmp_path / "out").eval()
    ids = AutoTokenizer.from_pretrained(folder)("pick up the cup<|im_end|>", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, qwen(input_ids=ids).logits)
    assert model.config.tie_word_embeddings == raw["tie_word_embeddings"]


def llava_next_video_features(folder: Path, pixels: torch.Tensor) -> torch.Tensor:
    """LLaVA-NeXT's video path as its source reads: tower, mm_projector, get_2dPool, add_token_per_grid."""
    tensors = {}
    for shard in folder.glob("*.safetensors"):
        tensors.update(load_file(shard))

    def part(prefix: str) -> dict:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    tower = SiglipVisionModel(SiglipVisionConfig.from_pretrained(folder / TOWER_DIR)).eval()
    tower.load_state_dict(part("model.vision_tower.vision_tower.vision_model."))
    hidden, vision_hidden = part("model.mm_projector.0.")["weight"].shape
    projector = torch.nn.Sequential(  # mlp2x_gelu
        torch.nn.Linear(vision_hidden, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, hidden)
    )
    projector.load_state_dict(part("model.mm_projector."))
    frames = pixels.shape[0]
    features = projector(tower(pixels, output_hidden_states=True).hidden_states[-1])
    side = int(math.isqrt(features.shape[1]))
    grid = features.view(frames, side, side, -1).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(grid, size=[math.ceil(side / 2)] * 2, mode="bilinear")
    grid = grid.permute(0, 2, 3, 1).flatten(1, 2)
    rows = int(math.isqrt(grid.shape[1]))
    grid = grid.view(frames, 1, rows, rows, -1).permute(4, 0, 2, 1, 3).flatten(1, 2).flatten(2, 3)
    newline = tensors["model.image_newline"]
    grid = torch.cat((grid, newline[:, None, None].expand(*grid.shape[:-1], 1)), dim=-1)
    return grid.flatten(1, 2).transpose(0, 1)


def test_video_features_equal_llava_next_reference(source, converted):
    model = LlavaActionForConditionalGeneration.from_pretrained(converted).eval()
    pixels = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        reference = llava_next_video_features(source["llavaction"], pixels)
        ours = model.model.get_video_features(pixels[None]).pooler_output[0]
    assert ours.shape == reference.shape == (3 * 4 * 5, model.config.text_config.hidden_size)
    assert torch.allclose(ours, reference, atol=1e-6)


def test_action_token_switch(source, tmp_path):
    assert main(["model", "convert", "--src", str(source["llavaction"]), "--out", str(tmp_path / "off"),
                 "--action-token", "off"]) == 0  # fmt: skip
    off = LlavaActionForConditionalGeneration.from_pretrained(tmp_path / "off")
    assert not off.config.action_token and off.model.action_embedding is None
    assert not hasattr(off, "verb_head")

    convert(source["base"], tmp_path / "on", action_token="on")
    on = LlavaActionForConditionalGeneration.from_pretrained(tmp_path / "on")
    assert on.config.action_token and on.config.num_actions == 3806  # EK100 default without action_types
    assert json.loads((tmp_path / "on" / "conversion.json").read_text())["action_token"] == "initialised"
    hidden = on.config.text_config.hidden_size
    assert on.model.action_embedding.std().item() == pytest.approx(hidden**-0.5, rel=0.5)


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("llavaction", {"mm_newline_position": "frame"}, "key 'mm_newline_position'"),
        ("llavaction", {"mm_vision_tower": "google/unknown-tower"}, "key 'mm_vision_tower'"),
        ("llavaction", {"mm_vision_tower": "google/siglip-so400m-patch14-384"}, "layers"),  # not this tower
        ("llavaction", {"model_type": "llava_llama"}, "key 'model_type'"),
        ("llavaction", {"vision_supervision": "three_tokens"}, "key 'vision_supervision'"),
        ("base", {"vision_supervision": "one_token"}, "no model.action_supervision tensor"),
    ],
)
def test_unsupported_checkpoints_are_named_with_file_and_key(source, tmp_path, name, edit, message):
    folder = shutil.copytree(source[name], tmp_path / "src")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **edit}))
    with pytest.raises(InputError, match=message) as error:
        convert(folder, tmp_path / "out")
    assert str(folder) in str(error.value)
    assert not (tmp_path / "out").exists()


def test_unknown_tensors_are_an_error_not_dropped(source, tmp_path):
    folder = shutil.copytree(source["llavaction"], tmp_path / "src")
    (folder / "model.safetensors.index.json").unlink()
    save_file({"model.vision_resampler.weight": torch.zeros(2)}, folder / "extra.safetensors")
    assert main(["model", "convert", "--src", str(folder), "--out", str(tmp_path / "out")]) == 2
    with pytest.raises(InputError, match="unknown role.*vision_resampler"):
        convert(folder, tmp_path / "out")
