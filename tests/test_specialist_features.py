"""Order-blind clip features and their byte-stable file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actionmqa.errors import InputError
from actionmqa.io import sha256_file
from actionmqa.specialist.featurefile import FeatureTable, load_features, save_features
from actionmqa.specialist.features import FeatureConfig, clip_features, feature_names


def random_clip(seed: int, n_frames: int = 8, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n_frames, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("feature_set", ["appearance", "full"])
def test_names_match_vector_length(feature_set: str) -> None:
    config = FeatureConfig(feature_set=feature_set, grid=2, hist_bins=4, motion_grid=2)
    vector = clip_features(random_clip(0), config)
    # per frame: 2*2 cells * 3 channels + 3 channels * 4 bins = 24, pooled by mean (appearance)
    # or by mean and std plus 2*2 motion cells by mean and std (full): 24 * 2 + 4 * 2 = 56
    assert len(feature_names(config)) == len(vector) == (24 if feature_set == "appearance" else 56)
    assert vector.dtype == np.float32


def test_reversed_clip_has_bit_identical_features() -> None:
    clip = random_clip(1, n_frames=16)
    forward = clip_features(clip, FeatureConfig())
    assert forward.tobytes() == clip_features(clip[::-1], FeatureConfig()).tobytes()
    # ... but the features do see content: a different clip differs.
    assert not np.array_equal(forward, clip_features(random_clip(2, n_frames=16), FeatureConfig()))


def test_values_on_a_hand_made_clip() -> None:
    # Frame 0 black, frame 1 white: grid means 0 then 1 (mean 0.5, std 0.5); every pixel changes by 1.
    clip = np.stack([np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)])
    config = FeatureConfig(grid=2, hist_bins=2, motion_grid=2)
    features = dict(zip(feature_names(config), clip_features(clip, config).tolist(), strict=True))
    assert features["appearance.grid_r0c0_r.mean"] == pytest.approx(0.5)
    assert features["appearance.grid_r1c1_b.std"] == pytest.approx(0.5)
    assert features["appearance.hist_g_b0.mean"] == pytest.approx(0.5)  # half the frames all-dark
    assert features["appearance.hist_g_b1.mean"] == pytest.approx(0.5)
    assert features["motion.absdiff_r0c1.mean"] == pytest.approx(1.0)
    assert features["motion.absdiff_r0c1.std"] == pytest.approx(0.0)


def test_motion_localises_a_moving_blob() -> None:
    clip = np.zeros((4, 8, 8, 3), np.uint8)
    for t in range(4):
        clip[t, 0:2, 2 * t : 2 * t + 2] = 255  # a blob sliding along the top rows
    config = FeatureConfig(grid=2, hist_bins=2, motion_grid=2)
    features = dict(zip(feature_names(config), clip_features(clip, config).tolist(), strict=True))
    assert features["motion.absdiff_r0c0.mean"] > 0
    assert features["motion.absdiff_r1c0.mean"] == 0.0
    assert features["motion.absdiff_r1c1.mean"] == 0.0


def test_rejects_bad_config_and_frames() -> None:
    with pytest.raises(ValueError, match="feature_set"):
        FeatureConfig(feature_set="motion")
    with pytest.raises(ValueError, match="frames"):
        clip_features(np.zeros((8, 8, 3), np.uint8), FeatureConfig())
    with pytest.raises(ValueError, match="grid"):
        clip_features(np.zeros((2, 3, 3, 3), np.uint8), FeatureConfig(grid=4))


def make_table(rows: list[int]) -> FeatureTable:
    values = np.arange(len(rows) * 3, dtype=np.float32).reshape(len(rows), 3)
    return FeatureTable(rows=np.array(rows), values=values, names=("a", "b", "c"), feature_set="full")


def test_feature_file_round_trip_is_byte_stable(tmp_path) -> None:
    table = make_table([2, 0, 1])
    save_features(tmp_path / "one.npz", table)
    save_features(tmp_path / "two.npz", make_table([2, 0, 1]))
    assert sha256_file(tmp_path / "one.npz") == sha256_file(tmp_path / "two.npz")
    loaded = load_features(tmp_path / "one.npz")
    assert loaded.names == ("a", "b", "c") and loaded.feature_set == "full"
    np.testing.assert_array_equal(loaded.values, table.values)
    # alignment follows the segment index, not the file order
    segments = pd.DataFrame(index=pd.RangeIndex(3))
    np.testing.assert_array_equal(loaded.aligned_to(segments)[:, 0], [3.0, 6.0, 0.0])


def test_alignment_names_missing_rows(tmp_path) -> None:
    with pytest.raises(InputError, match="no features for 1 segment rows"):
        make_table([0, 1]).aligned_to(pd.DataFrame(index=pd.RangeIndex(3)), tmp_path / "f.npz")


def test_foreign_file_is_an_input_error(tmp_path) -> None:
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(InputError, match="not a specialist feature file"):
        load_features(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(InputError, match="cannot read"):
        load_features(tmp_path / "text.npz")
