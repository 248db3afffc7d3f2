"""The toy kitchen's vocabulary: real EK100 classes, the actions built from them, and their wording.

Ids, keys and categories are copied from the real ``EPIC_100_verb_classes.csv`` and
``EPIC_100_noun_classes.csv``, so label maps, 97/300-way heads and class-id checks behave exactly
as on EK100. Every verb and noun *form* below (``pick-up``, ``cup:coffee``) also occurs in the
real class's ``instances`` list; the world's class files list only the forms the world uses.
Look-alike nouns (cup / glass, knife / spoon / fork, plate / bowl, pan / pot) and mirror verbs
(take / put, open / close, turn-on / turn-off) are here so that a specialist's top-k holds
genuinely confusable classes, as on EK100.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Form:
    """One way the annotators wrote a class: the parsed form (CSV ``verb``/``noun``) and its words.

    For verbs, ``words`` is a template with ``{noun}`` and optionally ``{other}`` (a second noun,
    which then appears in ``all_nouns``); for nouns it is the noun phrase ("coffee cup").
    """

    parsed: str
    words: str


@dataclass(frozen=True)
class ClassInfo:
    """One EK100 verb or noun class as the world uses it; ``forms`` are most common first."""

    id: int
    key: str
    category: str
    forms: tuple[Form, ...]


@dataclass(frozen=True)
class Action:
    """A verb:noun class pair of the world.

    ``rank`` orders action *groups* by frequency (Zipf); a mirror pair shares its rank so that
    the label prior cannot tell take from put. ``other`` is the noun a verb's ``{other}`` slot
    names (the counter a cup is put on, the pot water is poured into), which then appears in
    ``all_nouns`` as in EK100's multi-noun rows.
    """

    verb: int
    noun: int
    rank: int
    other: int | None = None

    @property
    def vn(self) -> str:
        return f"{self.verb}:{self.noun}"


def _forms(*specs: str) -> tuple[Form, ...]:
    """``"pick-up = pick up {noun}"`` -> ``Form("pick-up", "pick up {noun}")``; bare forms are their words."""
    pairs = (spec.split(" = ") if " = " in spec else (spec, spec) for spec in specs)
    return tuple(Form(parsed, words) for parsed, words in pairs)


def _table(*rows: tuple[int, str, str, tuple[Form, ...]]) -> dict[int, ClassInfo]:
    return {row[0]: ClassInfo(*row) for row in rows}


# fmt: off
# Verb ids (EPIC_100_verb_classes.csv).
TAKE, PUT, WASH, OPEN, CLOSE, TURN_ON = 0, 1, 2, 3, 4, 6
CUT, TURN_OFF, POUR, MIX, MOVE, SHAKE = 7, 8, 9, 10, 11, 15
# Noun ids (EPIC_100_noun_classes.csv).
TAP, SPOON, PLATE, CUPBOARD, KNIFE, PAN, BOWL, DRAWER = 0, 1, 2, 3, 4, 5, 7, 8
GLASS, FRIDGE, CUP, FORK, ONION, BOARD, HOB, WATER = 10, 12, 13, 14, 16, 18, 24, 27
POT, POTATO, OIL, JAR, TOP, PASTA, SINK = 29, 30, 31, 40, 42, 45, 63

VERBS: dict[int, ClassInfo] = _table(
    (TAKE, "take", "retrieve", _forms(
        "take = take {noun}", "pick-up = pick up {noun}", "take-from = take {noun} from {other}",
        "get = get {noun}", "grab = grab {noun}", "pick-up = pick {noun} up")),
    (PUT, "put", "leave", _forms(
        "put-down = put down {noun}", "put = put {noun}", "put-on = put {noun} on {other}",
        "place = place {noun}", "put-down = put {noun} down", "place-on = place {noun} on {other}",
        "put-back = put back {noun}")),
    (WASH, "wash", "clean", _forms(
        "wash = wash {noun}", "rinse = rinse {noun}", "wash-in = wash {noun} in {other}",
        "clean = clean {noun}", "rinse-in = rinse {noun} in {other}", "wash-up = wash up {noun}")),
    (OPEN, "open", "access", _forms("open = open {noun}", "open-up = open up {noun}")),
    (CLOSE, "close", "block", _forms("close = close {noun}", "shut = shut {noun}")),
    (TURN_ON, "turn-on", "access", _forms(
        "turn-on = turn on {noun}", "turn-on = turn {noun} on", "switch-on = switch on {noun}")),
    (CUT, "cut", "split", _forms(
        "cut = cut {noun}", "chop = chop {noun}", "slice = slice {noun}", "cut-on = cut {noun} on {other}")),
    (TURN_OFF, "turn-off", "block", _forms(
        "turn-off = turn off {noun}", "turn-off = turn {noun} off", "switch-off = switch off {noun}")),
    (POUR, "pour", "merge", _forms(
        "pour-into = pour {noun} into {other}", "pour = pour {noun}", "pour-in = pour {noun} in {other}")),
    (MIX, "mix", "merge", _forms("stir = stir {noun}", "mix = mix {noun}")),
    (MOVE, "move", "transition", _forms("move = move {noun}", "move-around = move {noun} around")),
    (SHAKE, "shake", "manipulate", _forms("shake = shake {noun}")),
)

NOUNS: dict[int, ClassInfo] = _table(
    (TAP, "tap", "appliances", _forms("tap", "tap:water = water tap")),
    (SPOON, "spoon", "cutlery", _forms("spoon", "teaspoon", "spoon:wooden = wooden spoon")),
    (PLATE, "plate", "crockery", _forms("plate", "dish", "saucer")),
    (CUPBOARD, "cupboard", "storage", _forms("cupboard", "door", "cabinet")),
    (KNIFE, "knife", "cutlery", _forms("knife", "knife:chef = chef knife")),
    (PAN, "pan", "cookware", _forms("pan", "saucepan", "pan:frying = frying pan")),
    (BOWL, "bowl", "crockery", _forms("bowl", "bowl:salad = salad bowl")),
    (DRAWER, "drawer", "furniture", _forms("drawer", "drawer:cutlery = cutlery drawer")),
    (GLASS, "glass", "crockery", _forms("glass", "glass:wine = wine glass")),
    (FRIDGE, "fridge", "appliances", _forms("fridge", "refrigerator")),
    (CUP, "cup", "crockery", _forms("mug", "cup", "cup:coffee = coffee cup")),
    (FORK, "fork", "cutlery", _forms("fork")),
    (ONION, "onion", "vegetables", _forms("onion", "onion:red = red onion")),
    (BOARD, "board:chopping", "utensils", _forms(
        "board:chopping = chopping board", "board:cutting = cutting board")),
    (HOB, "hob", "appliances", _forms("hob", "stove", "burner")),
    (WATER, "water", "drinks", _forms("water")),
    (POT, "pot", "cookware", _forms("pot", "pot:pasta = pasta pot")),
    (POTATO, "potato", "vegetables", _forms("potato")),
    (OIL, "oil", "spices and herbs and sauces", _forms("oil", "oil:olive = olive oil")),
    (JAR, "jar", "containers", _forms("jar", "jar:jam = jam jar")),
    (TOP, "top", "furniture", _forms("counter", "top", "surface:work = work surface")),
    (PASTA, "pasta", "baked goods and grains", _forms("pasta", "spaghetti")),
    (SINK, "sink", "furniture", _forms("sink", "basin")),
)

#: The world's actions by frequency group (rank 1 = most common), mirror pairs sharing a rank.
ACTIONS: tuple[Action, ...] = (
    Action(OPEN, CUPBOARD, 1), Action(CLOSE, CUPBOARD, 1),
    Action(TURN_ON, TAP, 2), Action(TURN_OFF, TAP, 2),
    Action(TAKE, PLATE, 3, other=TOP), Action(PUT, PLATE, 3, other=TOP),
    Action(OPEN, DRAWER, 4), Action(CLOSE, DRAWER, 4),
    Action(TAKE, SPOON, 5, other=TOP), Action(PUT, SPOON, 5, other=TOP),
    Action(OPEN, FRIDGE, 6), Action(CLOSE, FRIDGE, 6),
    Action(TAKE, KNIFE, 7, other=TOP), Action(PUT, KNIFE, 7, other=TOP),
    Action(WASH, PLATE, 8, other=SINK),
    Action(TAKE, BOWL, 9, other=TOP), Action(PUT, BOWL, 9, other=TOP),
    Action(TAKE, CUP, 10, other=TOP), Action(PUT, CUP, 10, other=TOP),
    Action(WASH, KNIFE, 11, other=SINK),
    Action(TAKE, FORK, 12, other=TOP), Action(PUT, FORK, 12, other=TOP),
    Action(TAKE, PAN, 13, other=TOP), Action(PUT, PAN, 13, other=TOP),
    Action(WASH, CUP, 14, other=SINK),
    Action(POUR, WATER, 15, other=POT),
    Action(TAKE, GLASS, 16, other=TOP), Action(PUT, GLASS, 16, other=TOP),
    Action(CUT, POTATO, 17, other=BOARD),
    Action(CUT, ONION, 18, other=BOARD),
    Action(MIX, PASTA, 19),
    Action(TURN_ON, HOB, 20), Action(TURN_OFF, HOB, 20),
    Action(MOVE, PAN, 21),
    Action(SHAKE, PAN, 22),
    Action(OPEN, JAR, 23), Action(CLOSE, JAR, 23),
    Action(POUR, OIL, 24, other=PAN),
)
# fmt: on

#: Verbs whose motion is the exact time reverse of another verb's (the only cue between them).
MIRROR_OF: dict[int, int] = {PUT: TAKE, CLOSE: OPEN, TURN_OFF: TURN_ON}


def mirror_partner(action: Action) -> Action | None:
    """The action with the mirrored verb and the same noun (take cup <-> put cup), if the world has it."""
    partners = {**MIRROR_OF, **{base: mirrored for mirrored, base in MIRROR_OF.items()}}
    verb = partners.get(action.verb)
    return next((a for a in ACTIONS if a.verb == verb and a.noun == action.noun), None)


def used_noun_ids() -> list[int]:
    """Nouns that appear in any row (as noun_class or in all_noun_classes), ascending."""
    ids = {a.noun for a in ACTIONS} | {a.other for a in ACTIONS if a.other is not None}
    return sorted(ids)


def used_verb_ids() -> list[int]:
    return sorted({a.verb for a in ACTIONS})
