"""What kind of rule made a model folder, and whether that is the kind the config declares.

A model is one of three kinds in the config: ``build`` (the toy base, built in stages and then
trained), ``finetune`` (trained from another model) or ``hub`` (a LLaVA-NeXT checkpoint, downloaded
and converted). Each producer leaves its own record in the folder: ``model convert`` writes
``conversion.json``, ``train run`` writes ``training.json``. The workflow reads the record at start
and refuses a folder made by another kind of rule than the config now declares, so a toy-trained
folder is never evaluated under the name of a hub checkpoint (or the reverse).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

Kind = Literal["build", "finetune", "hub"]
Producer = Literal["conversion", "training"]

#: The record each producer writes into the model folder it makes.
CONVERSION_RECORD = "conversion.json"
TRAINING_RECORD = "training.json"

_RECORDS: dict[Producer, str] = {"conversion": CONVERSION_RECORD, "training": TRAINING_RECORD}
_PRODUCER: dict[Kind, Producer] = {"build": "training", "finetune": "training", "hub": "conversion"}
_KIND_WORDS: dict[Kind, str] = {
    "build": "the toy base, built and trained here",
    "finetune": "a fine-tune, trained here",
    "hub": "a hub checkpoint, downloaded and converted",
}


def model_kind(spec: Mapping[str, Any]) -> Kind:
    """``build``, ``finetune`` or ``hub``: the key the schema requires exactly one of."""
    kinds = [kind for kind in ("build", "finetune", "hub") if kind in spec]
    if len(kinds) != 1:
        raise ValueError(f"a model needs exactly one of build, finetune, hub; got {kinds or 'none'}")
    return kinds[0]


def recorded_producers(folder: Path) -> list[Producer]:
    """The producers whose record is in ``folder`` (one for a folder this workflow made)."""
    return [producer for producer, record in _RECORDS.items() if (folder / record).is_file()]


def mismatched_model_dirs(models: Mapping[str, Mapping[str, Any]], models_root: Path) -> list[str]:
    """One line per existing ``models_root/<name>`` that another kind of rule made than
    ``models[name]`` declares, naming the folder, what made it and what the config says."""
    problems = []
    for name, spec in models.items():
        folder = models_root / name
        if not folder.is_dir():
            continue
        kind = model_kind(spec)
        expected = _PRODUCER[kind]
        found = recorded_producers(folder)
        if found == [expected]:
            continue
        made_by = (
            " and ".join(_RECORDS[p] for p in found)
            if found
            else f"neither {CONVERSION_RECORD} nor {TRAINING_RECORD}"
        )
        problems.append(
            f"{folder}: it holds {made_by}, but config key 'models.{name}' declares {_KIND_WORDS[kind]}"
            f" (expected {_RECORDS[expected]}). Remove the folder (write-protected: chmod -R u+w first)"
            " or give the model another name."
        )
    return problems
