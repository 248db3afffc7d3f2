"""Command-line flags derived from a dataclass's fields, so a knob is defined once.

A field with ``metadata={"help": ...}`` becomes ``--its-name``: typed by its annotation (a
``Literal``'s values become the flag's choices), defaulting to the field's default, or required
when the field has none. The dataclass is then built back from the parsed arguments. Fields
without help stay the dataclass's own business: the command line does not offer them.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, Literal, TypeVar

T = TypeVar("T")


def flag_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of dataclass ``cls`` that the command line offers, in their declared order."""
    return [spec for spec in dataclasses.fields(cls) if "help" in spec.metadata]


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def add_field_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """A flag per field of ``cls`` that has help (see the module's docstring)."""
    hints = typing.get_type_hints(cls)
    for spec in flag_fields(cls):
        kind = hints[spec.name]
        options: dict[str, Any] = {"help": spec.metadata["help"]}
        if typing.get_origin(kind) is Literal:
            options["choices"] = typing.get_args(kind)
            kind = type(options["choices"][0])
        if kind not in (int, float, str):
            raise TypeError(
                f"{cls.__name__}.{spec.name}: a flag takes int, float, str or a Literal, not {kind}"
            )
        options["type"] = kind
        if spec.default is dataclasses.MISSING:
            options["required"] = True
        else:
            options["default"] = spec.default
        parser.add_argument(flag_name(spec.name), **options)


def from_arguments(cls: type[T], args: argparse.Namespace, **fixed: Any) -> T:
    """``cls`` built from its flags' parsed values, and ``fixed`` for the fields the command sets itself."""
    return cls(**{spec.name: getattr(args, spec.name) for spec in flag_fields(cls)}, **fixed)
