"""Subtitles for the benchmarks that have them: the participant's own spoken narrations.

EK100's narrations were spoken aloud by the participants while they worked, which is exactly
what a subtitle track transcribes, so each action a clip shows contributes its CSV narration
("take plate") over its own time span. Two file formats: LongVideoBench's JSON (two entry
forms, times offset by ``starting_timestamp_for_subtitles``) and Video-MME's SRT with the
``<font>`` wrapper that lmms-eval extracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from actionmqa.toybench.clips import Clip

SRT_FONT = '<font color="white" size=".72c">{}</font>'
LvbForm = Literal["clock", "timestamp"]


@dataclass(frozen=True)
class Line:
    """One subtitle, in seconds of the clip."""

    start: float
    end: float
    text: str


def narration_lines(clip: Clip) -> list[Line]:
    """The narration of every action the clip's file shows, over that action's span."""
    return [Line(s.start, s.stop, s.event.narration) for s in clip.in_file]


def clock(seconds: float, decimal: str = ".") -> str:
    """``HH:MM:SS.mmm`` (LongVideoBench) or, with ``decimal=","``, ``HH:MM:SS,mmm`` (SRT)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal}{millis:03d}"


def lvb_entries(lines: list[Line], offset: float, form: LvbForm) -> list[dict[str, Any]]:
    """LongVideoBench ``<video_id>_en.json`` entries, times shifted by ``+offset`` (readers subtract it).

    ``clock``: ``{"start": "HH:MM:SS.mmm", "end", "line"}``; ``timestamp``: ``{"timestamp":
    [start, end], "text"}`` with float seconds (a non-float end would mean "to the end").
    """
    if form == "clock":
        return [
            {"start": clock(x.start + offset), "end": clock(x.end + offset), "line": x.text} for x in lines
        ]
    return [
        {"timestamp": [round(x.start + offset, 3), round(x.end + offset, 3)], "text": x.text} for x in lines
    ]


def srt_text(lines: list[Line]) -> str:
    """Numbered SRT blocks, each followed by a blank line, text wrapped in Video-MME's ``<font>`` tag."""
    return "".join(
        f"{k}\n{clock(x.start, ',')} --> {clock(x.end, ',')}\n{SRT_FONT.format(x.text)}\n\n"
        for k, x in enumerate(lines, start=1)
    )
