"""How questions and options name the world's classes: verb forms, noun names, who is acting.

Class keys are EK100's (``take``, ``turn-on``, ``board:chopping``); a question needs English
("What did c do right after picking up the plate?"), and each benchmark has its own way of
naming the camera wearer (EgoSchema's "c", Perception Test's "the person").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from actionmqa.errors import InputError


@dataclass(frozen=True)
class VerbWords:
    """A verb class in the forms questions need: "pick up", "picked up", "picking up", "pick something up"."""

    base: str
    past: str
    gerund: str
    something: str


#: The toy world's verb classes (EK100 keys). Only take/put move an object between hand and counter.
VERBS: dict[str, VerbWords] = {
    "take": VerbWords("pick up", "picked up", "picking up", "pick something up"),
    "put": VerbWords("put down", "put down", "putting down", "put something down"),
    "wash": VerbWords("wash", "washed", "washing", "wash something"),
    "open": VerbWords("open", "opened", "opening", "open something"),
    "close": VerbWords("close", "closed", "closing", "close something"),
    "turn-on": VerbWords("turn on", "turned on", "turning on", "turn something on"),
    "turn-off": VerbWords("turn off", "turned off", "turning off", "turn something off"),
    "cut": VerbWords("cut", "cut", "cutting", "cut something"),
    "pour": VerbWords("pour", "poured", "pouring", "pour something"),
    "mix": VerbWords("stir", "stirred", "stirring", "stir something"),
    "move": VerbWords("move", "moved", "moving", "move something"),
    "shake": VerbWords("shake", "shook", "shaking", "shake something"),
}

#: Verb pairs whose motions are each other's time reverse (the world's mirror pairs).
MIRRORS: dict[str, str] = {
    "take": "put",
    "put": "take",
    "open": "close",
    "close": "open",
    "turn-on": "turn-off",
    "turn-off": "turn-on",
}


def verb_words(key: str) -> VerbWords:
    if key not in VERBS:
        raise InputError(None, f"verb class {key!r} has no question wording (known: {sorted(VERBS)})")
    return VERBS[key]


def noun_name(key: str) -> str:
    """EK100 ``noun:modifier`` keys read modifier first: ``board:chopping`` -> "chopping board"."""
    head, _, modifier = key.partition(":")
    return f"{modifier} {head}" if modifier else head


Tense = Literal["past", "base"]


def action_phrase(verb: str, noun: str, tense: Tense = "past") -> str:
    """An option naming an action: "picked up the plate" (what happened), "pick up the plate" (what will)."""
    words = verb_words(verb)
    return f"{words.past if tense == 'past' else words.base} the {noun_name(noun)}"


@dataclass(frozen=True)
class Voice:
    """Who acts, as the benchmark says it: subject ("c") and possessive ("c's")."""

    subject: str
    possessive: str


CAMERA_WEARER_C = Voice("c", "c's")
THE_PERSON = Voice("the person", "the person's")
CAMERA_WEARER = Voice("the camera wearer", "the camera wearer's")
