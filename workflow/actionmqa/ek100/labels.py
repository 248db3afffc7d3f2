"""The action label space and option texts, built as upstream LLaVAction builds them.

spec/llavaction.md §1.2-§1.3: actions are the distinct ``"verb:noun"`` strings of the train and
validation splits **sorted as strings** (``"0:1" < "0:10" < "0:2"``); a position in that tuple is
the action head's target id, so the order must match upstream exactly for released weights and
specialist files to line up. Noun keys put the head noun first ("pan:frying") and are rotated to
read naturally ("frying pan") in option texts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from actionmqa.ek100.annotations import AnnotationSet
from actionmqa.ek100.schema import N_NOUNS, N_VERBS
from actionmqa.errors import InputError


def noun_text(key: str) -> str:
    """``"pan:frying"`` -> ``"frying pan"``; ``"a:b:c"`` -> ``"b c a"`` (the head noun moves last)."""
    head, *modifiers = key.split(":")
    return " ".join([*modifiers, head])


def split_vn(vn: str) -> tuple[int, int]:
    """``"3:12"`` -> (3, 12); anything else is an InputError keyed by the string."""
    verb, sep, noun = vn.partition(":")
    if not (sep and verb.isdigit() and noun.isdigit()):
        raise InputError(None, "expected an action 'verb_class:noun_class' such as '3:12'", key=vn)
    return int(verb), int(noun)


@dataclass(frozen=True)
class LabelMap:
    """Verb and noun keys by class id, and the string-sorted action list whose positions are action ids."""

    verbs: dict[int, str]
    nouns: dict[int, str]
    actions: tuple[str, ...]
    _action_ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if list(self.actions) != sorted(set(self.actions)):
            raise InputError(None, "actions must be distinct and sorted as strings (upstream order)")
        for vn in self.actions:
            self.label_text(vn)  # each action's verb and noun must have a key
        object.__setattr__(self, "_action_ids", {vn: i for i, vn in enumerate(self.actions)})

    def action_id(self, vn: str) -> int:
        """The action head's target for ``vn``."""
        try:
            return self._action_ids[vn]
        except KeyError:
            raise InputError(
                None, f"not among the {len(self.actions)} actions of the label map", key=vn
            ) from None

    def label_text(self, vn: str) -> str:
        """The ``official_key`` option text: verb key, then the rotated noun key (``"take frying pan"``)."""
        verb, noun = split_vn(vn)
        if verb not in self.verbs or noun not in self.nouns:
            missing = f"verb class {verb}" if verb not in self.verbs else f"noun class {noun}"
            raise InputError(None, f"{missing} is not in the class tables", key=vn)
        return f"{self.verbs[verb]} {noun_text(self.nouns[noun])}"

    @classmethod
    def from_annotations(cls, ann: AnnotationSet) -> LabelMap:
        """Actions of every loaded split (upstream reads train and validation together)."""
        seen = set().union(*(set(segments["vn"]) for segments in ann.splits.values()))
        return cls(
            verbs=dict(zip(ann.verbs["id"].tolist(), ann.verbs["key"], strict=True)),
            nouns=dict(zip(ann.nouns["id"].tolist(), ann.nouns["key"], strict=True)),
            actions=tuple(sorted(seen)),
        )

    def to_json(self) -> dict[str, Any]:
        """A self-describing object: class counts, keys by id, and each action's id, classes and text."""
        return {
            "n_verbs": N_VERBS,
            "n_nouns": N_NOUNS,
            "verbs": {str(i): key for i, key in sorted(self.verbs.items())},
            "nouns": {str(i): key for i, key in sorted(self.nouns.items())},
            "actions": [self._action_record(vn) for vn in self.actions],
        }

    def _action_record(self, vn: str) -> dict[str, Any]:
        verb, noun = split_vn(vn)
        return {
            "id": self.action_id(vn),
            "vn": vn,
            "verb_class": verb,
            "noun_class": noun,
            "text": self.label_text(vn),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> LabelMap:
        """Inverse of ``to_json``; action ids must be the positions 0..n-1."""
        try:
            verbs = {int(i): str(key) for i, key in obj["verbs"].items()}
            nouns = {int(i): str(key) for i, key in obj["nouns"].items()}
            actions = obj["actions"]
            if [action["id"] for action in actions] != list(range(len(actions))):
                raise InputError(None, "action ids must be 0..n-1 in list order", key="actions")
            return cls(verbs=verbs, nouns=nouns, actions=tuple(action["vn"] for action in actions))
        except InputError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(None, f"not a label map object ({type(exc).__name__}: {exc})") from exc

    @classmethod
    def read(cls, path: Path) -> LabelMap:
        """Load the JSON that ``actionmqa data labels`` writes; errors name the file."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        except InputError as exc:
            raise exc.located(path=path) from exc


def narration_pools(segments: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """vn -> every narration of that class, repeats kept so draws are frequency-weighted like upstream.

    Each pool is sorted, so the result (and every seeded draw from it) does not depend on row order.
    """
    pools = segments.groupby("vn", sort=True)["narration"].agg(lambda narrations: tuple(sorted(narrations)))
    return pools.to_dict()
