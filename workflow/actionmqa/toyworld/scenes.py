"""First-person scene descriptions and question-answer pairs, written from the world's ground truth.

They stand in for the GPT-4o captions and open-ended QA of the LLaVAction SFT mixture (which the
authors never released) and are labelled as such (``source``): every statement is true of the
rendered clip by construction, which no teacher model can promise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from actionmqa.toyworld import sprites, vocab
from actionmqa.toyworld import vocab as v
from actionmqa.toyworld.script import TRAIN, VALIDATION, SegmentPlan, VideoPlan, WorldPlan

SOURCE = "toyworld ground truth (stands in for GPT-4o captions and QA)"

#: How each noun looks, for the description ("the red mug, a round cup with a small handle").
_FIXTURE_LOOKS: dict[int, tuple[str, str]] = {
    v.FRIDGE: ("white", "a tall fridge on the left"),
    v.CUPBOARD: ("brown", "a wooden wall cupboard"),
    v.DRAWER: ("green", "a drawer full of cutlery"),
    v.TAP: ("chrome", "a lever tap over a steel sink"),
    v.HOB: ("black", "a hob with two burners"),
    v.WATER: ("clear", "poured from a white jug"),
    v.OIL: ("golden", "poured from a green bottle"),
    v.PASTA: ("yellow", "cooking in a steel pot"),
}

#: What the acting hand does, per verb: {obj}, {hand}, {other_hand}, {where}, {target} are filled in.
_MOTIONS: dict[int, str] = {
    v.TAKE: "I reach out with my {hand} hand, grasp {obj} {where} and lift it up towards me",
    v.PUT: "I lower {obj} from my {hand} hand and set it down {where}",
    v.WASH: "I hold {obj} under the running tap in my {other_hand} hand and rub it with my {hand} hand",
    v.OPEN: "I reach for {obj} with my {hand} hand and open it",
    v.CLOSE: "I close {obj} with my {hand} hand",
    v.TURN_ON: "I turn on {obj} with my {hand} hand",
    v.TURN_OFF: "I turn off {obj} with my {hand} hand",
    v.CUT: "I hold {obj} on the chopping board with my {other_hand} hand and cut it into slices with a knife",
    v.POUR: "I tilt the container over {target} with my {hand} hand and pour {obj} until the level rises",
    v.MIX: "I stir {obj} round and round with a spoon in my {hand} hand",
    v.MOVE: "I grab the handle of {obj} with my {hand} hand and slide it {direction} along the counter",
    v.SHAKE: "I lift {obj} by its handle with my {hand} hand and shake it from side to side",
}

#: What changes in the scene, for verbs whose effect is not the hand's motion itself.
_EFFECTS: dict[tuple[int, int], str] = {
    (v.OPEN, v.FRIDGE): "The fridge door swings open and the lit shelves appear.",
    (v.CLOSE, v.FRIDGE): "The fridge door swings shut and hides the shelves.",
    (v.OPEN, v.CUPBOARD): "The cupboard door swings open and the shelves inside appear.",
    (v.CLOSE, v.CUPBOARD): "The cupboard door swings shut.",
    (v.OPEN, v.DRAWER): "The drawer slides out towards me and the cutlery inside appears.",
    (v.CLOSE, v.DRAWER): "The drawer slides back in and hides the cutlery.",
    (v.OPEN, v.JAR): "My other hand holds the jar still while I twist the red lid off and set it aside.",
    (v.CLOSE, v.JAR): "My other hand holds the jar still while I put the red lid back on and twist it tight.",
    (v.TURN_ON, v.TAP): "I push the lever and water starts to run into the sink.",
    (v.TURN_OFF, v.TAP): "I push the lever back and the water stops running.",
    (v.TURN_ON, v.HOB): "I turn the knob and the burners start to glow orange.",
    (v.TURN_OFF, v.HOB): "I turn the knob back and the burners stop glowing.",
}


def hand_word(side: int) -> str:
    return "right" if side > 0 else "left"


def place_words(x: float, y: float) -> str:
    """Where on the counter a point is, as a person would say it ("on the far left")."""
    depth = "far " if y < 0.45 else "near " if y > 0.55 else ""
    across = "left" if x < 0.43 else "right" if x > 0.57 else "middle"
    if across == "middle":
        return f"in the {depth}middle of the counter" if depth else "in the middle of the counter"
    return f"on the {depth}{across} of the counter"


def looks(noun: int) -> tuple[str, str]:
    """(colour word, shape words) of a noun."""
    if noun in sprites.OBJECTS:
        sprite = sprites.OBJECTS[noun]
        return sprite.colour_word, sprite.shape_words
    return _FIXTURE_LOOKS[noun]


def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def clutter_words(video: VideoPlan) -> str:
    return listing([item.sprite.shape_words for item in video.clutter])


def describe(segment: SegmentPlan, video: VideoPlan) -> str:
    """A first-person caption: the action, the object's look and place, and the rest of the counter."""
    action, params, words = segment.action, segment.params, segment.wording
    colour, shape = looks(action.noun)
    target = f"the {vocab.NOUNS[action.other].forms[0].words}" if action.other is not None else ""
    motion = _MOTIONS[action.verb].format(
        obj=f"the {colour} {words.noun.words}",
        hand=hand_word(params.side),
        other_hand=hand_word(-params.side),
        where=place_words(*params.spot),
        target=target,
        direction="to the right" if params.travel > 0 else "to the left",
    )
    sentences = [motion + ".", f"The {words.noun.words} is {shape}."]
    if (action.verb, action.noun) in _EFFECTS:
        sentences.append(_EFFECTS[action.verb, action.noun])
    sentences.append(f"On the counter there is also {clutter_words(video)}.")
    return " ".join(sentences)


def questions(segment: SegmentPlan, video: VideoPlan) -> list[dict[str, str]]:
    """Four QA pairs about the clip: the action, the object's colour, the acting hand, the clutter."""
    words = segment.wording
    colour, _ = looks(segment.action.noun)
    return [
        {"question": "What am I doing in this clip?", "answer": f"I {words.narration}."},
        {"question": f"What colour is the {words.noun.words}?", "answer": f"It is {colour}."},
        {"question": "Which hand do I mainly use?", "answer": f"My {hand_word(segment.params.side)} hand."},
        {"question": "What else is on the counter?", "answer": clutter_words(video).capitalize() + "."},
    ]


def scene_record(segment: SegmentPlan, video: VideoPlan) -> dict[str, Any]:
    action = segment.action
    return {
        "narration_id": segment.narration_id,
        "split": segment.split,
        "participant_id": segment.participant_id,
        "video_id": segment.video_id,
        "start_sec": segment.start_sec,
        "stop_sec": segment.stop_sec,
        "narration": segment.wording.narration,
        "verb": vocab.VERBS[action.verb].key,
        "verb_class": action.verb,
        "noun": vocab.NOUNS[action.noun].key,
        "noun_class": action.noun,
        "description": describe(segment, video),
        "qa": questions(segment, video),
        "source": SOURCE,
    }


def scene_records(plan: WorldPlan) -> Iterator[dict[str, Any]]:
    """All segments' records, train then validation, each in narration_id string order."""
    for split in (TRAIN, VALIDATION):
        pairs = [(s, video) for video in plan.videos if video.split == split for s in video.segments]
        for segment, video in sorted(pairs, key=lambda pair: pair[0].narration_id):
            yield scene_record(segment, video)
