"""The question model shared by the five toy benchmarks, and one builder per kind of question.

Every builder reads only a clip's shown events (and, for "what next", the action that follows
them) plus the world's class pools, and returns ``None`` when the clip cannot support an
unambiguous question of its kind (no take/put for a direction question, an action that occurs
twice for "right after X"). ``evidence`` names the segments the answer rests on, so the answer
can be checked against the annotation CSV.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from actionmqa.toybench.clips import Clip
from actionmqa.toybench.options import choose_options, number_options
from actionmqa.toybench.wording import MIRRORS, Tense, Voice, action_phrase, noun_name, verb_words
from actionmqa.toybench.world import Event, World

T = TypeVar("T")


class Kind(str, enum.Enum):
    """What a question tests (DESIGN: order, counting, existence, direction, what happens next)."""

    FIRST = "first"
    AFTER = "after"
    NEXT = "next"
    COUNT = "count"
    TOUCHED = "touched"
    EXISTS = "exists"
    COLOUR = "colour"
    DIRECTION = "direction"
    ANTONYM = "antonym"


@dataclass(frozen=True)
class ToyQuestion:
    """One multiple-choice question with its answer and the segments that prove it."""

    kind: Kind
    question: str
    options: tuple[str, ...]
    answer: int
    evidence: tuple[str, ...]

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]


@dataclass(frozen=True)
class Context:
    """What every builder needs besides the clip: the world's pools, the voice, the option count."""

    world: World
    voice: Voice
    n_options: int
    rng: np.random.Generator

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.integers(len(items)))]

    def world_actions(self, tense: Tense = "past") -> list[str]:
        return [action_phrase(*a, tense) for a in self.world.actions]


Builder = Callable[[Clip, Context], "ToyQuestion | None"]

#: Where a moved object can go; only the first two happen in the toy kitchen (take, put).
INTO_HAND, ONTO_COUNTER = "into {possessive} hand", "onto the counter"
OTHER_PLACES = ("into the sink", "into the drawer", "into the cupboard", "into the fridge")
MOVES = {"take": INTO_HAND, "put": ONTO_COUNTER}


def _events(clip: Clip) -> list[Event]:
    return [shown.event for shown in clip.events]


def _mirror(action: tuple[str, str], tense: Tense = "past") -> list[str]:
    verb, noun = action
    return [action_phrase(MIRRORS[verb], noun, tense)] if verb in MIRRORS else []


def _make(
    kind: Kind, text: str, correct: str, tiers: list[list[str]], evidence: list[Event], ctx: Context
) -> ToyQuestion | None:
    chosen = choose_options(correct, tiers, ctx.n_options, ctx.rng)
    if chosen is None:
        return None
    options, answer = chosen
    return ToyQuestion(kind, text, options, answer, tuple(e.narration_id for e in evidence))


def ask_first(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """Order: the first action of the clip, against its mirror and the clip's later actions."""
    events = _events(clip)
    if len(events) < 2:
        return None
    first = events[0]
    later = [action_phrase(*e.action) for e in events[1:]]
    tiers = [_mirror(first.action), later, ctx.world_actions()]
    text = f"What did {ctx.voice.subject} do first?"
    return _make(Kind.FIRST, text, action_phrase(*first.action), tiers, [first], ctx)


def ask_after(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """Order / what happens next: the action right after one that occurs once in the clip."""
    events = _events(clip)
    counts = Counter(e.action for e in events)
    anchors = [k for k in range(len(events) - 1) if counts[events[k].action] == 1]
    if not anchors:
        return None
    k = ctx.pick(anchors)
    anchor, answer = events[k], events[k + 1]
    shown = [action_phrase(*e.action) for e in events if e.action not in (anchor.action, answer.action)]
    tiers = [_mirror(answer.action), shown, ctx.world_actions()]
    words = verb_words(anchor.verb)
    text = f"What did {ctx.voice.subject} do right after {words.gerund} the {noun_name(anchor.noun)}?"
    return _make(Kind.AFTER, text, action_phrase(*answer.action), tiers, [anchor, answer], ctx)


def ask_next(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """What happens next: the action that follows the clip (or its bound)."""
    events = _events(clip)
    if clip.following is None or not events:
        return None
    last, answer = events[-1], clip.following
    shown = [action_phrase(*e.action, "base") for e in events]
    tiers = [_mirror(answer.action, "base"), shown, ctx.world_actions("base")]
    text = f"What will {ctx.voice.subject} do next?"
    return _make(Kind.NEXT, text, action_phrase(*answer.action, "base"), tiers, [last, answer], ctx)


def ask_count(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """Counting: how often one verb happens; mostly a verb the clip shows, sometimes one it does not (0)."""
    events = _events(clip)
    present = sorted({e.verb for e in events})
    absent = [v for v in ctx.world.verbs if v not in present]
    verb = ctx.pick(present if ctx.rng.random() < 0.8 or not absent else absent)
    hits = [e for e in events if e.verb == verb]
    options, answer = number_options(len(hits), ctx.n_options, ctx.rng)
    text = f"How many times did {ctx.voice.subject} {verb_words(verb).something}?"
    return ToyQuestion(Kind.COUNT, text, options, answer, tuple(e.narration_id for e in hits))


def ask_touched(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """Object recognition: the one object a verb was done to; distractors were not touched at all."""
    events = _events(clip)
    touched = {e.noun for e in events}
    objects: dict[str, set[str]] = {}
    for e in events:
        objects.setdefault(e.verb, set()).add(e.noun)
    verbs = sorted(v for v, nouns in objects.items() if len(nouns) == 1)
    if not verbs:
        return None
    verb = ctx.pick(verbs)
    (noun,) = objects[verb]
    same_verb = [f"the {noun_name(n)}" for v, n in ctx.world.actions if v == verb and n not in touched]
    others = [f"the {noun_name(n)}" for n in ctx.world.nouns if n not in touched]
    text = f"Which object did {ctx.voice.subject} {verb_words(verb).base}?"
    evidence = [e for e in events if e.verb == verb]
    return _make(Kind.TOUCHED, text, f"the {noun_name(noun)}", [same_verb, others], evidence, ctx)


def ask_exists(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """Existence, yes/no: did an action happen? "No" cases share a verb or noun with one that did."""
    if ctx.n_options != 2:
        return None
    events = _events(clip)
    shown = sorted({e.action for e in events})
    absent = [a for a in ctx.world.actions if a not in shown]
    near = [a for a in absent if any(a[0] == s[0] or a[1] == s[1] for s in shown)]
    happened = ctx.rng.random() < 0.5 or not (near or absent)
    action = ctx.pick(shown if happened else near or absent)
    verb, noun = action
    text = f"Did {ctx.voice.subject} {verb_words(verb).base} the {noun_name(noun)}?"
    evidence = tuple(e.narration_id for e in events if e.action == action)
    return ToyQuestion(Kind.EXISTS, text, ("yes", "no"), 0 if happened else 1, evidence)


def ask_colour(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """Attribute: the colour of an object an action was done to (colours from the scene records)."""
    events = _events(clip)
    event = ctx.pick(events)
    colour = ctx.world.colours[event.noun]
    pool = sorted(set(ctx.world.colours.values()) - {colour})
    words = verb_words(event.verb)
    text = f"What colour was the {noun_name(event.noun)} that {ctx.voice.subject} {words.past}?"
    return _make(Kind.COLOUR, text, colour, [pool], [event], ctx)


def _single_mentions(events: list[Event], verbs: set[str]) -> list[Event]:
    """Events with one of ``verbs`` whose object no other event of the clip involves."""
    nouns = Counter(e.noun for e in events)
    return [e for e in events if e.verb in verbs and nouns[e.noun] == 1]


def ask_direction(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """The mirror-verb cue as a place: did the object go into the hand (take) or onto the counter (put)?"""
    candidates = _single_mentions(_events(clip), set(MOVES))
    if not candidates:
        return None
    event = ctx.pick(candidates)
    possessive = ctx.voice.possessive
    correct, mirrored = (MOVES[v].format(possessive=possessive) for v in (event.verb, MIRRORS[event.verb]))
    text = f"Where did the {noun_name(event.noun)} go?"
    return _make(Kind.DIRECTION, text, correct, [[mirrored], list(OTHER_PLACES)], [event], ctx)


def ask_antonym(clip: Clip, ctx: Context) -> ToyQuestion | None:
    """The mirror-verb cue as an action: "opened the jar" against "closed the jar"."""
    candidates = _single_mentions(_events(clip), set(MIRRORS))
    if not candidates:
        return None
    event = ctx.pick(candidates)
    same_noun = [action_phrase(*a) for a in ctx.world.actions if a[1] == event.noun]
    text = f"What did {ctx.voice.subject} do with the {noun_name(event.noun)}?"
    tiers = [_mirror(event.action), same_noun, ctx.world_actions()]
    return _make(Kind.ANTONYM, text, action_phrase(*event.action), tiers, [event], ctx)


BUILDERS: dict[Kind, Builder] = {
    Kind.FIRST: ask_first,
    Kind.AFTER: ask_after,
    Kind.NEXT: ask_next,
    Kind.COUNT: ask_count,
    Kind.TOUCHED: ask_touched,
    Kind.EXISTS: ask_exists,
    Kind.COLOUR: ask_colour,
    Kind.DIRECTION: ask_direction,
    Kind.ANTONYM: ask_antonym,
}


def ask(kind: Kind, clip: Clip, ctx: Context) -> ToyQuestion | None:
    """A question of ``kind`` about ``clip``, or ``None`` when the clip cannot support one."""
    return BUILDERS[kind](clip, ctx)
