"""Re-encode whole videos into AVION-style chunks (``<start_sec>.MP4``) at a fixed frame rate.

The paper's models read EK100 as 15 s chunks at 30 fps (short side 512); the preprocessing
script was never released (spec llavaction §0). Here output frame ``k`` of a video is the
source frame nearest to ``k / fps`` and lands in chunk ``k // (chunk_sec * fps)`` at
position ``k mod (chunk_sec * fps)``, which is exactly how readers route frames back
(``rel = abs - chunk_start * fps``). A video's chunks are written to a staging folder and
moved into place together, so an interrupted run never leaves a partial video behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType
from tqdm import tqdm

from actionmqa.errors import InputError
from actionmqa.io import atomic_dir
from actionmqa.video.layout import VIDEO_SUFFIX, ChunkedLayout, WholeVideoLayout

log = logging.getLogger(__name__)

#: Keyframe every 2 s: bounds a clip's seek-and-decode cost (DESIGN, video decoding).
GOP_SEC = 2


def chunk_video(
    src: Path,
    out_dir: Path,
    chunk_sec: int = 15,
    fps: int = 30,
    short_side: int | None = None,
    crf: int = 23,
) -> list[Path]:
    """Split ``src`` into H.264 chunks ``<out_dir>/<start_sec>.MP4``; returns them in order."""
    src, out_dir = Path(src), Path(out_dir)
    if not src.is_file():
        raise InputError(src, "video file not found")
    with atomic_dir(out_dir) as staging:
        names = _encode_chunks(src, staging, chunk_sec, fps, short_side, crf)
    return [out_dir / name for name in names]


def chunk_video_tree(
    video_root: Path,
    out_root: Path,
    videos: Sequence[tuple[str, str]],
    chunk_sec: int = 15,
    fps: int = 30,
    short_side: int | None = None,
    crf: int = 23,
) -> list[Path]:
    """Chunk ``(participant_id, video_id)`` videos of a whole-video tree into a chunk tree."""
    source, target = WholeVideoLayout(Path(video_root)), ChunkedLayout(Path(out_root), chunk_sec)
    done = []
    for participant_id, video_id in tqdm(videos, desc="chunk videos", unit="video"):
        (piece,) = source.pieces(participant_id, video_id)
        out_dir = target.video_dir(participant_id, video_id)
        chunks = chunk_video(piece.path, out_dir, chunk_sec, fps, short_side, crf)
        log.info("%s: %d chunks of %d s at %d fps", video_id, len(chunks), chunk_sec, fps)
        done.append(out_dir)
    return done


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Scale so the short side is ``short_side`` (aspect kept, even sizes for yuv420p)."""
    if short_side is None:
        return width - width % 2, height - height % 2
    if short_side < 2 or short_side % 2:
        raise ValueError(f"short side must be a positive even number, got {short_side}")
    scale = short_side / min(width, height)
    return 2 * round(width * scale / 2), 2 * round(height * scale / 2)


def resample(
    frames: Iterable[av.VideoFrame], src_rate: Fraction, fps: int
) -> Iterator[tuple[int, av.VideoFrame]]:
    """``(output index, frame)``: output ``k`` shows the source frame nearest to ``k / fps``.

    Source frames are counted in presentation order (as decord indexes them), so timestamp
    glitches in the source cannot shift the grid.
    """
    out = 0
    for ordinal, frame in enumerate(frames):
        while round(out * src_rate / fps) <= ordinal:
            yield out, frame
            out += 1


def _encode_chunks(
    src: Path, staging: Path, chunk_sec: int, fps: int, short_side: int | None, crf: int
) -> list[str]:
    try:
        container = av.open(str(src))
    except (av.FFmpegError, OSError) as exc:
        raise InputError(src, f"cannot open video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise InputError(src, "no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise InputError(src, "header gives no frame rate")
        size = output_size(stream.codec_context.width, stream.codec_context.height, short_side)
        with _ChunkWriter(staging, chunk_sec, fps, size, crf) as writer:
            try:
                for index, frame in resample(container.decode(stream), Fraction(rate), fps):
                    writer.write(index, frame)
            except av.FFmpegError as exc:
                raise InputError(src, f"decoding failed ({exc}); truncated or corrupt file") from exc
            return writer.names


class _ChunkWriter:
    """Routes output frames to one encoder per chunk file, opening each chunk once."""

    def __init__(self, folder: Path, chunk_sec: int, fps: int, size: tuple[int, int], crf: int) -> None:
        self.folder, self.chunk_sec, self.fps, self.size, self.crf = folder, chunk_sec, fps, size, crf
        self.names: list[str] = []
        self._chunk = -1
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None

    def write(self, index: int, frame: av.VideoFrame) -> None:
        per_chunk = self.chunk_sec * self.fps
        chunk, position = divmod(index, per_chunk)
        if chunk != self._chunk:
            self._open(chunk)
        width, height = self.size
        picture = frame.reformat(width=width, height=height, format="yuv420p", interpolation="BICUBIC")
        picture.pts, picture.time_base = position, Fraction(1, self.fps)
        # A decoded I-frame would force a keyframe here: let the encoder's GOP decide.
        picture.pict_type = PictureType.NONE
        self._container.mux(self._stream.encode(picture))

    def _open(self, chunk: int) -> None:
        self._finish()
        name = f"{chunk * self.chunk_sec}{VIDEO_SUFFIX}"
        self._container = av.open(str(self.folder / name), "w")
        self._stream = self._container.add_stream("libx264", rate=self.fps)
        self._stream.width, self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(self.crf), "g": str(GOP_SEC * self.fps)}
        self._chunk = chunk
        self.names.append(name)

    def _finish(self) -> None:
        if self._container is not None:
            self._container.mux(self._stream.encode())
            self._container.close()
            self._container = self._stream = None

    def __enter__(self) -> _ChunkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
