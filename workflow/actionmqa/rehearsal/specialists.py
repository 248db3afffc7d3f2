"""The public EK100 specialists (AVION, LaViLa) as tiny random releases in their real file format.

A release is what both fine-tune scripts ``torch.save``: DistributedDataParallel-prefixed weights
(``module.``) under ``state_dict`` beside the optimizer and scaler states, the epoch, the best
accuracy and the argparse ``args``, which carry the label space as a pandas DataFrame
(``write_release``). The stand-in's tensors are the release's own names and shapes
(``specialist.released.keymap``) at a smaller width and depth, its action head over the
rehearsal's label space.

The publishers print only the first six hex digits of each file's md5, and the real download
checks them. So that the rehearsal runs that check unchanged instead of switching it off, the
stand-in's zip archive comment, which ``torch.load`` ignores, ends in a nonce chosen so that the
file's md5 starts with the published prefix (``match_md5_prefix``: 2^24 tries on average, about
20 s on one core).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.io import atomic_open
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.keymap import DDP_PREFIX, key_rules
from actionmqa.specialist.released.run import label_space
from actionmqa.specialist.released.zoo import release

log = logging.getLogger(__name__)

#: The zip comment of a stand-in, before its 8-byte nonce: says what the file is.
COMMENT = b"actionmqa rehearsal stand-in, not a released checkpoint; md5 nonce "
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22


def release_bytes(
    state: Mapping[str, torch.Tensor], actions: Sequence[str], *, prefix: str = DDP_PREFIX
) -> bytes:
    """A release file's bytes: ``torch.save`` as AVION's and LaViLa's fine-tune scripts save."""
    prefixed = OrderedDict((prefix + key, value) for key, value in state.items())
    verbs = [int(vn.split(":")[0]) for vn in actions]
    nouns = [int(vn.split(":")[1]) for vn in actions]
    args = argparse.Namespace(
        dataset="ek100_cls", clip_length=16, actions=pd.DataFrame({"verb": verbs, "noun": nouns})
    )
    momentum = {i: {"momentum_buffer": torch.zeros_like(v)} for i, v in enumerate(prefixed.values())}
    buffer = io.BytesIO()
    torch.save(
        {
            "epoch": 90,
            "state_dict": prefixed,
            "optimizer": {"state": momentum, "param_groups": [{"lr": 1e-5}]},
            "scaler": {"scale": 65536.0},
            "best_acc1": 54.4,
            "args": args,
        },
        buffer,
    )
    return buffer.getvalue()


def write_release(
    path: Path, state: Mapping[str, torch.Tensor], actions: Sequence[str], *, prefix: str = DDP_PREFIX
) -> None:
    """``release_bytes`` written to ``path`` (atomically)."""
    with atomic_open(path, "wb") as handle:
        handle.write(release_bytes(state, actions, prefix=prefix))


def random_release_state(arch: Architecture, seed: int) -> dict[str, torch.Tensor]:
    """Every tensor of a release of ``arch``, in file order, drawn at random (norm scales near 1)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for rule in key_rules(arch):
        noise = 0.2 * torch.randn(rule.shape, generator=generator)
        is_scale = rule.release.endswith(".weight") and len(rule.shape) == 1
        state[rule.release] = 1.0 + noise if is_scale else noise
    return state


def match_md5_prefix(data: bytes, prefix: str) -> bytes:
    """``data`` (a zip archive without comment) with a comment that makes its md5 start with ``prefix``."""
    if len(data) < _EOCD_SIZE or data[-_EOCD_SIZE : -_EOCD_SIZE + 4] != _EOCD or data[-2:] != b"\0\0":
        raise ValueError("expected a zip archive without an archive comment")
    head = data[:-2] + (len(COMMENT) + 8).to_bytes(2, "little") + COMMENT
    state = hashlib.md5(head)
    for nonce in itertools.count():
        tail = nonce.to_bytes(8, "little")
        digest = state.copy()
        digest.update(tail)
        if digest.hexdigest().startswith(prefix):
            return head + tail
    raise AssertionError("unreachable")


def standin_architecture(name: str, sizes: Mapping[str, Any], n_actions: int) -> Architecture:
    """The zoo's architecture of release ``name`` with ``sizes`` replaced, its head over ``n_actions``."""
    return replace(release(name).architecture, **sizes, n_actions=n_actions)


def write_standin(
    name: str, sizes: Mapping[str, Any], annotations: Path, out: Path, seed: int = 0
) -> Architecture:
    """Release ``name`` as a tiny random file at ``out`` whose md5 has the published prefix."""
    actions = label_space(load_annotation_dir(annotations))
    arch = standin_architecture(name, sizes, len(actions))
    data = release_bytes(random_release_state(arch, seed), actions)
    data = match_md5_prefix(data, release(name).md5_prefix)
    with atomic_open(out, "wb") as handle:
        handle.write(data)
    log.info(
        "%s: %s stand-in, %d bytes, md5 %s -> %s", name, arch, len(data), hashlib.md5(data).hexdigest(), out
    )
    return arch
