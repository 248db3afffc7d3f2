"""Checkpoint conversion checked against Hugging Face's own conversion of LLaVA-NeXT checkpoints.

The oracle is ``convert_llava_onevision_weights_to_hf.py`` in huggingface/transformers (read at
commit d058e0f712f346209059c8bbdcaaf5d9cd762075; the wheel does not ship it): its key renaming
table, its tied-head handling and its SigLIP tower with the last layer dropped are copied below
as written there. Its result is loaded with ``LlavaOnevisionForConditionalGeneration``, which maps
those (transformers 4) names onto today's modules itself.

The test checkpoints carry the names LLaVA-NeXT's own module tree gives its tensors (read in
LLaVA-VL/LLaVA-NeXT: ``llava/model/language_model/llava_qwen.py``, ``llava/model/llava_arch.py``,
``llava/model/multimodal_encoder/siglip_encoder.py``, ``llava/model/multimodal_projector/builder.py``;
the action token and heads in AdaptiveMotorControlLab/LLaVAction's copies of the first two), spelled
out by hand here, not taken from ``actionmqa.model.convert``.

Where the conversion here differs on purpose from HF's, the test says so:
- the action token (``model.action_supervision`` and the verb/noun/action heads) is LLaVAction's and
  has no place in HF's model: it is carried over under our names;
- LLaVA-Video's ``mm_newline_position: grid`` puts a newline after each row of each frame; HF's
  model knows only LLaVA-OneVision's one newline after the whole video (``one_token``);
- HF casts to float16 and grows the embeddings by two randomly drawn rows; neither renames a
  tensor, and the tiny checkpoints keep float32 and already have spare rows, so neither is copied.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import (
    AutoTokenizer,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    Qwen2Config,
    SiglipVisionConfig,
)

from actionmqa.model.convert import convert
from actionmqa.model.modeling import LlavaActionForConditionalGeneration
from actionmqa.model.tokenizer import END_OF_TURN, train_tokenizer

# ---- Hugging Face's conversion, as written in convert_llava_onevision_weights_to_hf.py ----

KEYS_TO_MODIFY_MAPPING = {
    "model.vision_tower.": "",
    "model.mm_projector": "multi_modal_projector",
    "model": "model.model",
    "vision_model.model": "vision_model",
    "lm_head": "language_model.lm_head",
    "model.model": "language_model.model",
    "multi_modal_projector.0": "multi_modal_projector.linear_1",
    "multi_modal_projector.2": "multi_modal_projector.linear_2",
    "language_model.model.image_newline": "image_newline",
}


def hf_load_original_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """HF's ``load_original_state_dict``, from a local folder instead of the hub."""
    original_state_dict = {}
    for path in sorted(folder.glob("*.safetensors")):
        original_state_dict.update(load_file(path))
    # tied wieghts so lm.head is not saved. Let's clone to load state dict   (HF's comment)
    if "lm_head.weight" not in original_state_dict:
        original_state_dict["lm_head.weight"] = original_state_dict["model.embed_tokens.weight"].clone()
    return original_state_dict


def hf_convert_state_dict_to_hf(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """HF's ``convert_state_dict_to_hf`` less its ``.to(torch.float16)``: the tiny weights stay float32."""
    new_state_dict = {}
    for key, value in state_dict.items():
        if key.endswith(".inv_freq"):
            continue
        for key_to_modify, new_key in KEYS_TO_MODIFY_MAPPING.items():
            if key_to_modify in key:
                key = key.replace(key_to_modify, new_key)
        new_state_dict[key] = value
    return new_state_dict


def hf_convert(folder: Path, out: Path, tower_layers: int, image_token: int, video_token: int) -> Path:
    """HF's ``convert_llava_to_hf`` on a local folder: its configs, its renaming, ``save_pretrained``.

    Its vision config is SigLIP so400m's with ``num_hidden_layers=26  # drop the last layer`` and
    ``vision_use_head=False  # no head``; here the tiny tower's fields with its depth less one.
    Its text config is the hub Qwen2-Instruct model's; here the checkpoint's own Qwen2 fields.
    Placeholder ids: HF's ``tokenizer.add_tokens`` of ``<image>`` then ``<video>``.
    """
    raw = json.loads((folder / "config.json").read_text())
    tower = SiglipVisionConfig.from_pretrained(folder / raw["mm_vision_tower"])
    vision_config = SiglipVisionConfig(
        hidden_size=tower.hidden_size,
        image_size=tower.image_size,
        intermediate_size=tower.intermediate_size,
        num_attention_heads=tower.num_attention_heads,
        num_hidden_layers=tower_layers - 1,  # drop the last layer
        patch_size=tower.patch_size,
        vision_use_head=False,  # no head
    ).to_dict()
    text_config = Qwen2Config(**{k: raw[k] for k in QWEN2_FIELDS})
    config = LlavaOnevisionConfig(
        text_config=text_config.to_dict(),
        vision_config=vision_config,
        use_image_newline_parameter=True,
        image_token_index=image_token,
        video_token_index=video_token,
    )
    state_dict = hf_convert_state_dict_to_hf(hf_load_original_state_dict(folder))
    out.mkdir(parents=True)
    config.save_pretrained(out)
    save_file({k: v.contiguous() for k, v in state_dict.items()}, out / "model.safetensors")
    return out


# ---- Tiny checkpoints with the tensor names of LLaVA-NeXT's module tree ----

QWEN2_FIELDS = (
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps", "use_sliding_window",
    "rope_theta", "tie_word_embeddings",
)  # fmt: skip
TEXT = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2}  # fmt: skip
TOWER = {"hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 2, "image_size": 70,
         "patch_size": 14, "num_hidden_layers": 3}  # fmt: skip  # 5x5 patches: bilinear pooling to 3x3
TOWER_DIR = "siglip_tower"
SPARE_ROWS = 11  # Qwen2 checkpoints hold more embedding rows than tokens
LABELS = (4, 5, 6)  # verbs, nouns, actions
TEXTS = ["take cup", "pick up the cup", "put down knife", "open drawer", "what is the person doing?"] * 20
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", END_OF_TURN)


def qwen2_shapes(vocab: int, tied: bool) -> dict[str, tuple[int, ...]]:
    """``LlavaQwenForCausalLM`` is ``Qwen2ForCausalLM``: ``model.`` is the Qwen2Model, ``lm_head`` beside it.

    Tied checkpoints (Qwen2-0.5B) store no ``lm_head``. q/k/v have biases, o_proj and the MLP none.
    """
    h, i = TEXT["hidden_size"], TEXT["intermediate_size"]
    kv = h // TEXT["num_attention_heads"] * TEXT["num_key_value_heads"]
    shapes = {"model.embed_tokens.weight": (vocab, h), "model.norm.weight": (h,)}
    for n in range(TEXT["num_hidden_layers"]):
        layer = f"model.layers.{n}."
        shapes |= {
            layer + "self_attn.q_proj.weight": (h, h), layer + "self_attn.q_proj.bias": (h,),
            layer + "self_attn.k_proj.weight": (kv, h), layer + "self_attn.k_proj.bias": (kv,),
            layer + "self_attn.v_proj.weight": (kv, h), layer + "self_attn.v_proj.bias": (kv,),
            layer + "self_attn.o_proj.weight": (h, h),
            layer + "mlp.gate_proj.weight": (i, h), layer + "mlp.up_proj.weight": (i, h),
            layer + "mlp.down_proj.weight": (h, i),
            layer + "input_layernorm.weight": (h,), layer + "post_attention_layernorm.weight": (h,),
        }  # fmt: skip
    if not tied:
        shapes["lm_head.weight"] = (vocab, h)
    return shapes


def siglip_tower_shapes() -> dict[str, tuple[int, ...]]:
    """``model.vision_tower`` is ``SigLipVisionTower``; its ``vision_tower`` a ``SigLipVisionModel``.

    ``load_model`` deletes the last encoder layer (``del ...encoder.layers[-1:]``) and replaces the
    pooling head by ``nn.Identity()``, so the checkpoint stores one layer fewer than the tower's
    config.json and no head; ``post_layernorm`` is stored although the features never pass it.
    """
    d, i, p = TOWER["hidden_size"], TOWER["intermediate_size"], TOWER["patch_size"]
    prefix = "model.vision_tower.vision_tower.vision_model."
    shapes = {
        prefix + "embeddings.patch_embedding.weight": (d, 3, p, p),
        prefix + "embeddings.patch_embedding.bias": (d,),
        prefix + "embeddings.position_embedding.weight": ((TOWER["image_size"] // p) ** 2, d),
        prefix + "post_layernorm.weight": (d,),
        prefix + "post_layernorm.bias": (d,),
    }
    for n in range(TOWER["num_hidden_layers"] - 1):
        layer = f"{prefix}encoder.layers.{n}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            shapes |= {layer + f"self_attn.{proj}.weight": (d, d), layer + f"self_attn.{proj}.bias": (d,)}
        for norm in ("layer_norm1", "layer_norm2"):
            shapes |= {layer + f"{norm}.weight": (d,), layer + f"{norm}.bias": (d,)}
        shapes |= {
            layer + "mlp.fc1.weight": (i, d), layer + "mlp.fc1.bias": (i,),
            layer + "mlp.fc2.weight": (d, i), layer + "mlp.fc2.bias": (d,),
        }  # fmt: skip
    return shapes


def multimodal_shapes() -> dict[str, tuple[int, ...]]:
    """``mm_projector`` for ``mlp2x_gelu``: ``nn.Sequential(Linear, GELU, Linear)``, hence ``.0`` and ``.2``;
    ``image_newline`` when ``mm_patch_merge_type`` holds ``unpad``; the resampler is an identity."""
    h, d = TEXT["hidden_size"], TOWER["hidden_size"]
    return {
        "model.mm_projector.0.weight": (h, d), "model.mm_projector.0.bias": (h,),
        "model.mm_projector.2.weight": (h, h), "model.mm_projector.2.bias": (h,),
        "model.image_newline": (h,),
    }  # fmt: skip


def action_shapes() -> dict[str, tuple[int, ...]]:
    """LLaVAction: ``model.action_supervision`` [1, hidden] for ``one_token``; bias-free heads on top."""
    h = TEXT["hidden_size"]
    verbs, nouns, actions = LABELS
    return {
        "model.action_supervision": (1, h),
        "verb_head.weight": (verbs, h),
        "noun_head.weight": (nouns, h),
        "action_head.weight": (actions, h),
    }


def llava_qwen_config(vocab: int, tied: bool, newline_position: str, **fields) -> dict:
    """config.json as ``LlavaQwenForCausalLM.save_pretrained`` writes it: Qwen2 fields plus LLaVA's."""
    return {
        "architectures": ["LlavaQwenForCausalLM"],
        "model_type": "llava_qwen",
        "vocab_size": vocab,
        **TEXT,
        "hidden_act": "silu",
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": tied,
        "use_sliding_window": False,
        "torch_dtype": "float32",
        "mm_vision_tower": TOWER_DIR,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": -2,
        "mm_hidden_size": TOWER["hidden_size"],
        "mm_patch_merge_type": "spatial_unpad",
        "mm_newline_position": newline_position,
        "mm_spatial_pool_mode": "bilinear",
        "mm_spatial_pool_stride": 2,
        "image_aspect_ratio": "anyres_max_9",
        **fields,
    }


def write_checkpoint(folder: Path, tokenizer_dir: Path, shapes: dict, config: dict, seed: int) -> Path:
    """Random tensors (normal, so no weight is a default 0 or 1) under ``shapes``' names, as two shards."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {name: 0.2 * torch.randn(shape, generator=generator) for name, shape in sorted(shapes.items())}
    folder.mkdir(parents=True)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps(config))
    SiglipVisionConfig(**TOWER).save_pretrained(folder / TOWER_DIR)  # the released tower, all its layers
    language = {k for k in tensors if not k.startswith(("model.vision_tower.", "model.mm_projector."))}
    save_file({k: tensors[k] for k in sorted(language)}, folder / "model-00001-of-00002.safetensors")
    save_file(
        {k: v for k, v in tensors.items() if k not in language}, folder / "model-00002-of-00002.safetensors"
    )
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """LLaVAction-7B-like (untied, grid, action token) and LLaVA-OV-0.5B-like (tied, one_token) checkpoints,
    each converted by us and by HF's conversion."""
    root = tmp_path_factory.mktemp("oracle")
    tokenizer = train_tokenizer(TEXTS, 300, root / "tokenizer", special_tokens=QWEN_SPECIALS)
    n = len(tokenizer)
    vocab = n + SPARE_ROWS
    kinds = {
        "llavaction": (
            qwen2_shapes(vocab, tied=False) | siglip_tower_shapes() | multimodal_shapes() | action_shapes(),
            llava_qwen_config(
                vocab, False, "grid", vision_supervision="one_token", action_types=",".join(map(str, LABELS))
            ),
        ),
        "onevision": (
            qwen2_shapes(vocab, tied=True) | siglip_tower_shapes() | multimodal_shapes(),
            llava_qwen_config(vocab, True, "one_token"),
        ),
    }
    made = {"placeholders": (n, n + 1)}
    for seed, (name, (shapes, config)) in enumerate(kinds.items()):
        source = write_checkpoint(root / name, root / "tokenizer", shapes, config, seed)
        convert(source, root / f"{name}-ours")
        hf_convert(source, root / f"{name}-hf", TOWER["num_hidden_layers"], n, n + 1)
        made[name] = source
    return root, made


def load_hf(folder: Path) -> tuple[LlavaOnevisionForConditionalGeneration, set[str]]:
    """HF's result as transformers loads it, and the tensors it found no place for."""
    model, info = LlavaOnevisionForConditionalGeneration.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["mismatched_keys"], info
    return model.eval(), set(info["unexpected_keys"])


def load_ours(folder: Path) -> LlavaActionForConditionalGeneration:
    return LlavaActionForConditionalGeneration.from_pretrained(folder).eval()


@pytest.mark.parametrize("name", ["llavaction", "onevision"])
def test_same_tensors_under_the_same_names_as_hf(checkpoints, name):
    root, made = checkpoints
    hf, unplaced = load_hf(root / f"{name}-hf")
    theirs = hf.state_dict()
    ours = load_file(root / f"{name}-ours" / "model.safetensors")
    original = hf_load_original_state_dict(made[name])
    if name == "llavaction":
        # On purpose: the action token and its heads have no place in HF's model; we keep them.
        assert unplaced == {"model.language_model.action_supervision", "verb_head.weight",
                            "noun_head.weight", "action_head.weight"}  # fmt: skip
        action = {"model.action_embedding": "model.action_supervision"} | {
            f"{head}_head.weight": f"{head}_head.weight" for head in ("verb", "noun", "action")
        }
        for key, source_key in action.items():
            assert torch.equal(ours.pop(key), original[source_key])
    else:
        # Tied (LLaVA-OV-0.5B): HF clones the embedding into lm_head; we store none and tie at load.
        assert not unplaced and "lm_head.weight" not in ours
        assert torch.equal(theirs.pop("lm_head.weight"), original["model.embed_tokens.weight"])
        assert torch.equal(
            load_ours(root / f"{name}-ours").lm_head.weight, original["model.embed_tokens.weight"]
        )
    assert sorted(ours) == sorted(theirs)
    assert [key for key in ours if not torch.equal(ours[key], theirs[key])] == []


@pytest.mark.parametrize("name", ["llavaction", "onevision"])
def test_same_architecture_as_hf(checkpoints, name):
    """Tower depth (the stored layers: one fewer than the tower's config), no head, full feature layer."""
    root, _ = checkpoints
    ours, theirs = load_ours(root / f"{name}-ours").config, load_hf(root / f"{name}-hf")[0].config
    assert ours.vision_config.num_hidden_layers == theirs.vision_config.num_hidden_layers == 2
    for field in ("hidden_size", "intermediate_size", "num_attention_heads", "image_size", "patch_size",
                  "vision_use_head", "hidden_act", "layer_norm_eps"):  # fmt: skip
        assert getattr(ours.vision_config, field) == getattr(theirs.vision_config, field), field
    for field in QWEN2_FIELDS[:-2]:
        assert getattr(ours.text_config, field) == getattr(theirs.text_config, field), field
    assert ours.text_config.rope_parameters["rope_theta"] == theirs.text_config.rope_parameters["rope_theta"]
    assert ours.tie_word_embeddings == theirs.tie_word_embeddings == (name == "onevision")
    for field in (
        "vision_feature_layer",
        "vision_feature_select_strategy",
        "image_token_id",
        "video_token_id",
    ):
        assert getattr(ours, field) == getattr(theirs, field), field


FRAMES = 2


def prompt_ids(folder: Path, middle: list[int]) -> tuple[torch.Tensor, int]:
    """A chat prompt around ``middle`` (placeholder ids), and where ``middle`` starts."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    before = tokenizer("<|im_start|>user\n", add_special_tokens=False).input_ids
    after = tokenizer(
        "\nwhat is the person doing?<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False
    )
    return torch.tensor([before + middle + after.input_ids]), len(before)


def test_llava_onevision_logits_equal_hf(checkpoints):
    """``mm_newline_position: one_token``: the token layout is HF's, so the whole forward pass must agree."""
    root, made = checkpoints
    hf, _ = load_hf(root / "onevision-hf")
    ours = load_ours(root / "onevision-ours")
    assert ours.config.visual_layout == "hf" and not ours.config.action_token
    pixels = torch.randn(
        1, FRAMES, 3, TOWER["image_size"], TOWER["image_size"], generator=torch.Generator().manual_seed(1)
    )
    tokens = FRAMES * 3 * 3 + 1  # 5x5 patches pooled to 3x3 per frame, one newline after the video
    ids, _ = prompt_ids(root / "onevision-ours", [made["placeholders"][1]] * tokens)
    with torch.no_grad():
        theirs = hf(input_ids=ids, pixel_values_videos=pixels).logits
        mine = ours(input_ids=ids, pixel_values_videos=pixels).logits
    torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-6)


def add_token_per_grid(image_feature: torch.Tensor, image_newline: torch.Tensor) -> torch.Tensor:
    """LLaVA-NeXT's ``add_token_per_grid`` (llava_arch.py), as written there."""
    resize_h = int(math.sqrt(image_feature.shape[1]))
    num_frames = image_feature.shape[0]
    image_feature = image_feature.view(num_frames, 1, resize_h, resize_h, -1)
    image_feature = image_feature.permute(4, 0, 2, 1, 3).contiguous()
    image_feature = image_feature.flatten(1, 2).flatten(2, 3)
    image_feature = torch.cat(
        (image_feature, image_newline[:, None, None].expand(*image_feature.shape[:-1], 1)), dim=-1
    )
    return image_feature.flatten(1, 2).transpose(0, 1)


def test_llavaction_logits_equal_hf_with_the_grid_layout_and_action_token_added(checkpoints):
    """``mm_newline_position: grid`` with the action token: what HF's model cannot express, added by hand.

    HF computes the tower, projector and pooling (its video features less its one trailing newline);
    LLaVA-NeXT's ``add_token_per_grid`` lays them out with a newline per row; LLaVAction's
    ``action_supervision`` follows the visual block (spec §3.2). HF's language model on those
    embeddings must give our logits, and LLaVAction's heads on its last hidden state at the
    action position our verb, noun and action logits.
    """
    root, made = checkpoints
    hf, _ = load_hf(root / "llavaction-hf")
    ours = load_ours(root / "llavaction-ours")
    assert ours.config.visual_layout == "llava_video" and ours.config.action_token
    original = hf_load_original_state_dict(made["llavaction"])
    pixels = torch.randn(
        1, FRAMES, 3, TOWER["image_size"], TOWER["image_size"], generator=torch.Generator().manual_seed(2)
    )
    video = made["placeholders"][1]
    action = AutoTokenizer.from_pretrained(root / "llavaction-ours").convert_tokens_to_ids("<action>")
    tokens = FRAMES * 3 * (3 + 1)  # 3x3 pooled, a newline after each row
    ids, start = prompt_ids(root / "llavaction-ours", [video] * tokens + [action])
    with torch.no_grad():
        pooled = hf.model.get_video_features(pixels).pooler_output[0, :-1].view(FRAMES, 9, -1)
        grid = add_token_per_grid(pooled, hf.model.image_newline)
        embeds = hf.get_input_embeddings()(ids)
        embeds[0, start : start + tokens] = grid
        embeds[0, start + tokens] = original["model.action_supervision"][0]
        theirs = hf(inputs_embeds=embeds).logits
        last = hf.model.language_model(inputs_embeds=embeds).last_hidden_state[0, start + tokens]
        mine = ours(input_ids=ids, pixel_values_videos=pixels)
    torch.testing.assert_close(mine.logits, theirs, rtol=0, atol=1e-6)
    for head in ("verb", "noun", "action"):
        expected = last @ original[f"{head}_head.weight"].T
        torch.testing.assert_close(getattr(mine, f"{head}_logits")[0], expected, rtol=0, atol=1e-6)
