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


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every schema violation of ``config`` as ``"config key 'a.b': problem"``, sorted by key."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.absolute_path)))
    lines = []
    for error in errors:
        detail = error.message
        if error.validator == "additionalProperties":
            detail += " (unknown key: check its spelling against config/schemas/config.schema.yaml)"
        lines.append(f"config key '{_key_path(error)}': {detail}")
    return lines


def format_config_errors(config_file_hint: str, errors: list[str]) -> str:
    """One message listing all problems, for the workflow to raise at load time."""
    head = f"invalid configuration ({config_file_hint}):"
    return "\n  ".join([head, *errors])
