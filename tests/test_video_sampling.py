"""Frame-index rules, checked against values computed by hand from the specs."""

from __future__ import annotations

import numpy as np
import pytest

from actionmqa.video.sampling import segment_centre_frames, segment_midpoint_frames, uniform_frames


@pytest.mark.parametrize(
    ("start", "end", "n", "fps", "expected"),
    [
        # frames 30..60 split in 4: edges 30, 37.5, 45, 52.5, 60 -> midpoints truncated
        (1.0, 2.0, 4, 30, [33, 41, 48, 56]),
        # real val row P01_11_0 (0.00-1.89 s) on a 60 fps file: end frame round(113.4) = 113
        (0.0, 1.89, 8, 60, [7, 21, 35, 49, 63, 77, 91, 105]),
        (1.0, 2.0, 1, 30, [45]),
        # 0.15 * 30 = 4.5 rounds half to even, as Python's and numpy's round do upstream
        (0.15, 0.15, 1, 30, [4]),
    ],
)
def test_segment_midpoints_golden(start, end, n, fps, expected):
    ids = segment_midpoint_frames(start, end, n, fps)
    assert ids.dtype == np.int64
    assert ids.tolist() == expected


def test_segment_midpoints_reject_reversed_span_and_zero_frames():
    with pytest.raises(ValueError, match="ends before it starts"):
        segment_midpoint_frames(2.0, 1.0, 4, 30)
    with pytest.raises(ValueError, match="at least one frame"):
        segment_midpoint_frames(1.0, 2.0, 0, 30)


def test_uniform_frames_include_both_ends():
    assert uniform_frames(10, 4).tolist() == [0, 3, 6, 9]
    assert uniform_frames(100, 8).tolist() == [0, 14, 28, 42, 56, 70, 84, 99]
    assert uniform_frames(3, 5).tolist() == [0, 0, 1, 1, 2]


def test_mvbench_segment_centres_whole_video_and_bound():
    # 160 frames, 16 segments of 9.9375: int(4.96875 + np.round(9.9375 * i)); i=8 rounds 79.5 to 80
    assert segment_centre_frames(159, 16, 30).tolist() == [
        4,
        14,
        24,
        34,
        44,
        54,
        64,
        74,
        84,
        93,
        103,
        113,
        123,
        133,
        143,
        153,
    ]
    # bound 1-3 s at 10 fps: frames 10..30 in 4 segments of 5
    assert segment_centre_frames(100, 4, 10, bound=(1.0, 3.0)).tolist() == [12, 17, 22, 27]
    # a bound running past the video is cut at its last frame
    assert segment_centre_frames(19, 2, 10, bound=(1.0, 9.0)).tolist() == [12, 16]
