"""The released specialists' input pipeline, label space, ranking and scoring, against hand-worked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.specialist.released.frames import MEAN, STD, crop_offsets, prepare_clip, resized_size
from actionmqa.specialist.released.ranking import ensemble_action_probs, head_scores, marginal_scores, rank
from actionmqa.specialist.released.run import label_space
from actionmqa.specialist.released.scores import ScoreShard, merge_shards, shard_bounds
from actionmqa.video.sampling import segment_midpoint_frames
from released_world import write_annotations


def upstream_get_frame_ids(start_frame: int, end_frame: int, num_segments: int) -> list[int]:
    """AVION's ``avion/data/clip_dataset.py::get_frame_ids`` with ``jitter=False``, transliterated."""
    frame_ids = np.convolve(np.linspace(start_frame, end_frame, num_segments + 1), [0.5, 0.5], mode="valid")
    return frame_ids.astype(int).tolist()


# ---------------------------------------------------------------- frames


def test_frame_ids_are_avions_worked_values() -> None:
    fps = 30.0
    assert segment_midpoint_frames(0.0, 32 / fps, 16, fps).tolist() == list(range(1, 32, 2))
    ids = segment_midpoint_frames(100 / fps, 250 / fps, 16, fps).tolist()
    assert ids[:3] == [104, 114, 123] and ids[-1] == 245
    # AVION rounds the seconds to frames first: round(12.345 * 30) = 370, round(14.51 * 30) = 435
    assert segment_midpoint_frames(12.345, 14.51, 16, fps).tolist() == upstream_get_frame_ids(370, 435, 16)


@pytest.mark.parametrize(
    ("height", "width", "resized", "offsets"),
    [
        (256, 456, (224, 399), (0, 88)),  # EK100 at 256p: 87.5 rounds to 88
        (320, 568, (224, 397), (0, 86)),  # 320p chunks: 224 * 568 / 320 = 397.6 truncates; 86.5 rounds to 86
        (480, 640, (224, 298), (0, 37)),
        (456, 256, (399, 224), (88, 0)),  # portrait: the width is the short side
        (224, 224, (224, 224), (0, 0)),
    ],
)
def test_resize_and_crop_follow_torchvision(height, width, resized, offsets) -> None:
    assert resized_size(height, width, 224) == resized
    assert crop_offsets(*resized, 224) == offsets


def test_prepare_clip_crops_the_centre_and_normalises_with_the_openai_constants() -> None:
    # 2 frames of 4 x 8 pixels whose red channel is the column index: a 4 px crop keeps columns 2-5
    frames = np.zeros((2, 4, 8, 3), np.uint8)
    frames[..., 0] = np.arange(8, dtype=np.uint8)
    frames[..., 1] = 128
    frames[..., 2] = 255
    clip = prepare_clip(frames, 4)
    assert clip.shape == (2, 3, 4, 4) and clip.dtype == torch.float32
    red = [(c - 108.3272985) / 68.5005327 for c in (2, 3, 4, 5)]
    torch.testing.assert_close(clip[0, 0, 0], torch.tensor(red))
    torch.testing.assert_close(clip[1, 1], torch.full((4, 4), (128 - 116.7460125) / 66.6321579))
    torch.testing.assert_close(clip[1, 2], torch.full((4, 4), (255 - 104.09373615) / 70.32316305))
    assert MEAN[2] == 104.09373615000001 and STD == (68.5005327, 66.6321579, 70.32316305)


def test_prepare_clip_resizes_the_short_side() -> None:
    frames = np.full((1, 256, 456, 3), 200, np.uint8)
    clip = prepare_clip(frames, 224)
    assert clip.shape == (1, 3, 224, 224)
    torch.testing.assert_close(clip[0, 0], torch.full((224, 224), (200 - 108.3272985) / 68.5005327))


# ---------------------------------------------------------------- label space and ranking


def test_label_space_is_sorted_as_strings(tmp_path) -> None:
    actions = label_space(load_annotation_dir(write_annotations(tmp_path)))
    # 12 verbs x 10 nouns; as strings "0:9" < "10:0" < "11:9" < "1:0" < "2:0"
    assert len(actions) == 120
    assert actions[:2] == ("0:0", "0:1") and actions[9] == "0:9"
    assert (actions[10], actions[20], actions[30], actions[40]) == ("10:0", "11:0", "1:0", "2:0")
    assert actions[-1] == "9:9"


def test_label_space_needs_train_and_validation(tmp_path) -> None:
    root = write_annotations(tmp_path)
    (root / "EPIC_100_train.csv").unlink()
    with pytest.raises(InputError, match="split 'train' is needed"):
        label_space(load_annotation_dir(root))


def test_verb_and_noun_scores_sum_the_actions_that_share_them() -> None:
    actions = ["0:1", "0:2", "1:2"]
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], np.float32)
    scores = marginal_scores(probs, actions)
    assert scores.verb.shape == (2, 97) and scores.noun.shape == (2, 300)
    np.testing.assert_allclose(scores.verb[:, :2], [[0.8, 0.2], [0.2, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(scores.noun[:, :3], [[0.0, 0.5, 0.5], [0.0, 0.1, 0.9]], rtol=1e-6)
    assert scores.verb[:, 2:].sum() == 0  # a verb no action uses


def _shard(rows, action, **heads) -> ScoreShard:
    return ScoreShard(
        rows=np.asarray(rows, np.int64),
        probs={"action": np.asarray(action, np.float32), **heads},
        meta={"model": {"name": "m"}},
    )


def test_ensemble_averages_softmaxes_and_a_lone_multi_head_model_keeps_its_heads() -> None:
    actions = ["0:1", "0:2", "1:2"]
    a = _shard([0], [[0.6, 0.3, 0.1]])
    b = _shard(
        [0], [[0.0, 0.2, 0.8]], verb=np.array([[0.9, 0.1]], np.float32), noun=np.zeros((1, 3), np.float32)
    )
    np.testing.assert_allclose(ensemble_action_probs([a, b]), [[0.3, 0.25, 0.45]], rtol=1e-6)
    assert head_scores([b], b.probs["action"], actions).verb is b.probs["verb"]
    ensemble = head_scores([a, b], ensemble_action_probs([a, b]), actions)
    np.testing.assert_allclose(ensemble.verb[0, :2], [0.55, 0.45], rtol=1e-6)


def test_rank_orders_by_probability_and_breaks_ties_by_label_order() -> None:
    actions = ["0:10", "0:2", "1:1", "1:5"]
    probs = np.array([[0.1, 0.4, 0.1, 0.4], [0.7, 0.1, 0.1, 0.1]], np.float32)
    assert rank(probs, actions, 3) == [["0:2", "1:5", "0:10"], ["0:10", "0:2", "1:1"]]
    assert rank(probs, actions, 100)[0] == ["0:2", "1:5", "0:10", "1:1"]


# ---------------------------------------------------------------- shards


def test_shards_cover_the_rows_once_in_order() -> None:
    bounds = [shard_bounds(10, i, 4) for i in range(4)]
    assert bounds == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert [shard_bounds(3, i, 5) for i in range(5)] == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 3)]


def test_merge_checks_the_rows_against_the_split(tmp_path) -> None:
    segments = pd.DataFrame(index=pd.RangeIndex(5))
    paths = []
    for i, rows in enumerate(([0, 1], [2, 3, 4])):
        paths.append(tmp_path / f"{i}.npz")
        _shard(rows, np.eye(5, dtype=np.float32)[rows]).save(paths[-1])
    merged = merge_shards(paths, segments)
    assert merged.rows.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(merged.probs["action"], np.eye(5, dtype=np.float32))
    with pytest.raises(InputError, match="hold 2 rows, the split 5"):
        merge_shards(paths[:1], segments)
    with pytest.raises(InputError, match="first mismatch at position 0"):
        merge_shards(paths[::-1], segments)
