"""Which stretch of the world's videos a toy benchmark video shows, and what happens in it.

A clip is one or more windows ("pieces") of validation videos played back to back. Windows
start and end halfway through the pauses between actions, never inside one, so every action
a clip shows is shown whole and its ground truth is exact; an action cut in half would make
"what did I do first?" ambiguous. Times of the shown events are re-based to the clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actionmqa.errors import InputError
from actionmqa.toybench.world import Event, SourceVideo, World

#: Seconds of slack around the shown actions in a bounded clip's ``start``/``end``.
BOUND_MARGIN = 0.25
#: Windows drawn before settling for the one closest to the wanted length.
ATTEMPTS = 40


@dataclass(frozen=True)
class Piece:
    """Frames ``[first, stop)`` of a source video."""

    video: SourceVideo
    first: int
    stop: int

    @property
    def start_sec(self) -> float:
        return self.first / self.video.fps

    @property
    def stop_sec(self) -> float:
        return self.stop / self.video.fps

    @property
    def n_frames(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True)
class Shown:
    """An event as a clip shows it: times in seconds from the clip's first frame."""

    event: Event
    start: float
    stop: float


@dataclass(frozen=True)
class ClipShape:
    """What kind of clip a benchmark wants.

    ``bounded``: the record carries ``start``/``end`` around the asked-about actions (MVBench).
    ``reveal_next``: the file runs on past ``end`` through the next action, which a "what will
    the person do next?" question asks about (MVBench action_prediction).
    """

    seconds: tuple[float, float]
    pieces: int = 1
    bounded: bool = False
    reveal_next: bool = False


@dataclass(frozen=True)
class Clip:
    """Pieces in play order; ``events`` are the ones questions may use (inside the bound if any).

    ``following`` is the source video's next action after the last shown one: in the file
    (``reveal_next``, listed in ``after_bound``) or not (a clip that stops before it).
    """

    pieces: tuple[Piece, ...]
    events: tuple[Shown, ...]
    following: Event | None
    bound: tuple[float, float] | None = None
    after_bound: tuple[Shown, ...] = ()

    @property
    def fps(self) -> float:
        return self.pieces[0].video.fps

    @property
    def n_frames(self) -> int:
        return sum(p.n_frames for p in self.pieces)

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def in_file(self) -> tuple[Shown, ...]:
        """Every action the video file shows, in order (what subtitles narrate)."""
        return self.events + self.after_bound


@dataclass(frozen=True)
class _Window:
    video: SourceVideo
    first_event: int
    last_event: int
    start: float
    stop: float

    @property
    def seconds(self) -> float:
        return self.stop - self.start


def _boundary_before(video: SourceVideo, i: int) -> float:
    events = video.events
    previous_stop = events[i - 1].stop if i > 0 else 0.0
    return (previous_stop + events[i].start) / 2


def _boundary_after(video: SourceVideo, j: int) -> float:
    events = video.events
    next_start = events[j + 1].start if j + 1 < len(events) else video.duration
    return (events[j].stop + next_start) / 2


def _window(video: SourceVideo, i: int, seconds: float, reveal_next: bool) -> _Window | None:
    """Actions ``i..j``, ``j`` the first whose window lasts ``seconds``; ``None`` if the video ends first."""
    last = len(video.events) - (2 if reveal_next else 1)
    j = i
    while _boundary_after(video, j) - _boundary_before(video, i) < seconds and j < last:
        j += 1
    if j > last:
        return None
    stop = _boundary_after(video, j + 1 if reveal_next else j)
    return _Window(video, i, j, _boundary_before(video, i), stop)


def _draw_window(
    world: World, rng: np.random.Generator, low: float, high: float, reveal_next: bool, exclude: set[str]
) -> _Window:
    """A ``low``-``high`` s window (else the closest of ``ATTEMPTS`` draws) of a video not in ``exclude``."""
    candidates = [v for v in world.videos if v.video_id not in exclude]
    best: _Window | None = None
    for _ in range(ATTEMPTS):
        video = candidates[int(rng.integers(len(candidates)))]
        window = _window(video, int(rng.integers(len(video.events))), rng.uniform(low, high), reveal_next)
        if window is None:
            continue
        if low <= window.seconds <= high:
            return window
        if best is None or _miss(window, low, high) < _miss(best, low, high):
            best = window
    if best is None:
        raise InputError(world.root, f"no window of {low:.0f}-{high:.0f} s in the {world.split} videos")
    return best


def _miss(window: _Window, low: float, high: float) -> float:
    return max(low - window.seconds, window.seconds - high, 0.0)


def plan_clip(world: World, shape: ClipShape, rng: np.random.Generator) -> Clip:
    """Draw a clip of ``shape``: ``shape.pieces`` windows, each from a different video.

    Two windows of one video could overlap and show an action twice, which would break counts.
    """
    if shape.pieces > len(world.videos):
        raise InputError(
            world.root, f"a clip of {shape.pieces} windows needs {shape.pieces} {world.split} videos"
        )
    low, high = (s / shape.pieces for s in shape.seconds)
    windows: list[_Window] = []
    for k in range(shape.pieces):
        last = k == shape.pieces - 1
        used = {w.video.video_id for w in windows}
        windows.append(_draw_window(world, rng, low, high, shape.reveal_next and last, used))
    return _assemble(windows, shape)


def clip_from(video: SourceVideo, first_event: int, seconds: float) -> Clip:
    """The one-window clip of ``video`` from its action ``first_event`` through the first action
    that makes it last ``seconds`` (or through the video's last action, if that comes first)."""
    window = _window(video, first_event, seconds, reveal_next=False)
    assert window is not None  # only a window that must keep an action in reserve can fail
    return _assemble([window], ClipShape(seconds=(seconds, seconds)))


def _assemble(windows: list[_Window], shape: ClipShape) -> Clip:
    pieces, shown, after_bound = [], [], []
    offset = 0.0
    for window in windows:
        video = window.video
        n_frames = round(video.duration * video.fps)
        piece = Piece(
            video, max(0, round(window.start * video.fps)), min(n_frames, round(window.stop * video.fps))
        )
        shift = offset - piece.start_sec
        for index in range(window.first_event, window.last_event + 1):
            shown.append(_shown(video.events[index], shift, piece))
        pieces.append(piece)
        offset += piece.n_frames / video.fps
    last = windows[-1]
    next_index = last.last_event + 1
    following = last.video.events[next_index] if next_index < len(last.video.events) else None
    bound_end = offset
    if shape.reveal_next:
        assert following is not None  # _window keeps one action in reserve
        after_bound.append(_shown(following, offset - pieces[-1].stop_sec, pieces[-1]))
        bound_end = (shown[-1].stop + after_bound[0].start) / 2
    bound = None
    if shape.bounded:
        bound = (
            round(max(0.0, shown[0].start - BOUND_MARGIN), 3),
            round(min(bound_end, shown[-1].stop + BOUND_MARGIN), 3),
        )
    return Clip(tuple(pieces), tuple(shown), following, bound, tuple(after_bound))


def _shown(event: Event, shift: float, piece: Piece) -> Shown:
    """``event`` in clip time; it must lie whole inside the piece (windows end in pauses)."""
    if not piece.start_sec <= event.start < event.stop <= piece.stop_sec:
        raise InputError(None, f"{event.narration_id} is not whole inside frames {piece.first}-{piece.stop}")
    return Shown(event, round(event.start + shift, 3), round(event.stop + shift, 3))
