"""SFT task pieces: train-side hard rule, prior actions, temporal padding, QA pairs, the mixture."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from actionmqa.ek100.labels import LabelMap
from actionmqa.errors import InputError
from actionmqa.mqa.distractors import ClassChoice
from actionmqa.mqa.options import OptionTexter, TextMode
from actionmqa.seeding import rng_for
from actionmqa.sft.clip_texts import SCENES_TEACHER, ClipText, ClipTexts, QAPair
from actionmqa.sft.distractors import train_hard_classes
from actionmqa.sft.mixture import MixtureConfig, keeps, load_mixture
from actionmqa.sft.prior import PriorActions, prior_actions_lookup
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.caption import Caption
from actionmqa.sft.tasks.mqa import PRIOR_TAG, MQAAsker
from actionmqa.sft.tasks.open_qa import OpenQA
from actionmqa.sft.tasks.temporal_detection import TemporalDetection, padded_span

RANKED = [f"{verb}:{noun}" for verb in range(3) for noun in range(5)]  # 15 classes, best first


def segment(
    narration_id: str, start: float, stop: float, narration: str = "take cup", vn: str = "0:0"
) -> Segment:
    video_id = narration_id.rsplit("_", 1)[0]
    participant_id = video_id.split("_")[0]
    uid = f"{participant_id}-{video_id}_{start:.2f}_{stop:.2f}"
    verb, noun = (int(part) for part in vn.split(":"))
    return Segment(
        0, uid, uid, narration_id, participant_id, video_id, start, stop, narration, vn, verb, noun
    )


# -- train-side hard distractors ---------------------------------------------------------------


@pytest.mark.parametrize("gt", ["0:0", "1:2", "2:4"])  # rank 1, rank 8 (inside the top 10), rank 15 (outside)
def test_train_hard_rule_draws_only_from_the_top_2k_and_never_the_gt(gt: str) -> None:
    top10 = set(RANKED[:10]) - {gt}
    seen: set[str] = set()
    for draw in range(300):
        choice = train_hard_classes(RANKED, gt, 5, rng_for(0, f"clip{draw}", "distractors"))
        assert choice.option_vns[0] == gt
        distractors = choice.option_vns[1:]
        assert len(distractors) == 4 and len(set(distractors)) == 4
        assert set(distractors) <= top10
        assert choice.gt_injected == (gt not in RANKED[:10])
        seen.update(distractors)
    assert seen == top10  # every top-10 non-GT class turns up, and nothing else


def test_train_hard_rule_is_a_function_of_its_rng() -> None:
    first = train_hard_classes(RANKED, "0:0", 5, rng_for(1, "u", "distractors"))
    again = train_hard_classes(RANKED, "0:0", 5, rng_for(1, "u", "distractors"))
    assert first == again
    assert first.option_vns == ("0:0", "1:0", "1:2", "1:4", "0:3")


def test_train_hard_rule_needs_k_minus_1_candidates() -> None:
    with pytest.raises(ValueError, match="3 non-ground-truth classes in the top 10 for 5 options"):
        train_hard_classes(["0:0", "0:1", "0:2", "0:3"], "0:0", 5, np.random.default_rng(0))


# -- prior actions -----------------------------------------------------------------------------


def test_prior_lookup_on_gaps_of_2_and_4_seconds_and_an_overlap() -> None:
    video = [
        segment("P01_01_0", 0.0, 1.0, "take cup"),
        segment("P01_01_1", 3.0, 4.0, "wash cup"),  # gap 2 s
        segment("P01_01_2", 8.0, 9.0, "put cup"),  # gap 4 s: breaks the chain
        segment("P01_01_3", 8.5, 10.0, "open tap"),  # overlap
        segment("P01_01_4", 13.0, 14.0, "close tap"),  # gap 3 s exactly: still close
        segment("P01_01_5", 17.01, 18.0, "dry cup"),  # gap 3.01 s
    ]
    assert prior_actions_lookup(list(reversed(video))) == {
        "P01_01_4": PriorActions("put cup", 5.0, "open tap", 4.5),
    }
    assert prior_actions_lookup(video, max_gap_sec=4.0) == {
        "P01_01_2": PriorActions("take cup", 8.0, "wash cup", 5.0),
        "P01_01_3": PriorActions("wash cup", 5.5, "put cup", 0.5),
        "P01_01_4": PriorActions("put cup", 5.0, "open tap", 4.5),
        "P01_01_5": PriorActions("open tap", 8.51, "close tap", 4.01),
    }


def test_prior_lookup_orders_by_end_time_and_keeps_videos_apart() -> None:
    segments = [
        segment("P01_01_0", 0.0, 5.0, "long action"),  # ends last
        segment("P01_01_1", 1.0, 2.0, "short one"),
        segment("P01_01_2", 2.5, 3.0, "short two"),
        segment("P01_02_0", 0.0, 1.0, "other video"),
        segment("P01_02_1", 1.5, 2.0, "other video two"),
    ]
    assert prior_actions_lookup(segments) == {
        "P01_01_0": PriorActions("short one", -1.0, "short two", -2.5),
    }


def labels() -> LabelMap:
    return LabelMap(
        verbs={0: "take", 1: "put", 2: "wash"},
        nouns={0: "cup", 1: "plate", 2: "knife"},
        actions=tuple(sorted(f"{v}:{n}" for v in range(3) for n in range(3))),
    )


def test_prior_gate_takes_about_30_percent_of_eligible_samples() -> None:
    texter = OptionTexter(TextMode.LABEL, labels(), {}, seed=0)
    clips = [segment(f"P01_01_{i}", float(i), i + 0.5) for i in range(2000)]
    history = PriorActions("take plate", 4.0, "wash plate", 2.0)
    asker = MQAAsker(texter, {clip.narration_id: history for clip in clips[:1800]}, 0.3, seed=0)
    classes = ("0:0", "1:1", "2:2")
    tagged = [PRIOR_TAG in asker.ask(clip, "hard_mqa_avion", _choice(classes)).tags for clip in clips]
    rate = sum(tagged[:1800]) / 1800
    assert 0.25 < rate < 0.35  # 0.3 +- 4.6 standard deviations
    assert not any(tagged[1800:])  # no predecessors, no variant


def _choice(classes: tuple[str, ...]) -> ClassChoice:
    return ClassChoice(classes)


def test_prior_variant_prompt_and_answer() -> None:
    texter = OptionTexter(TextMode.LABEL, labels(), {}, seed=0)
    clip = segment("P01_01_7", 10.0, 11.0, "take cup")
    asker = MQAAsker(texter, {"P01_01_7": PriorActions("take plate", 4.0, "wash plate", 2.25)}, 1.0, seed=0)
    sample = asker.ask(clip, "random_mqa", _choice(("0:0", "1:1", "2:2")))
    assert sample.prompt.endswith(
        "\n4.0 seconds ago, you started an action take plate. 2.25 seconds ago, you started an action "
        "wash plate. What action are you currently performing? Here are the options of actions you can "
        "select:\nA. wash knife, B. put plate, C. take cup"
    )
    assert (sample.answer, sample.tags, sample.question_type) == (
        "C. take cup",
        (PRIOR_TAG,),
        "mc_GT_random_narration",
    )


# -- temporal detection ------------------------------------------------------------------------

_ANSWER = re.compile(r"^(\d+(?:\.\d{1,2})?): (\d+(?:\.\d{1,2})?)$")


@pytest.mark.parametrize("delta", [3.0, 5.0])
def test_temporal_padding_bounds_and_answer(delta: float) -> None:
    rng = np.random.default_rng(1)
    task = TemporalDetection(delta_sec=delta, fraction=1.0, seed=0)
    clipped = 0
    for i in range(500):
        start = round(float(rng.uniform(0.0, 8.0)), 2)
        stop = round(start + float(rng.uniform(0.2, 6.0)), 2)
        (sample,) = task.samples(segment(f"P01_01_{i}", start, stop))
        padded_start, padded_stop = sample.start_sec, sample.stop_sec
        assert padded_start <= start and padded_stop >= stop
        assert padded_start >= 0.0
        if padded_start > 0.0:
            assert padded_stop - padded_start == pytest.approx(stop - start + delta, abs=0.011)
        else:
            clipped += 1
            assert padded_stop - stop <= delta + 0.005
        rel_start, rel_end = (float(x) for x in _ANSWER.fullmatch(sample.answer).groups())
        assert rel_start == pytest.approx(start - padded_start, abs=1e-9)
        assert rel_end == pytest.approx(stop - padded_start, abs=1e-9)
        assert rel_end - rel_start == pytest.approx(stop - start, abs=0.011)
        assert sample.prompt.startswith("The provided video contains an action 'take cup' that lasts ")
    assert 0 < clipped < 500


def test_padded_span_splits_delta_at_alpha() -> None:
    assert padded_span(10.0, 12.0, 3.0, 0.25) == (9.25, 14.25)
    assert padded_span(1.0, 2.0, 3.0, 0.5) == (0.0, 3.5)  # start clipped at 0, end padding unchanged
    assert padded_span(10.0, 12.0, 5.0, 0.0) == (10.0, 17.0)


# -- open QA -----------------------------------------------------------------------------------


def clip_texts(n_pairs: int) -> ClipTexts:
    pairs = tuple(QAPair(question=f"q{i}?", answer=f"a{i}.") for i in range(n_pairs))
    text = ClipText("I take the cup.", pairs, SCENES_TEACHER, "P01_01")
    return ClipTexts(Path("scenes.jsonl"), {f"P01_01_{i}": text for i in range(200)})


def test_open_qa_keeps_all_pairs_or_draws_some_in_order() -> None:
    clip = segment("P01_01_0", 1.0, 2.0)
    everything = OpenQA(clip_texts(3), pairs_per_clip=3, fraction=1.0, seed=0).samples(clip)
    assert [(s.prompt, s.answer, s.part) for s in everything] == [
        ("q0?", "a0.", 0),
        ("q1?", "a1.", 1),
        ("q2?", "a2.", 2),
    ]
    one = OpenQA(clip_texts(3), pairs_per_clip=1, fraction=1.0, seed=0)
    picks = [one.samples(segment(f"P01_01_{i}", i, i + 1.0))[0].part for i in range(200)]
    assert set(picks) == {0, 1, 2}  # upstream's one random pair of three
    two = OpenQA(clip_texts(4), pairs_per_clip=2, fraction=1.0, seed=0).samples(clip)
    assert len(two) == 2 and two[0].part < two[1].part


# -- captions ----------------------------------------------------------------------------------


def test_captions_are_asked_with_the_recipes_prompt_or_a_general_one(tmp_path: Path) -> None:
    clip = segment("P01_01_0", 1.0, 2.0)
    recipe = Caption(clip_texts(1), fraction=1.0).samples(clip)
    general = Caption(clip_texts(1), fraction=1.0, prompt="general").samples(clip)
    # upstream's gpt-gt-reason prompt, spaces as it writes them (spec/llavaction.md §2.1)
    assert [s.prompt for s in recipe] == [
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing?  Describe in details what you "
        "see from the video frames. You must talk in the first person perspective. Try to focus on "
        "what you are doing. "
    ]
    assert [s.prompt for s in general] == [
        "Describe in detail what you do in this video, in the first person."
    ]
    assert [(s.answer, s.question_type) for s in recipe + general] == [
        ("I take the cup.", "gpt-gt-reason")
    ] * 2
    path = tmp_path / "mixture.yaml"
    path.write_text("caption: {fraction: 1.0, prompt: generic}\n")
    with pytest.raises(InputError, match=r"key 'caption\.prompt'"):
        load_mixture(path)


def test_the_toy_base_mixture_asks_for_captions_in_general_words() -> None:
    config = Path(__file__).parents[1] / "config" / "sft"
    assert load_mixture(config / "toy_base.yaml").caption.prompt == "general"
    assert load_mixture(config / "toy.yaml").caption.prompt == "llavaction"


# -- mixture -----------------------------------------------------------------------------------


def test_default_mixture_is_the_papers() -> None:
    mixture = MixtureConfig()
    assert mixture.options == 5
    assert mixture.random_mqa.fraction == 0.0
    assert (mixture.prior_actions.fraction, mixture.prior_actions.max_gap_sec) == (0.3, 3.0)
    assert mixture.temporal_detection.delta_sec == 3.0
    assert mixture.open_qa.pairs_per_clip == 3
    assert all(
        share.fraction == 1.0
        for share in (mixture.hard_mqa, mixture.direct_narration, mixture.caption, mixture.open_qa)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("captions: {fraction: 1.0}\n", r"key 'captions': unknown key"),
        ("temporal_detection: {delta: 5}\n", r"key 'temporal_detection\.delta': unknown key"),
        (
            "direct_narration: {fraction: 1.5}\n",
            r"key 'direct_narration\.fraction': .*less than or equal to 1",
        ),
        ("options: 30\n", r"key 'options': .*less than or equal to 26"),
        (
            "replay: {files: [a.json, a.json]}\n",
            r"key 'replay\.files': .*listed more than once: \['a\.json'\]",
        ),
        ("- 1\n", r"key '\(top level\)'"),
    ],
)
def test_bad_mixtures_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mixture.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_mixture(path)


def test_json_mixture_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "mixture.json"
    path.write_text('{"open_qa": {"pairs_per_clip": 1}, "temporal_detection": {"delta_sec": 5}}')
    mixture = load_mixture(path)
    assert (mixture.open_qa.pairs_per_clip, mixture.temporal_detection.delta_sec) == (1, 5.0)
    path.write_text("")
    assert load_mixture(path) == MixtureConfig()


def test_keep_draws_hit_the_fraction() -> None:
    kept = sum(keeps(0.3, 0, f"clip{i}", "direct_narration") for i in range(4000))
    assert 0.27 < kept / 4000 < 0.33
    assert all(keeps(1.0, 0, f"clip{i}", "caption") for i in range(100))
    assert not any(keeps(0.0, 0, f"clip{i}", "caption") for i in range(100))
