"""Frames: a video is its static scene, idle pauses, and one staged clip per annotated segment.

Rendered frames are uint8 planar YCbCr 4:2:0, ``(T, H * 3 // 2, W)``, ready for the encoder
(``colour.i420_to_rgb`` turns them into RGB for viewing).

Mirrored verbs (put, close, turn-off) are rendered as their forward partner's clip with the frame
order reversed, sensor noise included, so a clip and its mirror hold exactly the same frames.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from actionmqa.seeding import rng_for
from actionmqa.toyworld import motion, sprites, vocab
from actionmqa.toyworld.colour import to_i420
from actionmqa.toyworld.keyframes import Clock, bar_between
from actionmqa.toyworld.raster import Track, draw_track
from actionmqa.toyworld.scenery import ParticipantLook, background_image
from actionmqa.toyworld.script import SegmentPlan, VideoPlan
from actionmqa.toyworld.vocab import Action

#: Sensor noise: luma standard deviation, drawn on a grid this many pixels coarse.
NOISE_SIGMA = 2.5
NOISE_CELL = 4


def draw_hand(frames: np.ndarray, hand: motion.HandPose, look: ParticipantLook) -> None:
    """Palm plus a forearm running down to below the frame, leaning out to the hand's own side.

    The forearm stays close to vertical so that its bounding box, and so its drawing cost,
    stays narrow wherever the hand goes.
    """
    n = frames.shape[0]
    palm = np.stack(np.broadcast_arrays(np.asarray(hand.x, float), np.asarray(hand.y, float)), axis=-1)
    palm = np.broadcast_to(palm, (n, 2)) if palm.ndim == 1 else palm
    elbow = np.stack([palm[:, 0] + 0.1 * hand.side, np.full(n, 1.1)], axis=1)
    draw_track(frames, Track(sprites.FOREARM, **bar_between(palm, elbow), tint=look.skin_tint))
    draw_track(frames, Track(sprites.PALM, palm[:, 0], palm[:, 1], tint=look.skin_tint))


def add_sensor_noise(frames: np.ndarray, rng: np.random.Generator) -> None:
    """Coarse luma noise (cheap to draw) so that no two frames are identical, in place."""
    n, _, height, width = frames.shape
    cell = NOISE_CELL if height % NOISE_CELL == 0 and width % NOISE_CELL == 0 else 1
    cells = rng.standard_normal((n, height // cell, width // cell), dtype=np.float32)
    cells *= np.float32(NOISE_SIGMA)
    luma = frames[:, 0].reshape(n, height // cell, cell, width // cell, cell)
    luma += cells[:, :, None, :, None]


def compose(
    background: np.ndarray,
    look: ParticipantLook,
    staging: motion.Staging,
    n_frames: int,
    noise: np.random.Generator,
) -> np.ndarray:
    """``n_frames`` float YCbCr frames of the staging drawn over the background, noise added."""
    frames = np.repeat(background[None], n_frames, axis=0)
    for track in staging.tracks:
        draw_track(frames, track)
    for hand in staging.hands:
        draw_hand(frames, hand, look)
    add_sensor_noise(frames, noise)
    return frames


def render_action(
    action: Action,
    params: motion.SegmentParams,
    n_frames: int,
    fps: float,
    background: np.ndarray,
    look: ParticipantLook,
) -> np.ndarray:
    """One segment's frames (planar 4:2:0); a mirrored verb plays its partner's clip backwards."""
    clock = Clock.for_frames(n_frames, fps)
    staging = motion.stage(action, params, clock)
    frames = to_i420(compose(background, look, staging, n_frames, rng_for(params.detail_seed, "noise")))
    return frames[::-1] if action.verb in vocab.MIRROR_OF else frames


def render_idle(
    n_frames: int, background: np.ndarray, look: ParticipantLook, noise: np.random.Generator
) -> np.ndarray:
    """A pause between actions: both hands resting at the bottom of the frame.

    It is one still frame held ``n_frames`` times (a read-only broadcast view), which the encoder
    converts once: pauses are about half of all frames and cost almost nothing this way.
    """
    staging = motion.Staging(tracks=(), hands=motion.idle_hands())
    still = to_i420(compose(background, look, staging, 1, noise))
    return np.broadcast_to(still, (n_frames, *still.shape[1:]))


def render_segment(
    segment: SegmentPlan, fps: int, background: np.ndarray, look: ParticipantLook
) -> np.ndarray:
    return render_action(segment.action, segment.params, len(segment.frame_range(fps)), fps, background, look)


def render_video(
    video: VideoPlan, look: ParticipantLook, size: int, fps: int, seed: int
) -> Iterator[np.ndarray]:
    """The video's frames in order, as blocks (one per pause or segment)."""
    background = background_image(look, video.clutter, size)
    cursor = 0
    for segment in video.segments:
        frames = segment.frame_range(fps)
        if frames.start > cursor:
            yield render_idle(
                frames.start - cursor, background, look, rng_for(seed, segment.narration_id, "idle-before")
            )
        yield render_segment(segment, fps, background, look)
        cursor = frames.stop
    end = video.n_frames(fps)
    if end > cursor:
        yield render_idle(end - cursor, background, look, rng_for(seed, video.video_id, "idle-end"))
