"""The LLaVAction model: token layout, action token placement, heads, loss, ablation, I/O, generation."""

from __future__ import annotations

import math
from functools import partial, reduce

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, SiglipImageProcessorPil
from transformers.image_transforms import (
    convert_to_rgb,
    normalize,
    rescale,
    resize,
    to_channel_dimension_format,
)
from transformers.image_utils import ChannelDimension, PILImageResampling, to_numpy_array

from actionmqa.errors import InputError
from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.layout import num_video_tokens, pool_frames
from actionmqa.model.modeling import IGNORE_INDEX, LlavaActionForConditionalGeneration
from actionmqa.model.processing import ChatCollator, ChatSample, FrameProcessor, expand_video_placeholder
from actionmqa.model.tiny import tiny_config
from actionmqa.model.tokenizer import (
    ACTION_TOKEN,
    END_OF_TURN,
    SPECIAL_TOKENS,
    VIDEO_TOKEN,
    add_action_token,
    train_tokenizer,
)

TEXTS = ["take cup", "pick up the cup", "put down knife", "open drawer", "A. take cup B. open drawer"] * 20
PROMPT = "<|im_start|>user\n<video>\nWhat is the person doing?<|im_end|>\n<|im_start|>assistant\n"
LONG_PROMPT = (
    "<|im_start|>user\n<video>\nPick one: A. take cup B. put down knife C. open drawer<|im_end|>\n"
    "<|im_start|>assistant\n"
)
N_VERBS, N_NOUNS, N_ACTIONS = 4, 5, 6


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return train_tokenizer(TEXTS, 300, tmp_path_factory.mktemp("tokenizer"))


def build(tokenizer, seed: int = 0, **overrides) -> LlavaActionForConditionalGeneration:
    fields = {"num_verbs": N_VERBS, "num_nouns": N_NOUNS, "num_actions": N_ACTIONS, **overrides}
    torch.manual_seed(seed)
    return LlavaActionForConditionalGeneration(tiny_config(len(tokenizer), **fields)).eval()


@pytest.fixture(scope="module")
def model(tokenizer):
    return build(tokenizer)


def frames(seed: int, n: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 80, 3), dtype=np.uint8)


def collate(tokenizer, config, samples, train=True):
    collator = ChatCollator(tokenizer, config, FrameProcessor(config.vision_config.image_size), train=train)
    return collator(samples)


def training_batch(tokenizer, model, actions=((1, 2, 3), (0, 4, 5))):
    samples = [
        ChatSample(PROMPT, "take cup", frames(0), actions[0]),
        ChatSample(LONG_PROMPT, "B. put down knife", frames(1), actions[1]),
    ]
    return collate(tokenizer, model.config, samples)


# --- visual token layout -------------------------------------------------------------------


def test_token_counts_at_384_over_14_match_llava_video():
    config = LlavaActionConfig()  # SigLIP so400m defaults: 384 px, patch 14 -> 27x27 patches
    assert num_video_tokens(config, 1) == 14 * 15 == 210
    assert num_video_tokens(config, 64) == 13440
    average = LlavaActionConfig(spatial_pool_mode="average")  # floor(27/2) = 13
    assert num_video_tokens(average, 16) == 16 * 13 * 14
    hf = LlavaActionConfig(visual_layout="hf")
    assert num_video_tokens(hf, 8) == 8 * 196 + 1


@pytest.mark.parametrize(
    ("image_size", "layout", "mode", "per_frame", "extra"),
    [
        (64, "llava_video", "bilinear", 4 * 5, 0),  # 8x8 patches -> 4x4, a newline per row
        (64, "hf", "bilinear", 4 * 4, 1),  # one newline after the video
        (56, "llava_video", "bilinear", 4 * 5, 0),  # 7x7 -> ceil 4x4
        (56, "llava_video", "average", 3 * 4, 0),  # 7x7 -> floor 3x3
    ],
)
def test_video_features_have_as_many_tokens_as_placeholders(
    tokenizer, image_size, layout, mode, per_frame, extra
):
    model = build(tokenizer, image_size=image_size, visual_layout=layout, spatial_pool_mode=mode)
    assert num_video_tokens(model.config, 3) == 3 * per_frame + extra
    pixels = torch.randn(2, 3, 3, image_size, image_size)
    with torch.no_grad():
        features = model.model.get_video_features(pixels).pooler_output
    assert tuple(features.shape) == (2, 3 * per_frame + extra, model.config.text_config.hidden_size)


def test_llava_video_layout_is_the_hf_grid_with_a_newline_after_each_row(tokenizer):
    grid = build(tokenizer, visual_layout="llava_video")
    flat = build(tokenizer, visual_layout="hf")
    flat.load_state_dict(grid.state_dict())
    pixels = torch.randn(1, 2, 3, 64, 64)
    with torch.no_grad():
        rows = grid.model.get_video_features(pixels).pooler_output[0].view(2, 4, 5, -1)
        hf = flat.model.get_video_features(pixels).pooler_output[0]
    newline = grid.model.image_newline
    assert torch.equal(rows[:, :, 4], newline.expand(2, 4, -1))  # 2 frames x 4 rows end in a newline
    assert torch.equal(rows[:, :, :4].reshape(32, -1), hf[:-1])  # the same pooled grid, in the same order
    assert torch.equal(hf[-1], newline)


def test_pooling_modes_follow_llava_next_get_2dpool():
    config = tiny_config(10, image_size=56, patch_size=8)  # 7x7 patches
    columns = torch.arange(7.0).repeat(7)  # every row holds 0..6
    features = columns.view(1, 49, 1)
    bilinear = pool_frames(features, config)[0, 0, :, 0]  # 7 -> 4 samples at (i + 0.5) * 7/4 - 0.5
    assert torch.allclose(bilinear, torch.tensor([0.375, 2.125, 3.875, 5.625]))
    average = pool_frames(features, tiny_config(10, image_size=56, patch_size=8, spatial_pool_mode="average"))
    assert torch.equal(average[0, 0, :, 0], torch.tensor([0.5, 2.5, 4.5]))  # 2x2 means, last column dropped


# --- the action token ----------------------------------------------------------------------


def test_expand_video_placeholder():
    assert expand_video_placeholder("a<video>b", 3, True) == "a<video><video><video><action>b"
    assert expand_video_placeholder("a<video>b", 2, False) == "a<video><video>b"
    with pytest.raises(ValueError, match="exactly one <video>"):
        expand_video_placeholder("no video", 2, True)
    with pytest.raises(ValueError, match="found 2"):
        expand_video_placeholder("<video><video>", 2, True)


@pytest.mark.parametrize("train", [True, False])
def test_action_token_follows_the_last_visual_token_with_the_learned_embedding(tokenizer, model, train):
    samples = [ChatSample(PROMPT, "x", frames(0)), ChatSample(LONG_PROMPT, "y", frames(1))]
    batch = collate(tokenizer, model.config, samples, train)
    video_id, action_id = model.config.video_token_id, model.config.action_token_id
    with torch.no_grad():
        out = model(**{k: v for k, v in batch.items() if k != "labels"}, output_hidden_states=True)
    features = model.model.get_video_features(batch["pixel_values_videos"]).pooler_output
    for row, ids in enumerate(batch["input_ids"]):
        video = (ids == video_id).nonzero().flatten()
        action = (ids == action_id).nonzero().flatten()
        assert len(video) == num_video_tokens(model.config, 2)
        assert torch.equal(video, torch.arange(video[0], video[-1] + 1))  # one contiguous block
        assert action.tolist() == [video[-1].item() + 1]
        embeddings = out.hidden_states[0][row]  # what the language model received
        assert torch.equal(embeddings[action[0]], model.model.action_embedding[0])
        assert torch.allclose(embeddings[video], features[row])


def test_action_position_is_never_an_lm_target(tokenizer, model):
    batch = training_batch(tokenizer, model)
    action_at = batch["input_ids"] == model.config.action_token_id
    assert (batch["labels"][action_at] == IGNORE_INDEX).all()
    forced = batch["labels"].masked_fill(action_at, model.config.action_token_id)  # a buggy collator
    with torch.no_grad():
        clean = model(**batch).lm_loss
        masked = model(**{**batch, "labels": forced}).lm_loss
    assert torch.equal(clean, masked)


def test_heads_read_the_last_hidden_state_at_the_action_position(tokenizer, model):
    batch = training_batch(tokenizer, model)
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
    rows = torch.arange(2)
    position = (batch["input_ids"] == model.config.action_token_id).int().argmax(-1)
    state = out.hidden_states[-1][rows, position]
    assert torch.allclose(out.verb_logits, state @ model.verb_head.weight.T)
    assert torch.allclose(out.noun_logits, state @ model.noun_head.weight.T)
    assert torch.allclose(out.action_logits, state @ model.action_head.weight.T)
    assert model.verb_head.bias is None and tuple(out.action_logits.shape) == (2, N_ACTIONS)


def test_loss_is_lm_plus_weighted_cross_entropies(tokenizer):
    model = build(tokenizer)
    for head in (model.verb_head, model.noun_head, model.action_head):
        torch.nn.init.zeros_(head.weight)  # uniform logits: each CE is ln(classes)
    batch = training_batch(tokenizer, model)
    with torch.no_grad():
        out = model(**batch)
    assert out.verb_loss.item() == pytest.approx(math.log(N_VERBS))
    assert out.noun_loss.item() == pytest.approx(math.log(N_NOUNS))
    assert out.action_loss.item() == pytest.approx(math.log(N_ACTIONS))
    extra = 0.025 * math.log(N_VERBS) + 0.025 * math.log(N_NOUNS) + 0.005 * math.log(N_ACTIONS)
    assert (out.loss - out.lm_loss).item() == pytest.approx(extra, rel=1e-5)
    shifted = torch.nn.functional.cross_entropy(
        out.logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten(), ignore_index=IGNORE_INDEX
    )
    assert out.lm_loss.item() == pytest.approx(shifted.item(), rel=1e-5)


def test_supervised_logits_only_gives_the_full_heads_loss_and_gradients(tokenizer):
    model = build(tokenizer)
    batch = training_batch(tokenizer, model)
    full = model(**batch)
    full.loss.backward()
    expected = {
        name: param.grad.clone() for name, param in model.named_parameters() if param.grad is not None
    }
    model.zero_grad()
    lean = model(**batch, supervised_logits_only=True)
    lean.loss.backward()
    # the rows it kept are the full logits where a label follows (torch's own reading of the shift)
    following = batch["labels"][:, 1:] != IGNORE_INDEX
    assert lean.logits.shape == (int(following.sum()), full.logits.shape[-1])
    torch.testing.assert_close(lean.logits, full.logits[:, :-1][following], rtol=1e-5, atol=1e-6)
    assert lean.lm_loss.item() == pytest.approx(full.lm_loss.item(), rel=1e-6)
    assert lean.loss.item() == pytest.approx(full.loss.item(), rel=1e-6)
    for name, param in model.named_parameters():
        if name in expected:
            torch.testing.assert_close(param.grad, expected[name], rtol=1e-4, atol=1e-7, msg=name)


def test_loss_weights_come_from_the_config(tokenizer, model):
    weighted = build(tokenizer)
    weighted.config.action_loss_weights = {"verb": 1.0, "noun": 2.0, "action": 3.0}
    with torch.no_grad():
        out = weighted(**training_batch(tokenizer, weighted))
    expected = out.lm_loss + out.verb_loss + 2 * out.noun_loss + 3 * out.action_loss
    assert torch.allclose(out.loss, expected)


def test_rows_without_action_labels_add_zero_but_keep_the_heads_in_the_graph(tokenizer, model):
    batch = training_batch(tokenizer, model, actions=((1, 2, 3), None))
    with torch.no_grad():
        out = model(**batch)
    assert batch["actions"][1].tolist() == [-1, -1, -1]
    first_only = torch.nn.functional.cross_entropy(out.verb_logits[:1], torch.tensor([1]))
    assert out.verb_loss.item() == pytest.approx(first_only.item(), rel=1e-6)

    unlabelled = build(tokenizer)
    out = unlabelled(**training_batch(tokenizer, unlabelled, actions=(None, None)))
    assert out.loss.item() == out.lm_loss.item()
    assert out.verb_loss.item() == out.noun_loss.item() == out.action_loss.item() == 0.0
    out.loss.backward()
    for head in (unlabelled.verb_head, unlabelled.noun_head, unlabelled.action_head):
        assert head.weight.grad is not None and not head.weight.grad.any()


def test_action_embedding_is_drawn_from_normal_with_std_one_over_sqrt_hidden(tokenizer, tmp_path):
    hidden = 256
    base = build(tokenizer, hidden=hidden, layers=1, action_token=False)
    base.save_pretrained(tmp_path)
    fresh = LlavaActionForConditionalGeneration.from_pretrained(tmp_path, action_token=True)  # switched on
    built = build(tokenizer, hidden=hidden, layers=1)
    for embedding in (built.model.action_embedding, fresh.model.action_embedding):
        assert torch.isfinite(embedding).all()
        assert embedding.std().item() == pytest.approx(hidden**-0.5, rel=0.2)
        assert abs(embedding.mean().item()) < 3 * hidden**-0.5 / math.sqrt(hidden)


# --- ablation, I/O, generation ---------------------------------------------------------------


def test_ablation_off_has_no_token_no_heads_and_matches_llava_onevision(tokenizer):
    model = build(tokenizer, action_token=False, visual_layout="hf")
    assert model.model.action_embedding is None
    assert {name.split(".")[0] for name in model.state_dict()} == {"model", "lm_head"}
    reference_config = LlavaOnevisionConfig(
        vision_config=model.config.vision_config.to_dict(),
        text_config=model.config.text_config.to_dict(),
        image_token_index=model.config.image_token_id,
        video_token_index=model.config.video_token_id,
        vision_feature_layer=-1,
    )
    reference = LlavaOnevisionForConditionalGeneration(reference_config).eval()
    reference.load_state_dict(model.state_dict())  # strict: the same parameter names
    batch = collate(tokenizer, model.config, [ChatSample(PROMPT, "take cup", frames(0))])
    assert (batch["input_ids"] != model.config.action_token_id).all()
    inputs = {key: batch[key] for key in ("input_ids", "pixel_values_videos")}
    with torch.no_grad():
        ours, theirs = model(**inputs).logits, reference(**inputs).logits
    assert torch.equal(ours, theirs)


def test_ablation_off_rejects_an_action_placeholder(tokenizer):
    model = build(tokenizer, action_token=False)
    ids = torch.tensor([[1, model.config.action_token_id, 2]])
    with pytest.raises(ValueError, match="action_token is off"):
        model(input_ids=ids)


def test_save_and_load_keep_the_token_and_the_heads(tokenizer, model, tmp_path):
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = LlavaActionForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert loaded.config.action_token and loaded.config.num_actions == N_ACTIONS
    assert torch.equal(loaded.model.action_embedding, model.model.action_embedding)
    assert torch.equal(loaded.action_head.weight, model.action_head.weight)
    batch = training_batch(tokenizer, model)
    with torch.no_grad():
        before, after = model(**batch), loaded(**batch)
    assert torch.equal(before.logits, after.logits)
    assert torch.equal(before.action_logits, after.action_logits)


def test_batched_greedy_generation_with_left_padding_equals_one_by_one(tokenizer, model):
    samples = [ChatSample(PROMPT, frames=frames(0)), ChatSample(LONG_PROMPT, frames=frames(1))]
    settings = {"max_new_tokens": 6, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    batch = collate(tokenizer, model.config, samples, train=False)
    assert (batch["attention_mask"][:, -1] == 1).all() and (batch["attention_mask"][0, 0] == 0)  # left padded
    with torch.no_grad():
        together = model.generate(**batch, **settings)[:, batch["input_ids"].shape[1] :]
        for row, sample in enumerate(samples):
            single = collate(tokenizer, model.config, [sample], train=False)
            alone = model.generate(**single, **settings)[0, single["input_ids"].shape[1] :]
            assert together[row].tolist() == alone.tolist()


# --- tokenizer and processing ----------------------------------------------------------------


def test_tokenizer_training_is_deterministic(tmp_path):
    first = train_tokenizer(TEXTS, 300, tmp_path / "a")
    train_tokenizer(TEXTS, 300, tmp_path / "b")
    train_tokenizer(list(reversed(TEXTS)), 300, tmp_path / "c")  # BPE counts pairs: order cannot matter
    for name in ("tokenizer.json", "tokenizer_config.json"):
        content = (tmp_path / "a" / name).read_bytes()
        assert content == (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()
    assert [first.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    ids = first("take cup<video><video><action>", add_special_tokens=False).input_ids
    assert ids[-3:] == [4, 4, 5] and first.eos_token == END_OF_TURN
    assert first.decode(first("pick up the cup").input_ids) == "pick up the cup"


def test_add_action_token_grows_the_embeddings(tmp_path):
    plain = train_tokenizer(TEXTS, 300, tmp_path, special_tokens=SPECIAL_TOKENS[:3])  # ChatML only
    model = LlavaActionForConditionalGeneration(tiny_config(len(plain), action_token=False))
    before = len(plain)
    action_id = add_action_token(plain, model)
    assert action_id == before and plain.convert_tokens_to_ids(ACTION_TOKEN) == before
    assert model.get_input_embeddings().num_embeddings == before + 1
    assert model.lm_head.out_features == before + 1 and model.config.action_token_id == before
    assert add_action_token(plain, model) == action_id  # idempotent


def test_frame_processor_normalises_like_siglip(tmp_path):
    config = tiny_config(10)
    square = np.random.default_rng(3).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    pixels = FrameProcessor(64)(square)  # same size: bicubic resize is the identity
    assert tuple(pixels.shape) == (2, 3, 64, 64)
    expected = (torch.from_numpy(square).float().permute(0, 3, 1, 2) / 255 - 0.5) / 0.5
    assert torch.allclose(pixels, expected, atol=1e-6)
    assert tuple(FrameProcessor(64)(frames(3)).shape) == (2, 3, 64, 64)  # 48x80 frames resized

    FrameProcessor(64, (0.25, 0.5, 0.75), (0.5, 0.25, 0.125)).save_pretrained(tmp_path)
    loaded = FrameProcessor.from_pretrained(tmp_path, config)
    assert loaded == FrameProcessor(64, (0.25, 0.5, 0.75), (0.5, 0.25, 0.125))
    assert FrameProcessor.from_pretrained(tmp_path / "absent", config) == FrameProcessor(64)
    with pytest.raises(InputError, match="key 'size'"):
        FrameProcessor.from_pretrained(tmp_path, tiny_config(10, image_size=32))


def llava_next_siglip_preprocess(images: list[Image.Image]) -> torch.Tensor:
    """LLaVA-NeXT's ``SigLipImageProcessor.preprocess`` (``multimodal_encoder/siglip_encoder.py``) as written.

    transformers' functional transforms: resize to (384, 384) bicubic, rescale by 1/255, normalise
    by 0.5/0.5, channels first.
    """
    data_format = ChannelDimension.FIRST
    transforms = [
        convert_to_rgb,
        to_numpy_array,
        partial(resize, size=(384, 384), resample=PILImageResampling.BICUBIC, data_format=data_format),
        partial(rescale, scale=1 / 255, data_format=data_format),
        partial(normalize, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), data_format=data_format),
        partial(to_channel_dimension_format, channel_dim=data_format, input_channel_dim=data_format),
    ]
    images = reduce(lambda x, f: [*map(f, x)], transforms, images)
    return torch.from_numpy(np.stack(images))


@pytest.mark.parametrize(("width", "height"), [(456, 256), (910, 512), (384, 384)])
def test_frame_processor_equals_llava_next_on_real_frame_sizes(width, height, tmp_path):
    """EK100's 456x256 videos, its 910x512 originals, and frames already at the tower's 384: bit for bit."""
    clip = np.random.default_rng(width).integers(0, 256, (3, height, width, 3), dtype=np.uint8)
    expected = llava_next_siglip_preprocess([Image.fromarray(frame) for frame in clip])
    processor = FrameProcessor(384)
    assert torch.equal(processor(clip), expected)
    processor.save_pretrained(tmp_path)  # a preprocessor_config.json transformers itself reads back
    theirs = SiglipImageProcessorPil.from_pretrained(tmp_path)(list(clip), return_tensors="pt").pixel_values
    assert torch.equal(theirs, expected)


def test_collator_supervises_only_the_answer_and_its_end_of_turn(tokenizer, model):
    batch = training_batch(tokenizer, model)
    answers = ["take cup", "B. put down knife"]
    lengths = batch["attention_mask"].sum(-1)
    for row, answer in enumerate(answers):
        supervised = batch["labels"][row][batch["labels"][row] != IGNORE_INDEX].tolist()
        assert supervised == tokenizer(answer + END_OF_TURN, add_special_tokens=False).input_ids
        assert batch["labels"][row, lengths[row] - 1] == tokenizer.convert_tokens_to_ids(END_OF_TURN)
        assert (batch["input_ids"][row, lengths[row] :] == tokenizer.pad_token_id).all()  # right padded
    assert batch["actions"].tolist() == [[1, 2, 3], [0, 4, 5]]
    assert tuple(batch["pixel_values_videos"].shape) == (2, 2, 3, 64, 64)
    assert VIDEO_TOKEN not in tokenizer.decode(batch["input_ids"][0][batch["labels"][0] != IGNORE_INDEX])
