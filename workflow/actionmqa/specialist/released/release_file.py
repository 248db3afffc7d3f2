"""Read a released ``torch.save`` checkpoint without running its pickle.

AVION's and LaViLa's files are ``{"state_dict", "args", "optimizer", ...}`` pickles whose ``args``
is an ``argparse.Namespace`` holding a pandas DataFrame, so ``torch.load(weights_only=True)``
refuses them and ``weights_only=False`` would import and call whatever the file names. This
loader resolves only what rebuilds tensors and plain containers; every other global the file
names becomes an inert :class:`Unresolved` record (its name and pickled arguments), so nothing
from the file is imported or executed. Only ``state_dict`` is used downstream.
"""

from __future__ import annotations

import collections
import pickle
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from actionmqa.errors import InputError

#: Globals a tensor checkpoint needs; anything else in the file stays unresolved.
RESOLVED_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": collections.OrderedDict,
    "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": torch._utils._rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": torch._utils._rebuild_parameter_with_state,
    "torch.Size": torch.Size,
}


class Unresolved:
    """Stand-in for an object of a class the loader does not import: its name and pickled state."""

    name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> Unresolved:
        """A stand-in for a function looked up at load time (``getattr(cls, name)(...)``)."""
        return type(self)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<unresolved {self.name}>"


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        qualified = f"{module}.{name}"
        if qualified in RESOLVED_GLOBALS:
            return RESOLVED_GLOBALS[qualified]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return type(f"Unresolved[{qualified}]", (Unresolved,), {"name": qualified})


def _restricted_pickle_module() -> types.ModuleType:
    """A ``pickle``-like module for ``torch.load(pickle_module=...)``: torch wraps its ``Unpickler``
    (storages are still rebuilt by torch itself) and our ``find_class`` decides everything else."""
    module = types.ModuleType("actionmqa_restricted_pickle")
    module.Unpickler = _RestrictedUnpickler  # type: ignore[attr-defined]
    module.load = lambda file, **kwargs: _RestrictedUnpickler(file, **kwargs).load()  # type: ignore[attr-defined]
    module.__dict__["__version__"] = pickle.format_version
    return module


@dataclass(frozen=True)
class ReleaseFile:
    """The weights of a released checkpoint and the names of its other top-level entries."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    other_keys: tuple[str, ...]


def load_release(path: Path) -> ReleaseFile:
    """The ``state_dict`` of a released checkpoint (memory-mapped), checked to be name -> tensor."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint file not found")
    try:
        document = torch.load(
            path,
            map_location="cpu",
            weights_only=False,  # safe here: the pickle module resolves no global beyond tensors
            pickle_module=_restricted_pickle_module(),
            mmap=True,
        )
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise InputError(path, f"not a readable torch checkpoint (truncated or corrupt?): {exc}") from exc
    if not isinstance(document, Mapping) or "state_dict" not in document:
        found = sorted(map(str, document)) if isinstance(document, Mapping) else type(document).__name__
        raise InputError(path, f"expected a dict with the weights under 'state_dict', found {found}")
    state = document["state_dict"]
    if not isinstance(state, Mapping):
        raise InputError(
            path, f"expected a mapping of names to tensors, got {type(state).__name__}", key="state_dict"
        )
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise InputError(path, f"expected a tensor, got {type(value).__name__}", key=f"state_dict.{key}")
    return ReleaseFile(
        path=path,
        state_dict=dict(state),
        other_keys=tuple(sorted(str(key) for key in document if key != "state_dict")),
    )
