"""``base vision``: the order-aware probe learns what only frame order shows; the step's files and figures.

The synthetic set is the world's mirror-verb problem in miniature: a block crosses the frame
left to right ("verb" 0) or right to left (verb 1), and every clip has a twin that is the same
frames reversed. A head that averages over time sees identical input for the twins, so it is
right on exactly one of each pair; the ordered head sees the order.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import SiglipVisionModel

from actionmqa.basemodel.clips import ClipSet, heldout_mask, pixel_values
from actionmqa.basemodel.pretrain import pretrain
from actionmqa.basemodel.recipes import VisionRecipe
from actionmqa.basemodel.tower import ClipHead, tower_config
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.io import sha256_file
from actionmqa.model.processing import FrameProcessor
from basemodel_world import build_vision, make_world

SIDE, PATCH, BLOCK, FRAMES, PAIRS = 16, 4, 4, 4, 48
COLOURS = ((220, 40, 40), (40, 200, 60))


def crossing_pairs(n_pairs: int, seed: int = 0) -> ClipSet:
    """Clip ``2k`` moves a block rightwards, clip ``2k + 1`` is it reversed; noun = the block's colour.

    Height, start, speed and background vary, so the probe must read the block's position, not
    recognise clips.
    """
    rng = np.random.default_rng(seed)
    frames, verbs, nouns = [], [], []
    for _ in range(n_pairs):
        colour, y, step = (
            int(rng.integers(len(COLOURS))),
            int(rng.integers(SIDE - BLOCK + 1)),
            int(rng.integers(3, 5)),
        )
        x0 = int(rng.integers(SIDE - BLOCK - (FRAMES - 1) * step + 1))
        clip = np.full((FRAMES, SIDE, SIDE, 3), rng.integers(80, 140), dtype=np.uint8)
        for t in range(FRAMES):
            clip[t, y : y + BLOCK, x0 + t * step : x0 + t * step + BLOCK] = COLOURS[colour]
        frames += [clip, clip[::-1]]
        verbs += [0, 1]
        nouns += [colour, colour]
    return ClipSet(
        keys=tuple(str(i) for i in range(2 * n_pairs)),
        frames=np.stack(frames),
        verbs=np.array(verbs),
        nouns=np.array(nouns),
        verb_classes=(0, 1),
        noun_classes=(0, 1),
    )


@pytest.fixture(scope="module")
def pairs() -> ClipSet:
    return crossing_pairs(PAIRS)


@pytest.fixture(scope="module")
def pair_heldout() -> np.ndarray:
    """A quarter of the pairs, twins together."""
    return np.repeat(np.arange(PAIRS) % 4 == 0, 2)


def probe(pairs: ClipSet, heldout: np.ndarray, head: str):
    torch.set_num_threads(1)
    config = tower_config(SIDE, PATCH, hidden=64, layers=1)
    recipe = VisionRecipe(steps=80, batch_size=16, lr=3e-3, seed=0, head=head)
    return pretrain(pairs, heldout, config, FrameProcessor(SIDE), recipe)


def test_the_ordered_head_tells_the_mirror_verbs_apart(pairs: ClipSet, pair_heldout: np.ndarray) -> None:
    result = probe(pairs, pair_heldout, "ordered")
    assert result.heldout.clips == 2 * (PAIRS // 4)
    assert result.heldout.verb >= 0.85 and result.train.verb >= 0.95
    assert result.heldout.noun == 1.0


def test_a_time_pooled_head_cannot(pairs: ClipSet, pair_heldout: np.ndarray) -> None:
    result = probe(pairs, pair_heldout, "pooled")
    assert result.train.verb == pytest.approx(0.5) and result.heldout.verb == pytest.approx(0.5)
    assert result.heldout.noun == 1.0  # the colour is in every frame: only the verb needs order


def test_pooled_features_of_twins_are_equal_ordered_ones_are_not(pairs: ClipSet) -> None:
    torch.manual_seed(0)
    features = torch.randn(1, 4, 8).expand(2, 4, 8).clone()
    features[1] = features[1].flip(0)
    for kind, same in (("pooled", True), ("ordered", False)):
        head = ClipHead(8, 4, n_verbs=2, n_nouns=2, kind=kind)
        verbs, _ = head(features)
        assert torch.allclose(verbs[0], verbs[1], atol=1e-6) == same, kind


def test_pixel_values_match_the_frame_processor(pairs: ClipSet) -> None:
    processor = FrameProcessor(SIDE, image_mean=(0.4, 0.5, 0.6), image_std=(0.2, 0.3, 0.4))
    frames = pairs.frames[:3]
    assert torch.allclose(pixel_values(frames, processor), processor.videos(list(frames)), atol=1e-6)
    smaller = FrameProcessor(SIDE // 2)  # another size goes through the processor's own resize
    assert torch.equal(pixel_values(frames, smaller), smaller.videos(list(frames)))


def test_heldout_mask_is_a_seeded_tenth() -> None:
    keys = [f"clip{i}" for i in range(95)]
    mask = heldout_mask(keys, 0.1, seed=0)
    assert mask.sum() == 10
    assert np.array_equal(mask, heldout_mask(keys, 0.1, seed=0))
    assert not np.array_equal(mask, heldout_mask(keys, 0.1, seed=1))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def vision_runs(world: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    """``base vision`` run twice with the same seed: (folder, metrics) each."""
    root = tmp_path_factory.mktemp("vision")
    return [
        (build_vision(world, root / f"tower{i}", root / f"metrics{i}.json"), root / f"metrics{i}.json")
        for i in range(2)
    ]


def test_the_tower_folder_loads_with_the_requested_shape(vision_runs) -> None:
    folder, _ = vision_runs[0]
    tower = SiglipVisionModel.from_pretrained(folder)
    assert (tower.config.image_size, tower.config.patch_size) == (32, 8)
    assert (tower.config.hidden_size, tower.config.num_hidden_layers) == (32, 1)
    assert not tower.config.vision_use_head
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["size"] == {"height": 32, "width": 32}


def test_the_probe_classes_are_the_train_split_classes(world: Path, vision_runs) -> None:
    train = load_annotation_dir(world / "annotations").split("train")
    provenance = json.loads((vision_runs[0][0] / "vision.json").read_text())
    assert provenance["verb_classes"] == sorted(set(train["verb_class"]))
    assert provenance["noun_classes"] == sorted(set(train["noun_class"]))
    assert provenance["frames"] == 4 and provenance["feature_layer"] == -1


def test_metrics_report_a_tenth_of_train_held_out(vision_runs) -> None:
    metrics = json.loads(vision_runs[0][1].read_text())
    assert (metrics["train"]["clips"], metrics["heldout"]["clips"]) == (36, 4)
    for part in ("train", "heldout"):
        assert set(metrics[part]) == {"clips", "verb", "noun", "action"}
        assert metrics[part]["action"] <= min(metrics[part]["verb"], metrics[part]["noun"])
    assert metrics["steps"] == 3 and metrics["head"] == "ordered"


def test_rerunning_reproduces_the_tower_and_metrics(vision_runs) -> None:
    (first, first_metrics), (second, second_metrics) = vision_runs
    assert sha256_file(first / "model.safetensors") == sha256_file(second / "model.safetensors")
    assert first_metrics.read_text() == second_metrics.read_text()
