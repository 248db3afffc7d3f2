"""Command-line flags derived from a dataclass's fields, so a knob is defined once.

A field declared with :func:`knob` becomes ``--its-name`` (or the ``flag`` it names), defaulting
to the field's default, or required when the field has none. Its annotation says how it reads:

- ``int``, ``float``, ``str``, ``Path``: one value (``minimum`` bounds an ``int``);
- a ``Literal``, or an ``Enum`` of str values: one of those values;
- ``bool``: a switch, off unless given;
- ``X | None``: ``X``, or ``None`` when absent;
- ``tuple[X, ...]``: one or more ``X``.

:func:`from_arguments` builds the dataclass back from the parsed values. Fields declared without
``knob`` stay the dataclass's own business: the command line does not offer them.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")

_SCALARS = (int, float, str, Path)


def knob(
    default: Any = dataclasses.MISSING,
    help: str = "",  # noqa: A002 (argparse's word)
    *,
    flag: str | None = None,
    minimum: int | None = None,
) -> Any:
    """A dataclass field that is also a command-line flag; without ``default``, a required one."""
    if not help:
        raise TypeError("a knob needs its help: the command line shows it")
    metadata: dict[str, Any] = {"help": help, "flag": flag, "minimum": minimum}
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class _Reading:
    """How one annotation reads from the command line."""

    read: Any  # the argparse type of each word
    choices: tuple[Any, ...] | None = None
    enum: type[enum.Enum] | None = None  # what each value read is turned back into
    switch: bool = False
    many: bool = False


def _reading(kind: Any, where: str) -> _Reading:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        kind = next(arg for arg in args if arg is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    many = origin is tuple and len(args) == 2 and args[1] is Ellipsis
    if many:
        kind = args[0]
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return _Reading(type(args[0]), choices=args, many=many)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        values = tuple(member.value for member in kind)
        return _Reading(type(values[0]), choices=values, enum=kind, many=many)
    if kind is bool and not many:
        return _Reading(bool, switch=True)
    if kind in _SCALARS:
        return _Reading(kind, many=many)
    raise TypeError(
        f"{where}: a flag takes int, float, str, Path, bool, a Literal or an Enum,"
        f" optionally as X | None or tuple[X, ...], not {kind}"
    )


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer no less than ``minimum``."""

    def read(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text}")
        return value

    return read


def _shown(value: Any) -> Any:
    """A default as the command line spells it (an Enum by its value, a tuple as a list)."""
    if isinstance(value, tuple):
        return [_shown(item) for item in value]
    return value.value if isinstance(value, enum.Enum) else value


def flag_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of dataclass ``cls`` that the command line offers, in their declared order."""
    return [spec for spec in dataclasses.fields(cls) if "help" in spec.metadata]


def flag_name(spec: dataclasses.Field[Any]) -> str:
    return spec.metadata.get("flag") or "--" + spec.name.replace("_", "-")


def add_field_arguments(parser: argparse.ArgumentParser, cls: type, skip: Collection[str] = ()) -> None:
    """A flag per knob of ``cls`` but those named in ``skip`` (see the module's docstring)."""
    hints = typing.get_type_hints(cls)
    for spec in flag_fields(cls):
        if spec.name in skip:
            continue
        where = f"{cls.__name__}.{spec.name}"
        reading = _reading(hints[spec.name], where)
        options: dict[str, Any] = {"help": spec.metadata["help"], "dest": spec.name}
        if spec.default is dataclasses.MISSING:
            options["required"] = True
        else:
            options["default"] = _shown(spec.default)
        if reading.switch:
            if spec.default is not False:
                raise TypeError(f"{where}: a switch is off unless given, so its default must be False")
            parser.add_argument(flag_name(spec), action="store_true", **options)
            continue
        if reading.choices is not None:
            options["choices"] = reading.choices
        options["type"] = reading.read
        minimum = spec.metadata.get("minimum")
        if minimum is not None:
            if reading.read is not int:
                raise TypeError(f"{where}: only an int flag takes a minimum")
            options["type"] = at_least(minimum)
        if reading.many:
            options["nargs"] = "+"
        parser.add_argument(flag_name(spec), **options)


def from_arguments(cls: type[T], args: argparse.Namespace, **fixed: Any) -> T:
    """``cls`` built from its flags' parsed values, and ``fixed`` for the fields the command sets itself."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for spec in flag_fields(cls):
        if spec.name in fixed:
            continue
        reading = _reading(hints[spec.name], f"{cls.__name__}.{spec.name}")
        value = getattr(args, spec.name)
        if value is not None and reading.enum is not None:
            value = [reading.enum(item) for item in value] if reading.many else reading.enum(value)
        values[spec.name] = tuple(value) if reading.many and value is not None else value
    return cls(**values, **fixed)
