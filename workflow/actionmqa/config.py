"""Readable workflow-config validation.

Snakemake's ``validate`` fills the schema's defaults but reports a violation as a long
jsonschema dump; a user needs one line per problem that names the key path, the value found
and what the schema expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def load_schema(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _text_that_reads_valid(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether ``value`` is text whose YAML reading the schema accepts, as ``'5'`` for an integer."""
    if not isinstance(value, str):
        return False
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return False
    return jsonschema.Draft202012Validator(schema).is_valid(parsed)


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every schema violation of ``config`` as ``"config key 'a.b': problem"``, sorted by key."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.absolute_path)))
    lines = []
    for error in errors:
        detail = error.message
        if error.validator == "additionalProperties":
            detail += " (unknown key: check its spelling against config/schemas/config.schema.yaml)"
        elif error.validator == "type" and _text_that_reads_valid(error.instance, error.schema):
            detail += (
                " (the text reads as one: Snakemake keeps values nested in --config as text;"
                " put nested changes in a file given with --configfile)"
            )
        lines.append(f"config key '{_key_path(error)}': {detail}")
    return lines


def format_config_errors(config_file_hint: str, errors: list[str]) -> str:
    """One message listing all problems, for the workflow to raise at load time."""
    head = f"invalid configuration ({config_file_hint}):"
    return "\n  ".join([head, *errors])


def variant_kind(spec: Mapping[str, Any]) -> str:
    """``features`` (built-in classifiers), ``checkpoint`` (public weights) or ``ensemble``."""
    for key, kind in (("feature_set", "features"), ("checkpoint", "checkpoint"), ("ensemble", "ensemble")):
        if key in spec:
            return kind
    raise ValueError(f"a specialist variant needs feature_set, checkpoint or ensemble: {dict(spec)}")


def reference_errors(config: Mapping[str, Any]) -> list[str]:
    """Cross-key problems a JSON schema cannot express: names that must refer to defined entries.

    Runs after the schema's defaults are filled in, so every section is present.
    """
    problems: list[str] = []
    dataset = config["dataset"]
    variants = sorted(config["specialist"]["variants"])
    models = config["models"]

    def need(condition: bool, key: str, problem: str) -> None:
        if not condition:
            problems.append(f"config key '{key}': {problem}")

    need(
        dataset != "ek100" or bool(config["videos"]["root"]),
        "videos.root",
        "dataset ek100 needs the root of the EK100 videos",
    )
    primary = config["specialist"]["primary"]
    need(
        primary in variants,
        "specialist.primary",
        f"'{primary}' is not one of the specialist variants {variants}",
    )
    sources = {f"mqa.distractors.{k}": v for k, v in config["mqa"]["distractors"].items()}
    sources |= {f"sft.hard_mqa.{k}": v for k, v in config["sft"]["hard_mqa"].items()}
    for key, source in sources.items():
        name = source.get("specialist")
        need(
            name is None or name in variants,
            f"{key}.specialist",
            f"'{name}' is not one of the specialist variants {variants}",
        )
    kinds = {name: variant_kind(spec) for name, spec in config["specialist"]["variants"].items()}
    for name, spec in config["specialist"]["variants"].items():
        need(
            kinds[name] == "features" or dataset == "ek100",
            f"specialist.variants.{name}",
            "public EK100 checkpoints and their ensembles need dataset ek100 (3,806-action label space)",
        )
        for i, member in enumerate(spec.get("ensemble", [])):
            need(
                kinds.get(member) == "checkpoint",
                f"specialist.variants.{name}.ensemble[{i}]",
                f"'{member}' is not a checkpoint variant"
                f" {sorted(v for v, kind in kinds.items() if kind == 'checkpoint')}",
            )
    references = {f"evaluate.models[{i}]": name for i, name in enumerate(config["evaluate"]["models"])}
    references |= {f"models.{k}.finetune": v["finetune"] for k, v in models.items() if "finetune" in v}
    for key, name in references.items():
        need(name in models, key, f"no model '{name}' in models ({sorted(models)})")
    for name, spec in models.items():
        need(
            spec.get("build") != "toy_base" or dataset == "toy",
            f"models.{name}.build",
            "toy_base exists only for dataset toy",
        )
    if dataset == "ek100":
        need(
            not config["evaluate"]["benchmarks"] or bool(config["evaluate"]["benchmark_root"]),
            "evaluate.benchmark_root",
            "dataset ek100 needs the folder of the five benchmarks",
        )
        need(
            config["sft"]["clip_texts"] != "scenes",
            "sft.clip_texts",
            "scene descriptions exist only for the toy world",
        )
    return problems


def trained_models(config: Mapping[str, Any]) -> dict[str, str]:
    """Every model the workflow trains (fine-tunes and the toy base), by name: its recipe file."""
    from actionmqa.model.provenance import model_kind

    recipes = {}
    for name, spec in config["models"].items():
        kind = model_kind(spec)
        if kind == "finetune":
            recipes[name] = spec["recipe"]
        elif kind == "build":
            recipes[name] = config["toy_base"]["recipe"]
    return recipes


def batch_split_errors(config: Mapping[str, Any]) -> list[str]:
    """Each trained model's global batch split over its topology: it must divide evenly.

    Reads the recipe files (paths relative to the working directory), so that a topology the
    recipe does not fit fails when the workflow loads, not after a job waited in a queue.
    """
    from actionmqa.errors import InputError
    from actionmqa.train.recipe import load_recipe
    from actionmqa.train.topology import BatchSplitError, Topology, accumulation_steps

    problems = []
    for name, path in trained_models(config).items():
        topology = Topology.of_model(config["models"][name])
        try:
            recipe = load_recipe(Path(path))
            accumulation_steps(
                recipe.global_batch_size, topology.world_size, recipe.per_device_train_batch_size
            )
        except InputError as exc:
            problems.append(f"config key 'models.{name}': recipe {exc}")
        except BatchSplitError as exc:
            problems.append(f"config key 'models.{name}': {topology.describe()} with recipe {path}: {exc}")
    return problems


def hub_sources(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every Hugging Face download the config asks for, by config key: hub models and, for a
    real-data run, the benchmark sources."""
    sources: dict[str, Mapping[str, Any]] = {
        f"models.{name}": spec for name, spec in config["models"].items() if "hub" in spec
    }
    if config["dataset"] != "toy":
        sources |= {
            f"evaluate.benchmark_sources.{name}": spec
            for name, spec in config["evaluate"]["benchmark_sources"].items()
            if name in config["evaluate"]["benchmarks"]
        }
    return sources


def unpinned_downloads(config: Mapping[str, Any]) -> list[str]:
    """Downloads whose bytes the config does not fix: hub revisions that are not a 40-hex commit
    (a branch moves), and released specialist checkpoints and EK100 annotation files without a
    sha256. ``frozen: true`` makes these errors; otherwise the workflow prints them as warnings at
    every start.

    Runs after the schema's defaults are filled in, so every section is present.
    """
    from actionmqa.ek100.fetch import KNOWN_SHA256
    from actionmqa.hub import is_commit

    problems = [
        f"config key '{key}.revision': {spec['revision']!r} is not a 40-hex commit of {spec['hub']},"
        " so the download follows a moving ref (the commit it resolves to is recorded next to the files)"
        for key, spec in hub_sources(config).items()
        if not is_commit(spec["revision"])
    ]
    problems += unpinned_checkpoints(config)
    if config["dataset"] == "ek100":
        pinned = set(KNOWN_SHA256) | set(config["annotations"]["sha256"])
        problems += [
            f"config key 'annotations.sha256.{name}': no sha256 for this annotation file, so it downloads"
            " unverified (its hash is logged by fetch_annotations: pin that)"
            for name in config["annotations"]["files"]
            if name not in pinned
        ]
    return problems


def unpinned_checkpoints(config: Mapping[str, Any]) -> list[str]:
    """Released specialist checkpoints a variant uses without a sha256 pin: their publishers give
    only an md5 prefix (checked on download), and no full checksum could be found upstream."""
    from actionmqa.specialist.released.zoo import RELEASES

    used = sorted(
        {spec["checkpoint"] for spec in config["specialist"]["variants"].values() if "checkpoint" in spec}
    )
    pinned = config["specialist"]["checkpoint_sha256"]
    return [
        f"config key 'specialist.checkpoint_sha256.{name}': {RELEASES[name].title} is published with"
        f" only an md5 prefix ({RELEASES[name].md5_prefix}) and no full checksum, so it downloads"
        " checked against that prefix only (fetch_specialist_checkpoint logs its sha256: pin that)"
        for name in used
        if name not in pinned
    ]
