"""Config checks beyond the schema: names that must refer to defined entries."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from actionmqa.config import load_schema, reference_errors
from workflow_helpers import REPO

SCHEMA = load_schema(REPO / "config" / "schemas" / "config.schema.yaml")


def filled(name: str) -> dict:
    """A config file with the schema's defaults filled in, as Snakemake's validate leaves it."""
    config = yaml.safe_load((REPO / "config" / name).read_text())

    def set_defaults(validator, properties, instance, schema):
        for key, sub in properties.items():
            if isinstance(instance, dict) and "default" in sub:
                instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from jsonschema.Draft202012Validator.VALIDATORS["properties"](
            validator, properties, instance, schema
        )

    filling = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": set_defaults})
    filling(SCHEMA).validate(config)
    return config


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_shipped_configs_have_no_dangling_names(name):
    assert reference_errors(filled(name)) == []


def test_every_dangling_name_is_reported_with_its_key():
    config = filled("config.yaml")
    config["specialist"]["primary"] = "tim"
    config["mqa"]["distractors"]["hard"] = {"specialist": "avion"}
    config["evaluate"]["models"] = ["base", "gpt5"]
    config["models"]["ft"] = {"finetune": "llava", "recipe": "r.yaml"}
    assert reference_errors(config) == [
        "config key 'specialist.primary': 'tim' is not one of the specialist variants ['hard', 'medium']",
        "config key 'mqa.distractors.hard.specialist': 'avion' is not one of the specialist variants"
        " ['hard', 'medium']",
        "config key 'evaluate.models[1]': no model 'gpt5' in models"
        " (['base', 'ft', 'llavaction', 'llavaction_no_action_token'])",
        "config key 'models.ft.finetune': no model 'llava' in models"
        " (['base', 'ft', 'llavaction', 'llavaction_no_action_token'])",
    ]


def test_ek100_needs_its_roots_and_a_teacher():
    config = filled("paper.yaml")
    config["videos"]["root"] = None
    config["evaluate"]["benchmark_root"] = None
    config["sft"]["clip_texts"] = "scenes"
    config["models"]["base"] = {"build": "toy_base"}
    assert reference_errors(config) == [
        "config key 'videos.root': dataset ek100 needs the root of the EK100 videos",
        "config key 'models.base.build': toy_base exists only for dataset toy",
        "config key 'evaluate.benchmark_root': dataset ek100 needs the folder of the five benchmarks",
        "config key 'sft.clip_texts': scene descriptions exist only for the toy world",
    ]
