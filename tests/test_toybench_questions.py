"""toybench without files: clip windows, question builders, options, wording and subtitle formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actionmqa.bench.letters import lettered
from actionmqa.bench.longvideobench import parse_subtitles
from actionmqa.bench.videomme import parse_srt
from actionmqa.errors import InputError
from actionmqa.toybench.clips import Clip, ClipShape, Shown, plan_clip
from actionmqa.toybench.options import choose_options, number_options
from actionmqa.toybench.questions import Context, Kind, ask
from actionmqa.toybench.subtitles import Line, clock, lvb_entries, srt_text
from actionmqa.toybench.wording import CAMERA_WEARER_C, THE_PERSON, action_phrase, noun_name, verb_words
from actionmqa.toybench.world import Event, SourceVideo, World
from actionmqa.toybench.writers import hf_feature

# (verb, noun, start, stop): two videos with pauses of 0.4-3 s between actions.
SCRIPT_A = [
    ("open", "fridge", 1.0, 2.5),
    ("take", "plate", 3.0, 4.2),
    ("close", "fridge", 5.0, 6.0),
    ("open", "drawer", 8.0, 9.5),
    ("take", "knife", 10.0, 11.0),
    ("close", "drawer", 11.4, 12.6),
    ("put", "plate", 14.0, 15.5),
    ("wash", "knife", 16.0, 19.0),
]
SCRIPT_B = [
    ("turn-on", "tap", 0.6, 1.6),
    ("wash", "cup", 2.0, 4.0),
    ("turn-off", "tap", 4.5, 5.5),
    ("take", "cup", 6.5, 7.5),
    ("open", "cupboard", 9.0, 10.0),
]
COLOURS = {
    "fridge": "white",
    "plate": "white",
    "drawer": "green",
    "knife": "silver",
    "tap": "chrome",
    "cup": "red",
    "cupboard": "brown",
}


def video(video_id: str, script: list[tuple[str, str, float, float]], duration: float) -> SourceVideo:
    events = tuple(
        Event(f"{video_id}_{k}", video_id, start, stop, verb, noun, f"{verb} {noun}")
        for k, (verb, noun, start, stop) in enumerate(script)
    )
    return SourceVideo(video_id, video_id[:3], Path(f"{video_id}.MP4"), duration, 30.0, events)


@pytest.fixture
def world() -> World:
    videos = (video("P01_01", SCRIPT_A, 20.0), video("P02_01", SCRIPT_B, 11.0))
    actions = tuple(sorted({e.action for v in videos for e in v.events}))
    return World(Path("world"), "validation", videos, actions, COLOURS)


def clip_of(world: World, video_index: int, first: int, last: int, following: bool = True) -> Clip:
    """A clip showing events ``first..last`` of one video (times shifted so the clip starts at 0)."""
    events = world.videos[video_index].events
    shift = events[first].start - 0.2
    shown = tuple(Shown(e, e.start - shift, e.stop - shift) for e in events[first : last + 1])
    nxt = events[last + 1] if following and last + 1 < len(events) else None
    return Clip(pieces=(), events=shown, following=nxt)


def context(world: World, n_options: int, seed: int = 0) -> Context:
    return Context(world, THE_PERSON, n_options, np.random.default_rng(seed))


# -- clips ---------------------------------------------------------------------------------


def test_clip_windows_cut_in_pauses_and_show_whole_actions(world):
    for seed in range(20):
        clip = plan_clip(world, ClipShape(seconds=(4, 9)), np.random.default_rng(seed))
        (piece,) = clip.pieces
        events = piece.video.events
        shown = [s.event for s in clip.events]
        inside = [e for e in events if piece.start_sec <= e.start and e.stop <= piece.stop_sec]
        assert shown == inside
        # nothing is cut in half: every other action lies wholly outside the window
        for e in events:
            assert e in inside or e.stop <= piece.start_sec or e.start >= piece.stop_sec
        assert 4 <= clip.duration <= 9
        assert clip.events[0].start == pytest.approx(shown[0].start - piece.start_sec, abs=1e-3)


def test_concatenated_clip_rebases_times_onto_one_timeline(world):
    clip = plan_clip(world, ClipShape(seconds=(6, 14), pieces=2), np.random.default_rng(3))
    first, second = clip.pieces
    assert first.video.video_id != second.video.video_id
    starts = [s.start for s in clip.events]
    assert starts == sorted(starts)
    later = [s for s in clip.events if s.event.video_id == second.video.video_id]
    expected = first.n_frames / 30 + later[0].event.start - second.start_sec
    assert later[0].start == pytest.approx(expected, abs=1e-3)


def test_a_clip_never_shows_one_video_twice(world):
    with pytest.raises(InputError, match="3 windows needs 3 validation videos"):
        plan_clip(world, ClipShape(seconds=(6, 14), pieces=3), np.random.default_rng(0))


def test_reveal_next_clip_shows_the_next_action_after_the_bound(world):
    shape = ClipShape(seconds=(4, 9), bounded=True, reveal_next=True)
    for seed in range(10):
        clip = plan_clip(world, shape, np.random.default_rng(seed))
        (after,) = clip.after_bound
        assert after.event == clip.following
        start, end = clip.bound
        assert start <= clip.events[0].start and clip.events[-1].stop <= end < after.start <= clip.duration


# -- question builders -----------------------------------------------------------------------


def test_first_is_the_earliest_action_and_its_mirror_is_a_distractor(world):
    clip = clip_of(world, 0, 0, 3)
    q = ask(Kind.FIRST, clip, context(world, 4))
    assert q.answer_text == "opened the fridge"
    assert "closed the fridge" in q.options
    assert q.evidence == ("P01_01_0",)


def test_after_anchors_on_an_action_that_occurs_once(world):
    clip = clip_of(world, 0, 0, 6)
    for seed in range(10):
        q = ask(Kind.AFTER, clip, context(world, 4, seed))
        anchor, answer = q.evidence
        k = int(anchor.rsplit("_", 1)[1])
        assert answer == f"P01_01_{k + 1}"
        verb, noun, *_ = SCRIPT_A[k + 1]
        assert q.answer_text == action_phrase(verb, noun)
        assert verb_words(SCRIPT_A[k][0]).gerund in q.question


def test_next_asks_for_the_following_action_in_the_base_form(world):
    q = ask(Kind.NEXT, clip_of(world, 0, 0, 1), context(world, 3))
    assert q.question == "What will the person do next?"
    assert q.answer_text == "close the fridge"
    assert q.evidence == ("P01_01_1", "P01_01_2")
    assert ask(Kind.NEXT, clip_of(world, 0, 0, 1, following=False), context(world, 3)) is None


def test_count_counts_the_verb_and_offers_consecutive_numbers(world):
    clip = clip_of(world, 0, 0, 5)  # open x2, take x2, close x2
    for seed in range(8):
        q = ask(Kind.COUNT, clip, context(world, 4, seed))
        assert [int(o) for o in q.options] == list(range(int(q.options[0]), int(q.options[0]) + 4))
        assert int(q.answer_text) == len(q.evidence)
        assert int(q.answer_text) in (0, 2)


def test_touched_distractors_were_not_touched_in_the_clip(world):
    clip = clip_of(world, 0, 0, 2)  # open fridge, take plate, close fridge
    q = ask(Kind.TOUCHED, clip, context(world, 4, seed=1))
    touched = {"the fridge", "the plate"}
    assert q.answer_text in touched
    assert not touched & (set(q.options) - {q.answer_text})


def test_exists_says_yes_only_for_actions_the_clip_shows(world):
    clip = clip_of(world, 1, 0, 2)
    answers = set()
    for seed in range(12):
        q = ask(Kind.EXISTS, clip, context(world, 2, seed))
        assert q.options == ("yes", "no")
        answers.add(q.answer_text)
        assert (q.answer_text == "yes") == bool(q.evidence)
    assert answers == {"yes", "no"}
    assert ask(Kind.EXISTS, clip, context(world, 3)) is None


def test_colour_comes_from_the_scene_colours(world):
    q = ask(Kind.COLOUR, clip_of(world, 1, 3, 3), context(world, 3))
    assert q.question == "What colour was the cup that the person picked up?"
    assert q.answer_text == "red"
    assert len(set(q.options)) == 3


def test_direction_is_the_mirror_cue(world):
    take = ask(
        Kind.DIRECTION, clip_of(world, 1, 3, 4), Context(world, CAMERA_WEARER_C, 3, np.random.default_rng(0))
    )
    assert take.question == "Where did the cup go?"
    assert take.answer_text == "into c's hand"
    assert "onto the counter" in take.options
    # the plate is taken and put, the knife taken and washed: no object moves just once
    assert ask(Kind.DIRECTION, clip_of(world, 0, 1, 7), context(world, 3)) is None


def test_antonym_offers_the_mirrored_action(world):
    q = ask(Kind.ANTONYM, clip_of(world, 1, 4, 4), context(world, 3))
    assert q.answer_text == "opened the cupboard"
    assert "closed the cupboard" in q.options


# -- options, wording, formats -----------------------------------------------------------


def test_options_are_distinct_and_none_when_distractors_run_out():
    rng = np.random.default_rng(0)
    options, answer = choose_options("a", [["b"], ["c", "d", "a", "c"]], 4, rng)
    assert sorted(options) == ["a", "b", "c", "d"] and options[answer] == "a"
    assert choose_options("a", [["b"], ["a"]], 3, rng) is None
    positions = {choose_options("a", [["b", "c"]], 3, np.random.default_rng(s))[1] for s in range(20)}
    assert positions == {0, 1, 2}


def test_number_options_start_at_zero_at_the_lowest():
    for seed in range(10):
        options, answer = number_options(1, 4, np.random.default_rng(seed))
        assert options[0] in ("0", "1") and options[answer] == "1"


def test_wording():
    assert noun_name("board:chopping") == "chopping board"
    assert action_phrase("turn-on", "tap") == "turned on the tap"
    assert action_phrase("take", "plate", "base") == "pick up the plate"
    with pytest.raises(InputError, match="fly"):
        verb_words("fly")
    assert lettered(["x", "y"]) == ["A. x", "B. y"]


def test_clock_and_srt_read_back_through_the_videomme_adapter(tmp_path):
    assert clock(3725.5) == "01:02:05.500"
    assert clock(1.25, ",") == "00:00:01,250"
    path = tmp_path / "v.srt"
    path.write_text(srt_text([Line(0.5, 1.75, "open fridge"), Line(2.0, 3.0, "take plate")]))
    lines = parse_srt(path)
    assert [(x.start, x.end) for x in lines] == [(0.5, 1.75), (2.0, 3.0)]
    assert lines[1].text == '<font color="white" size=".72c">take plate</font>'


@pytest.mark.parametrize("form", ["clock", "timestamp"])
def test_lvb_subtitles_read_back_with_their_offset(tmp_path, form):
    import json

    path = tmp_path / "v_en.json"
    path.write_text(json.dumps(lvb_entries([Line(0.5, 1.75, "open fridge")], 30.25, form)))
    (line,) = parse_subtitles(path, offset=30.25, duration=10.0)
    assert (line.start, line.end, line.text) == (pytest.approx(0.5), pytest.approx(1.75), "open fridge")


def test_hf_features():
    import pyarrow as pa

    assert hf_feature(pa.float64()) == {"dtype": "float64", "_type": "Value"}
    assert hf_feature(pa.list_(pa.string())) == {
        "feature": {"dtype": "string", "_type": "Value"},
        "_type": "Sequence",
    }
