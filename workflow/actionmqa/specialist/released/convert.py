"""Released checkpoint -> converted specialist, strictly: every tensor mapped, every shape checked.

Nothing is guessed or skipped: a release key without a rule, a rule without a release key, a
shape that differs (a head for another label space included) is an ``InputError`` naming the
file and the key as the file spells it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from actionmqa.errors import InputError
from actionmqa.io import md5_file, sha256_file
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.checkpoint import ConvertedCheckpoint, build_model, save_converted
from actionmqa.specialist.released.keymap import DDP_PREFIX, KeyRule, head_of, key_rules
from actionmqa.specialist.released.release_file import load_release

log = logging.getLogger(__name__)

#: How many missing or unexpected keys an error lists.
_SHOWN = 5


def strip_ddp_prefix(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    """Keys without DistributedDataParallel's ``module.`` when every key has it; the prefix removed."""
    if state and all(key.startswith(DDP_PREFIX) for key in state):
        return {key[len(DDP_PREFIX) :]: value for key, value in state.items()}, DDP_PREFIX
    return dict(state), ""


def release_state(
    state: Mapping[str, torch.Tensor], arch: Architecture, path: Path
) -> dict[str, torch.Tensor]:
    """Our model's state dict from a release's, through :func:`key_rules`; errors name ``path``."""
    bare, prefix = strip_ddp_prefix(state)
    rules = key_rules(arch)
    expected = {rule.release for rule in rules}
    missing = [prefix + rule.release for rule in rules if rule.release not in bare]
    unexpected = [prefix + key for key in bare if key not in expected]
    if missing or unexpected:
        raise InputError(path, _key_problems(arch, missing, unexpected), key=(missing or unexpected)[0])
    with torch.device("meta"):
        shapes = {name: tuple(p.shape) for name, p in build_model(arch).state_dict().items()}
    converted: dict[str, torch.Tensor] = {}
    for rule in rules:
        tensor = bare[rule.release]
        if tuple(tensor.shape) != rule.shape:
            raise InputError(path, _shape_problem(rule, tuple(tensor.shape), arch), key=prefix + rule.release)
        if not tensor.is_floating_point():
            raise InputError(
                path, f"expected floating-point weights, got {tensor.dtype}", key=prefix + rule.release
            )
        converted[rule.ours] = tensor.reshape(shapes[rule.ours])
    if set(converted) != set(shapes):  # the rules themselves must cover the model exactly
        raise AssertionError(f"key rules and model disagree: {sorted(set(shapes) ^ set(converted))}")
    return converted


def convert_release(
    release_path: Path,
    arch: Architecture,
    actions: Sequence[str],
    out_dir: Path,
    *,
    name: str,
    source: Mapping[str, Any] | None = None,
) -> ConvertedCheckpoint:
    """Check ``release_path`` against ``arch`` with a head over ``actions`` and write ``out_dir``."""
    arch = replace(arch, n_actions=len(actions))
    release = load_release(release_path)
    log.info("%s: %d tensors; also holds %s", release_path, len(release.state_dict), list(release.other_keys))
    state = release_state(release.state_dict, arch, release_path)
    with torch.device("meta"):
        model = build_model(arch)
    model.load_state_dict(state, strict=True, assign=True)  # a second, independent guard
    checkpoint = ConvertedCheckpoint(
        name=name,
        architecture=arch,
        actions=tuple(actions),
        source={
            **(source or {}),
            "file": Path(release_path).name,
            "sha256": sha256_file(release_path),
            "md5": md5_file(release_path),
        },
    )
    save_converted(out_dir, checkpoint, state)
    n_params = sum(t.numel() for t in state.values())
    log.info("%s -> %s (%s, %.1fM parameters)", release_path, out_dir, arch.family, n_params / 1e6)
    return checkpoint


def _key_problems(arch: Architecture, missing: list[str], unexpected: list[str]) -> str:
    what = f"{arch.family} with width {arch.width}, {arch.layers} layers, patch {arch.patch}"
    problems = []
    if missing:
        problems.append(f"{len(missing)} tensors of {what} are missing (first: {_listing(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} tensors are not part of {what} (first: {_listing(unexpected)})")
    return "; ".join(problems) + ": not this release, or not a release of this architecture"


def _shape_problem(rule: KeyRule, found: tuple[int, ...], arch: Architecture) -> str:
    head = head_of(rule)
    if head is not None and found[1:] == rule.shape[1:]:
        label = "the action label space of the annotations has" if head == "action" else "EK100 has"
        return f"the {head} head has {found[0]} classes, but {label} {rule.shape[0]}"
    sizes = f"{arch.family}, width {arch.width}, patch {arch.patch}"
    return f"shape {list(found)}, expected {list(rule.shape)} ({sizes})"


def _listing(keys: list[str]) -> str:
    return ", ".join(repr(key) for key in keys[:_SHOWN]) + (", ..." if len(keys) > _SHOWN else "")
