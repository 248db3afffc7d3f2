"""The plain-PyTorch ports of AVION's ViT and LaViLa's TimeSformer against their upstream code.

Release files are written by ``released_upstream`` (upstream module names, upstream forward
passes, the fine-tune scripts' ``torch.save`` layout), then converted strictly and compared.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.checkpoint import CONFIG_FILE, load_converted
from actionmqa.specialist.released.convert import convert_release
from actionmqa.specialist.released.layers import FusedSelfAttention, LinearPatchEmbed
from actionmqa.specialist.released.release_file import load_release
from actionmqa.specialist.released.run import label_space
from actionmqa.specialist.released.zoo import RELEASES
from released_upstream import (
    AvionVideoClassifier,
    AvionVisionTransformer,
    SpaceTimeTransformer,
    VideoClassifierMultiHead,
    randomise,
    write_release,
)
from released_world import write_annotations

WIDTH, LAYERS, HEADS, PATCH, IMAGE, FRAMES = 32, 2, 4, 8, 32, 4
AVION = Architecture("avion_vit", WIDTH, LAYERS, HEADS, PATCH, image_size=IMAGE, frames=FRAMES, n_actions=120)
LAVILA = replace(AVION, family="lavila_timesformer", n_verbs=12, n_nouns=10)


@pytest.fixture(scope="module")
def actions(tmp_path_factory) -> tuple[str, ...]:
    root = write_annotations(tmp_path_factory.mktemp("released") / "annotations")
    return label_space(load_annotation_dir(root))


def upstream_avion(seed: int = 0) -> AvionVideoClassifier:
    visual = AvionVisionTransformer(IMAGE, PATCH, WIDTH, LAYERS, HEADS, FRAMES)
    return randomise(AvionVideoClassifier(visual, num_classes=120), seed)


def upstream_lavila(seed: int = 1) -> VideoClassifierMultiHead:
    visual = SpaceTimeTransformer(IMAGE, PATCH, WIDTH, LAYERS, HEADS, FRAMES)
    return randomise(VideoClassifierMultiHead(visual, [12, 10, 120]), seed)


def video(seed: int = 2, batch: int = 2) -> torch.Tensor:
    """[B, T, 3, H, W] normalised frames, the port's input layout."""
    return torch.randn(batch, FRAMES, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- building blocks


def test_fused_attention_equals_multihead_attention_with_renamed_weights() -> None:
    torch.manual_seed(0)
    ours = FusedSelfAttention(WIDTH, HEADS)
    reference = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.qkv.weight)
        reference.in_proj_bias.copy_(ours.qkv.bias)
        reference.out_proj.weight.copy_(ours.proj.weight)
        reference.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(3, 11, WIDTH)
    expected, _ = reference(x, x, x, need_weights=False)
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)


def test_linear_patch_embedding_equals_the_convolution() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, WIDTH, kernel_size=PATCH, stride=PATCH, bias=False)
    ours = LinearPatchEmbed(PATCH, WIDTH)
    with torch.no_grad():
        ours.proj.weight.copy_(conv.weight.reshape(WIDTH, -1))
    frames = torch.randn(2, FRAMES, 3, IMAGE, IMAGE)
    expected = conv(frames.flatten(0, 1)).flatten(2).transpose(1, 2).reshape(2, -1, WIDTH)  # (t, row, col)
    torch.testing.assert_close(ours(frames), expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- releases, converted


def test_release_files_have_the_upstream_layout(tmp_path: Path, actions) -> None:
    """The fixtures' own layout, as the spec reports it from AVION's and LaViLa's saved files."""
    write_release(tmp_path / "avion.pt", upstream_avion(), list(actions))
    release = load_release(tmp_path / "avion.pt")
    assert release.other_keys == ("args", "best_acc1", "epoch", "optimizer", "scaler")
    keys = set(release.state_dict)
    assert {
        "module.visual.conv1.weight",
        "module.visual.class_embedding",
        "module.visual.positional_embedding",
        "module.visual.temporal_embedding",
        "module.visual.transformer.resblocks.1.attn.Wqkv.bias",
        "module.visual.transformer.resblocks.1.attn.out_proj.weight",
        "module.visual.transformer.resblocks.0.mlp.fc2.bias",
        "module.visual.ln_post.weight",
        "module.fc_cls.weight",
    } <= keys
    assert release.state_dict["module.visual.conv1.weight"].shape == (WIDTH, 3 * PATCH * PATCH)
    assert not any("image_projection" in key or "logit_scale" in key for key in keys)

    write_release(tmp_path / "lavila.pth", upstream_lavila(), list(actions))
    keys = set(load_release(tmp_path / "lavila.pth").state_dict)
    assert {
        "module.visual.cls_token",
        "module.visual.patch_embed.proj.weight",
        "module.visual.blocks.0.timeattn.qkv.weight",
        "module.visual.blocks.1.norm3.bias",
        "module.fc_cls.0.weight",
        "module.fc_cls.2.bias",
    } <= keys


@pytest.mark.parametrize("family", ["avion", "lavila"])
def test_converted_release_matches_the_upstream_forward(tmp_path: Path, actions, family: str) -> None:
    upstream, arch = (upstream_avion(), AVION) if family == "avion" else (upstream_lavila(), LAVILA)
    write_release(tmp_path / "release.pt", upstream, list(actions))
    convert_release(tmp_path / "release.pt", arch, actions, tmp_path / "converted", name=family)
    model, checkpoint = load_converted(tmp_path / "converted")
    assert checkpoint.actions == actions and checkpoint.architecture == arch
    frames = video()
    with torch.no_grad():
        ours = model(frames)
        reference = upstream(frames.permute(0, 2, 1, 3, 4))  # upstream reads [B, C, T, H, W]
    if family == "avion":
        torch.testing.assert_close(ours["action"], reference, atol=1e-5, rtol=1e-5)
    else:
        for head, expected in zip(("verb", "noun", "action"), reference, strict=True):
            torch.testing.assert_close(ours[head], expected, atol=1e-5, rtol=1e-5)
    source = json.loads((tmp_path / "converted" / CONFIG_FILE).read_text())["source"]
    assert source["file"] == "release.pt" and len(source["sha256"]) == 64 and len(source["md5"]) == 32


def test_a_release_without_the_ddp_prefix_loads_too(tmp_path: Path, actions) -> None:
    write_release(tmp_path / "bare.pt", upstream_avion(), list(actions), prefix="")
    convert_release(tmp_path / "bare.pt", AVION, actions, tmp_path / "converted", name="bare")
    assert (tmp_path / "converted" / "model.safetensors").is_file()


def test_zoo_architectures_are_the_published_sizes() -> None:
    vitl, vitb = RELEASES["avion_vitl_lavila"].architecture, RELEASES["avion_vitb_lavila"].architecture
    tsf = RELEASES["lavila_tsfl_multihead"]
    assert (vitl.width, vitl.layers, vitl.heads, vitl.patch) == (1024, 24, 16, 14)
    assert (vitb.width, vitb.layers, vitb.heads, vitb.patch) == (768, 12, 12, 16)
    assert tsf.architecture.heads_out == ("verb", "noun", "action")
    assert (tsf.architecture.n_verbs, tsf.architecture.n_nouns, tsf.architecture.n_actions) == (97, 300, 3806)
    published = [RELEASES[name].published.action_top1 for name in RELEASES]
    assert published == [49.5, 54.4, 51.0]
    # the 257 positions of a 224 px frame in 14 px patches, as the ViT-L/14 file stores them
    assert 1 + vitl.tokens_per_frame == 257


# ---------------------------------------------------------------- bad releases


def _edited_release(tmp_path: Path, actions, edit) -> Path:
    model = upstream_avion()
    state = model.state_dict()
    edit(state)
    holder = nn.Module()
    holder.state_dict = lambda: state  # write_release reads state_dict()
    path = tmp_path / "edited.pt"
    write_release(path, holder, list(actions))
    return path


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        (
            lambda s: s.pop("visual.ln_post.bias"),
            "module.visual.ln_post.bias",
            "1 tensors of avion_vit .* missing",
        ),
        (
            lambda s: s.__setitem__("visual.image_projection", torch.zeros(WIDTH, 8)),
            "module.visual.image_projection",
            "1 tensors are not part of avion_vit",
        ),
        (
            lambda s: s.__setitem__(
                "visual.transformer.resblocks.0.attn.Wqkv.weight", torch.zeros(WIDTH, WIDTH)
            ),
            "module.visual.transformer.resblocks.0.attn.Wqkv.weight",
            r"shape \[32, 32\], expected \[96, 32\]",
        ),
        (
            lambda s: s.__setitem__("fc_cls.weight", torch.zeros(119, WIDTH)),
            "module.fc_cls.weight",
            "the action head has 119 classes, but the action label space of the annotations has 120",
        ),
    ],
)
def test_bad_release_names_file_and_key(tmp_path: Path, actions, edit, key: str, message: str) -> None:
    path = _edited_release(tmp_path, actions, edit)
    with pytest.raises(InputError, match=message) as caught:
        convert_release(path, AVION, actions, tmp_path / "converted", name="bad")
    assert caught.value.path == str(path) and caught.value.key == key
    assert not (tmp_path / "converted").exists()


def test_label_space_other_than_the_head_is_refused(tmp_path: Path, actions) -> None:
    write_release(tmp_path / "release.pt", upstream_avion(), list(actions))
    with pytest.raises(InputError, match="the action head has 120 classes, but .* has 119") as caught:
        convert_release(tmp_path / "release.pt", AVION, actions[:-1], tmp_path / "converted", name="x")
    assert caught.value.key == "module.fc_cls.weight"


def test_wrong_family_is_refused(tmp_path: Path, actions) -> None:
    write_release(tmp_path / "lavila.pth", upstream_lavila(), list(actions))
    with pytest.raises(InputError, match="tensors of avion_vit .* missing") as caught:
        convert_release(tmp_path / "lavila.pth", AVION, actions, tmp_path / "converted", name="x")
    assert caught.value.key == "module.visual.class_embedding"


def test_truncated_release_is_an_error_naming_the_file(tmp_path: Path, actions) -> None:
    path = tmp_path / "release.pt"
    write_release(path, upstream_avion(), list(actions))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match="not a readable torch checkpoint") as caught:
        load_release(path)
    assert caught.value.path == str(path)


def test_loading_runs_nothing_the_file_names(tmp_path: Path) -> None:
    """A pickle that would call a function on load: the loader keeps it as an inert record."""

    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    torch.save({"state_dict": {"w": torch.ones(1)}, "args": Payload()}, tmp_path / "release.pt")
    release = load_release(tmp_path / "release.pt")
    assert release.other_keys == ("args",) and not (tmp_path / "pwned").exists()


def test_converted_model_refuses_another_label_space(tmp_path: Path, actions) -> None:
    write_release(tmp_path / "release.pt", upstream_avion(), list(actions))
    checkpoint = convert_release(tmp_path / "release.pt", AVION, actions, tmp_path / "converted", name="x")
    other = (*actions[:5], "9:9x", *actions[6:])
    with pytest.raises(InputError, match="first difference at action id 5") as caught:
        checkpoint.require_actions(other, tmp_path / "converted" / CONFIG_FILE)
    assert caught.value.key == "actions"


@pytest.mark.parametrize("family", ["avion", "lavila"])
def test_layer_norm_eps_as_upstream(tmp_path: Path, actions, family: str) -> None:
    """Too small to show in a forward pass on random weights, large enough to matter on real ones."""
    upstream, arch = (upstream_avion(), AVION) if family == "avion" else (upstream_lavila(), LAVILA)
    write_release(tmp_path / "release.pt", upstream, list(actions))
    convert_release(tmp_path / "release.pt", arch, actions, tmp_path / "converted", name=family)
    model, _ = load_converted(tmp_path / "converted")
    upstream_eps = sorted(m.eps for m in upstream.modules() if isinstance(m, nn.LayerNorm))
    assert sorted(m.eps for m in model.modules() if isinstance(m, nn.LayerNorm)) == upstream_eps
    assert model.norm_pre.eps == upstream.visual.ln_pre.eps


def test_speed_check_reports_clips_per_second_and_projected_hours(tmp_path: Path) -> None:
    from actionmqa.cli import main

    (tmp_path / "arch.json").write_text(json.dumps(LAVILA.to_dict()))
    out = tmp_path / "speed.json"
    argv = ["specialist", "speed", "--checkpoint", "tiny", "--architecture", tmp_path / "arch.json"]
    assert (
        main(
            [
                *map(str, argv),
                "--batch-sizes",
                "1",
                "2",
                "--repeats",
                "1",
                "--device",
                "cpu",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["dtype"] == "torch.float32"
    assert [run["batch_size"] for run in report["runs"]] == [1, 2]
    for run in report["runs"]:
        assert run["clips_per_s"] > 0 and run["peak_memory_gib"] is None
        assert run["hours"]["train"] / run["hours"]["validation"] == pytest.approx(67217 / 9668)
