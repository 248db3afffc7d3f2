"""Command-line flags derived from a dataclass's fields (``actionmqa.flags``)."""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from actionmqa.flags import add_field_arguments, from_arguments, knob


@dataclass(frozen=True)
class Knobs:
    steps: int = field(metadata={"help": "optimizer steps"})
    lr: float = field(default=0.5, metadata={"help": "peak learning rate"})
    layout: Literal["inline", "lines"] = field(default="inline", metadata={"help": "how options are listed"})
    seed: int = field(default=0, metadata={"help": "seed"})
    warmup_ratio: float = 0.1
    out: Path = Path("unused")


def parser_for(cls: type) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="knobs")
    add_field_arguments(parser, cls)
    return parser


def test_each_field_with_help_is_a_typed_flag_and_the_rest_are_not():
    args = parser_for(Knobs).parse_args(["--steps", "7", "--lr", "1e-3", "--layout", "lines"])
    assert vars(args) == {"steps": 7, "lr": 0.001, "layout": "lines", "seed": 0}
    assert type(args.steps) is int and type(args.lr) is float


def test_the_dataclass_is_built_back_with_the_fields_the_command_sets_itself():
    args = parser_for(Knobs).parse_args(["--steps", "3"])
    assert from_arguments(Knobs, args, warmup_ratio=0.25) == Knobs(
        steps=3, lr=0.5, layout="inline", seed=0, warmup_ratio=0.25
    )


def test_a_literal_is_a_choice_and_a_field_without_default_is_required(capsys):
    parser = parser_for(Knobs)
    with pytest.raises(SystemExit):
        parser.parse_args(["--steps", "3", "--layout", "columns"])
    assert "argument --layout: invalid choice: 'columns'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args([])
    assert "the following arguments are required: --steps" in capsys.readouterr().err


class Colour(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Readings:
    root: Path = knob(help="a folder")
    limit: int | None = knob(None, "first N", minimum=1)
    colours: tuple[Colour, ...] = knob((Colour.RED,), "colours to draw", flag="--colour")
    sizes: tuple[int, ...] = knob((1, 4), "sizes", minimum=1)
    loud: bool = knob(False, "say more")
    shade: Colour = knob(Colour.BLUE, "one colour")


def test_paths_optionals_tuples_enums_and_switches_read_as_argparse_would_spell_them():
    parser = parser_for(Readings)
    defaults = parser.parse_args(["--root", "data"])
    assert vars(defaults) == {
        "root": Path("data"),
        "limit": None,
        "colours": ["red"],
        "sizes": [1, 4],
        "loud": False,
        "shade": "blue",
    }
    assert from_arguments(Readings, defaults) == Readings(root=Path("data"))
    given = parser.parse_args(
        ["--root", "d", "--limit", "3", "--colour", "blue", "red", "--sizes", "2", "--loud", "--shade", "red"]
    )
    assert from_arguments(Readings, given) == Readings(
        root=Path("d"),
        limit=3,
        colours=(Colour.BLUE, Colour.RED),
        sizes=(2,),
        loud=True,
        shade=Colour.RED,
    )


def test_a_minimum_and_an_enum_refuse_what_lies_outside_them(capsys):
    parser = parser_for(Readings)
    with pytest.raises(SystemExit):
        parser.parse_args(["--root", "d", "--limit", "0"])
    assert "argument --limit: expected an integer >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--root", "d", "--sizes", "2", "-1"])
    assert "argument --sizes: expected an integer >= 1, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--root", "d", "--colour", "green"])
    assert "argument --colour: invalid choice: 'green'" in capsys.readouterr().err


def test_a_flag_of_a_type_the_command_line_cannot_parse_is_refused_by_name():
    @dataclass
    class Table:
        rows: dict[str, int] = knob(None, "a mapping")

    with pytest.raises(TypeError, match=r"^Table\.rows: a flag takes int, float, str, Path, bool"):
        parser_for(Table)


def test_a_switch_on_by_default_a_knob_without_help_and_a_bounded_float_are_refused():
    @dataclass
    class On:
        loud: bool = knob(True, "say more")

    with pytest.raises(TypeError, match=r"^On\.loud: a switch is off unless given"):
        parser_for(On)
    with pytest.raises(TypeError, match="a knob needs its help"):
        knob(3)

    @dataclass
    class Rate:
        lr: float = knob(0.1, "learning rate", minimum=0)

    with pytest.raises(TypeError, match=r"^Rate\.lr: only an int flag takes a minimum"):
        parser_for(Rate)


def test_the_base_stages_offer_their_recipes_knobs_with_the_recipes_defaults():
    """What the rules pass, by hand: ``--steps``, ``--batch-size``, ``--lr``, ``--seed`` and the
    language model's ``--layout`` / ``--choose-answer``, each defaulting as before the flags were
    derived, and ``--initializer-range`` at Qwen2's own default."""
    from actionmqa.basemodel.recipes import LanguageRecipe, VisionRecipe

    language = parser_for(LanguageRecipe).parse_args([])
    assert vars(language) == {
        "steps": 600,
        "batch_size": 64,
        "lr": 0.003,
        "seed": 0,
        "heldout_fraction": 0.1,
        "initializer_range": 0.02,
        "layout": "inline",
        "choose_answer": "text",
    }
    vision = parser_for(VisionRecipe).parse_args(["--head", "pooled"])
    assert vars(vision) == {
        "steps": 300,
        "batch_size": 32,
        "lr": 0.003,
        "seed": 0,
        "weight_decay": 0.01,
        "head": "pooled",
    }
    assert from_arguments(VisionRecipe, vision).warmup_ratio == 0.1
