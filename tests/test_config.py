"""Config checks beyond the schema: names that must refer to defined entries."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from actionmqa.config import batch_split_errors, load_schema, reference_errors
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


def test_public_weights_need_ek100_and_ensembles_need_checkpoint_members():
    config = filled("config.yaml")
    config["specialist"]["variants"]["avion"] = {"checkpoint": "avion_vitl_lavila"}
    config["specialist"]["variants"]["both"] = {"ensemble": ["avion", "hard"]}
    assert reference_errors(config) == [
        "config key 'specialist.variants.avion': public EK100 checkpoints and their ensembles need"
        " dataset ek100 (3,806-action label space)",
        "config key 'specialist.variants.both': public EK100 checkpoints and their ensembles need"
        " dataset ek100 (3,806-action label space)",
        "config key 'specialist.variants.both.ensemble[1]': 'hard' is not a checkpoint variant ['avion']",
    ]


def test_schema_knows_exactly_the_zoo():
    from actionmqa.specialist.released.zoo import RELEASES

    specialist = SCHEMA["properties"]["specialist"]["properties"]
    variant = specialist["variants"]["additionalProperties"]["properties"]
    assert variant["checkpoint"]["enum"] == list(RELEASES)
    assert specialist["checkpoint_sha256"]["propertyNames"]["enum"] == list(RELEASES)


def test_released_checkpoints_are_unpinned_until_their_sha256_is_given():
    from actionmqa.config import unpinned_downloads

    config = filled("paper.yaml")
    lines = [line for line in unpinned_downloads(config) if "specialist.checkpoint_sha256" in line]
    assert lines == [
        "config key 'specialist.checkpoint_sha256.avion_vitl_lavila': AVION ViT-L/14 (LaViLa-initialised),"
        " EK100 fine-tune is published with only an md5 prefix (1871f4) and no full checksum, so it"
        " downloads checked against that prefix only (fetch_specialist_checkpoint logs its sha256: pin that)",
        "config key 'specialist.checkpoint_sha256.lavila_tsfl_multihead': LaViLa TimeSformer-L, EK100"
        " fine-tune with verb, noun and action heads is published with only an md5 prefix (4a2509) and no"
        " full checksum, so it downloads checked against that prefix only (fetch_specialist_checkpoint"
        " logs its sha256: pin that)",
    ]
    config["specialist"]["checkpoint_sha256"] = {
        "avion_vitl_lavila": "a" * 64,
        "lavila_tsfl_multihead": "b" * 64,
    }
    assert not [line for line in unpinned_downloads(config) if "specialist.checkpoint_sha256" in line]


def test_each_trained_models_global_batch_must_split_over_its_topology(monkeypatch):
    monkeypatch.chdir(REPO)  # recipe paths are relative to the working directory
    config = filled("paper.yaml")
    assert batch_split_errors(config) == []
    config["models"]["llavaction_7b"]["nodes"] = 3
    config["models"]["base"] = {"build": "toy_base", "cpu_processes_per_node": 3}
    config["toy_base"]["recipe"] = "config/train/toy_base.yaml"
    config["models"]["ft"] = {"finetune": "base", "recipe": "config/train/missing.yaml"}
    assert batch_split_errors(config) == [
        "config key 'models.llavaction_7b': 3 nodes x 4 GPUs with recipe config/train/paper_7b.yaml:"
        " global_batch_size 256 is not a whole multiple of 12 processes x per_device_train_batch_size 1"
        " = 12 samples per micro-batch step; change the topology or the recipe so that it divides",
        "config key 'models.base': 1 node x 3 CPU processes with recipe config/train/toy_base.yaml:"
        " global_batch_size 16 is not a whole multiple of 3 processes x per_device_train_batch_size 16"
        " = 48 samples per micro-batch step; change the topology or the recipe so that it divides",
        "config key 'models.ft': recipe config/train/missing.yaml: cannot read the training recipe"
        " ([Errno 2] No such file or directory: 'config/train/missing.yaml')",
    ]
