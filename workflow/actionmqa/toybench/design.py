"""A toy benchmark's shape, and drawing its clips and questions from the world.

A benchmark is a list of clip groups (Video-MME's duration classes, MVBench's tasks): each
says how many clips of which length, which kinds of question, how many options and how many
questions per clip. Every draw is ``rng_for(seed, benchmark, group, clip, attempt, purpose)``,
so one clip's content never depends on how many others were drawn before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.errors import InputError
from actionmqa.seeding import rng_for
from actionmqa.toybench.clips import Clip, ClipShape, plan_clip
from actionmqa.toybench.questions import Context, Kind, ToyQuestion, ask
from actionmqa.toybench.wording import Voice
from actionmqa.toybench.world import World

#: Clips redrawn before giving up on asking a group's questions.
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class ClipGroup:
    """``n_clips`` clips of ``shape``, each asked ``per_clip`` questions of distinct ``kinds``.

    Kinds are tried in a rotation that starts one further for each clip, so a group's
    questions spread over its kinds; ``n_options`` lists the option counts drawn from.
    """

    label: str
    n_clips: int
    shape: ClipShape
    kinds: tuple[Kind, ...]
    n_options: tuple[int, ...]
    per_clip: int = 1


@dataclass(frozen=True)
class Design:
    voice: Voice
    groups: tuple[ClipGroup, ...]

    @property
    def n_questions(self) -> int:
        return sum(g.n_clips * g.per_clip for g in self.groups)


@dataclass(frozen=True)
class Item:
    """One benchmark video and its questions; ``index`` runs over the whole benchmark."""

    group: ClipGroup
    index: int
    clip: Clip
    questions: tuple[ToyQuestion, ...]


def build_items(world: World, design: Design, seed: int, benchmark: str) -> list[Item]:
    """Every group's clips with their questions, in group order."""
    items: list[Item] = []
    for group in design.groups:
        for number in range(group.n_clips):
            items.append(
                _item(world, design.voice, group, seed, (benchmark, group.label, number), len(items))
            )
    return items


def _item(
    world: World, voice: Voice, group: ClipGroup, seed: int, uid: tuple[str, str, int], index: int
) -> Item:
    for attempt in range(MAX_ATTEMPTS):
        key = (seed, *uid, attempt)
        clip = plan_clip(world, group.shape, rng_for(*key, "clip"))
        questions = _ask_all(clip, world, voice, group, key, rotation=uid[-1])
        if len(questions) == group.per_clip:
            return Item(group, index, clip, tuple(questions))
    raise InputError(
        world.root, f"{uid[0]} {group.label}: no clip supports {group.per_clip} questions of {group.kinds}"
    )


def _ask_all(
    clip: Clip, world: World, voice: Voice, group: ClipGroup, key: tuple[object, ...], rotation: int
) -> list[ToyQuestion]:
    start = rotation % len(group.kinds)
    questions: list[ToyQuestion] = []
    for kind in group.kinds[start:] + group.kinds[:start]:
        choices = rng_for(*key, kind.value, "n_options")
        n_options = group.n_options[int(choices.integers(len(group.n_options)))]
        question = ask(kind, clip, Context(world, voice, n_options, rng_for(*key, kind.value, "question")))
        if question is not None:
            questions.append(question)
        if len(questions) == group.per_clip:
            break
    return questions
