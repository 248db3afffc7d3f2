"""Write a clip's video: decode its pieces' frames from the world's MP4s and re-encode them.

Decoded frames go straight back into x264 with the toy world's encoder settings (single
thread, fixed one-second GOP, no scene cuts), so a clip shows the world's pixels after one
more lossy pass, at the world's frame rate, and re-running writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

from actionmqa.errors import InputError
from actionmqa.io import atomic_open
from actionmqa.toybench.clips import Clip, Piece
from actionmqa.toyworld.encode import EncoderSettings


def piece_frames(piece: Piece) -> Iterator[av.VideoFrame]:
    """Frames ``[first, stop)`` of the piece's source, in order.

    Seeks to the keyframe before ``first`` and decodes forward; a frame's index is its
    presentation time times the (constant) frame rate, which is how the world wrote them.
    """
    path = piece.video.path
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise InputError(path, f"cannot open video ({exc})") from exc
    with container:
        stream = container.streams.video[0]
        # index = round(pts * time_base * rate), in integers: num / den with den > 0
        ticks = Fraction(stream.time_base) * Fraction(stream.average_rate)
        num, den = ticks.numerator, ticks.denominator
        origin = stream.start_time or 0
        container.seek(origin + int(piece.first / ticks), stream=stream, backward=True)
        wanted = piece.first
        for frame in container.decode(stream):
            index = ((frame.pts - origin) * num * 2 + den) // (2 * den)
            if index < wanted:
                continue
            if index != wanted:
                raise InputError(path, f"frame {wanted} is missing (the decoder jumped to {index})")
            yield frame
            wanted += 1
            if wanted == piece.stop:
                return
    raise InputError(path, f"video ends before frame {piece.stop} (got to {wanted})")


def encode(path: Path, frames: Iterable[av.VideoFrame], fps: int, settings: EncoderSettings) -> int:
    """Re-encode decoded frames as H.264 MP4 at ``fps`` (atomically); returns the frame count.

    Each frame's picture type is cleared, or x264 would start a new GOP wherever the source
    had a keyframe.
    """
    n_frames = 0
    with atomic_open(path, "wb") as handle, av.open(handle, "w", format="mp4") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                stream.codec_context.gop_size = settings.gop
                stream.codec_context.thread_count = 1
                stream.options = settings.x264_options()
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base, frame.pict_type = n_frames, Fraction(1, fps), PictureType.NONE
            container.mux(stream.encode(frame))
            n_frames += 1
        if stream is not None:
            container.mux(stream.encode(None))
    return n_frames


def write_clip(path: Path, clip: Clip) -> int:
    """Encode ``clip`` to ``path``; returns the frame count (checked against the clip's)."""
    fps = clip.fps
    if fps != int(fps):
        raise InputError(path, f"the encoder needs an integer frame rate, the world has {fps}")
    frames = (frame for piece in clip.pieces for frame in piece_frames(piece))
    n_frames = encode(path, frames, int(fps), EncoderSettings(gop=int(fps)))
    if n_frames != clip.n_frames:
        raise InputError(path, f"wrote {n_frames} frames, the clip has {clip.n_frames}")
    return n_frames
