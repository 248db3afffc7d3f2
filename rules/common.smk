# Config validation, the command every rule calls, and the input functions (get_*) of the DAG.

import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# Rules run `python -m actionmqa` from the package under workflow/, so a checkout works in any
# environment that has the dependencies (conda envs/ included) without installing the package,
# and editing package code never counts as a changed rule script.
PACKAGE_ROOT = Path(workflow.basedir) / "workflow"
# (Snakemake formats the prefix too: doubled braces reach bash as single ones.)
shell.prefix(f"set -euo pipefail; export PYTHONPATH='{PACKAGE_ROOT}'${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

sys.path.insert(0, str(PACKAGE_ROOT))
from actionmqa.config import (
    batch_split_errors,
    config_errors,
    format_config_errors,
    load_schema,
    reference_errors,
    unpinned_downloads,
    variant_kind,
)
from actionmqa.model.provenance import mismatched_model_dirs, model_kind
from actionmqa.sft.mixture import load_mixture
from actionmqa.specialist.released.zoo import RELEASES
from actionmqa.train.topology import Topology

SCHEMA = Path(workflow.basedir) / "config" / "schemas" / "config.schema.yaml"
if problems := config_errors(config, load_schema(SCHEMA)):
    raise WorkflowError(format_config_errors("schema: config/schemas/config.schema.yaml", problems))
validate(config, "../config/schemas/config.schema.yaml")  # fills in the schema's defaults

if problems := reference_errors(config):
    raise WorkflowError(format_config_errors("names that must refer to defined entries", problems))

if problems := batch_split_errors(config):
    raise WorkflowError(format_config_errors("each trained model's global batch over its topology", problems))

# Downloads whose bytes the config does not fix: refused by a frozen run, else loud warnings.
if problems := unpinned_downloads(config):
    if config["frozen"]:
        raise WorkflowError(format_config_errors("frozen: true needs every download pinned", problems))
    print(
        "\n  ".join(["WARNING: unpinned downloads (frozen: true would refuse them):", *problems]),
        file=sys.stderr,
    )

DATASET = config["dataset"]

# The rehearsal (config/rehearsal.yaml) writes the real run's paths: its outputs are never taken
# for a real run's.
if "rehearsal" not in config and Path("results/rehearsal").exists():
    raise WorkflowError(
        "results/ holds the rehearsal's outputs (config/rehearsal.yaml): run the real run in a working"
        " directory of its own, or delete results/ first"
    )
SPLITS = ("train", "validation")
DISTRACTORS = ("random", "medium", "hard")

# A model folder made by another kind of producer than the config now declares is never reused.
if problems := mismatched_model_dirs(config["models"], Path("results") / DATASET / "models"):
    raise WorkflowError("\n  ".join(["model folders of another kind than the config declares:", *problems]))


def name_pattern(names):
    """A wildcard constraint matching exactly these names (nothing when there are none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    dataset=DATASET,
    split="|".join(SPLITS),
    distractors="|".join(DISTRACTORS),
    variant=name_pattern(config["specialist"]["variants"]),
    checkpoint=name_pattern(RELEASES),
    shard=r"\d+",
    shards=r"\d+",
    feature_set="appearance|full",
    mixture="train|base",
    model=name_pattern(config["models"]),
    frames=r"\d+",
    benchmark="egoschema|perceptiontest|longvideobench|videomme|mvbench",
    top_k=r"\d+",


# ---------------------------------------------------------------- data

TOY_ANNOTATION_FILES = (
    "EPIC_100_train.csv",
    "EPIC_100_validation.csv",
    "EPIC_100_verb_classes.csv",
    "EPIC_100_noun_classes.csv",
    "EPIC_100_video_info.csv",
    "EPIC_100_unseen_participant_ids_validation.csv",
    "EPIC_100_tail_verbs.csv",
    "EPIC_100_tail_nouns.csv",
)


def get_annotations_dir(wildcards=None):
    """The folder holding the EK100-format CSVs: rendered (toy) or downloaded (ek100)."""
    return "results/toy/world/annotations" if DATASET == "toy" else "results/ek100/annotations"


def get_annotation_files(wildcards=None):
    files = TOY_ANNOTATION_FILES if DATASET == "toy" else config["annotations"]["files"]
    return [f"{get_annotations_dir()}/{name}" for name in files]


def get_split_csv(wildcards):
    return f"{get_annotations_dir()}/EPIC_100_{wildcards.split}.csv"


def get_source_video_root(wildcards=None):
    """Videos in the official layout: the toy world's render, or the user's EK100 copy."""
    return "results/toy/world/videos" if DATASET == "toy" else config["videos"]["root"]


def get_source_videos(wildcards=None):
    """What the DAG can track of the source videos: the toy render, or the report proving every
    EK100 video the annotations need is in the user's root (fetched first when configured)."""
    return ["results/toy/world/videos"] if DATASET == "toy" else [f"results/{DATASET}/video/source.json"]


def get_read_video_root(wildcards=None):
    """The tree clips are decoded from, in the configured layout."""
    if config["videos"]["layout"] == "chunks":
        return f"results/{DATASET}/video/chunks"
    return get_source_video_root()


def rehearsal_standin(*path):
    """A stand-in rules/rehearsal.smk makes before the download that reads it (config/rehearsal.yaml);
    nothing in a real run."""
    return [f"results/rehearsal/{'/'.join(path)}"] if "rehearsal" in config else []


def get_video_index(wildcards=None):
    """Proof that every video the annotations need exists and opens (rules depend on it)."""
    return f"results/{DATASET}/video/index.json"


# ---------------------------------------------------------------- specialist


VARIANTS = config["specialist"]["variants"]


def variants_of_kind(*kinds):
    """Specialist variants by kind: ``features`` (built-in), ``checkpoint``, ``ensemble``."""
    return [name for name, spec in VARIANTS.items() if variant_kind(spec) in kinds]


def get_specialist_features(wildcards):
    feature_set = VARIANTS[wildcards.variant]["feature_set"]
    return {
        split: f"results/{wildcards.dataset}/specialist/features/{split}_{feature_set}.npz"
        for split in SPLITS
    }


def get_specialist_metrics(wildcards=None):
    """Each variant's accuracies: a built-in one's metrics.json, else its validation manifest."""
    return {
        name: f"results/{DATASET}/specialist/{name}/metrics.json"
        if variant_kind(VARIANTS[name]) == "features"
        else f"results/{DATASET}/specialist/{name}/predictions_validation.manifest.json"
        for name in VARIANTS
    }


def get_checkpoint_dir(variant):
    """The converted weights of a checkpoint variant."""
    return f"results/{DATASET}/specialist/checkpoints/{VARIANTS[variant]['checkpoint']}/converted"


def get_release_source(wildcards):
    """``--url URL`` for a release fetched from a mirror (config specialist.releases), else nothing."""
    url = config["specialist"]["releases"].get(wildcards.checkpoint, {}).get("url")
    return f"--url {shlex.quote(url)}" if url else ""


def get_release_sizes(wildcards):
    """``--sizes FIELD=N ...`` for a release of other sizes than published, else nothing."""
    sizes = config["specialist"]["releases"].get(wildcards.checkpoint, {}).get("sizes", {})
    return f"--sizes {' '.join(f'{k}={v}' for k, v in sizes.items())}" if sizes else ""


def get_checkpoint_sha256(wildcards):
    """``--sha256 HEX`` when the config pins the checkpoint, else nothing (md5 prefix only)."""
    pin = config["specialist"]["checkpoint_sha256"].get(wildcards.checkpoint)
    return f"--sha256 {pin}" if pin else ""


def score_shards(variant, split):
    """The score files of a checkpoint variant on a split, in row order."""
    shards = config["specialist"]["shards"][split]
    return [
        f"results/{DATASET}/specialist/{variant}/scores/{split}_{shard}-of-{shards}.npz"
        for shard in range(shards)
    ]


def get_rank_members(wildcards):
    """The members whose scores a variant's predictions rank: itself, or its ensemble's members."""
    members = VARIANTS[wildcards.variant].get("ensemble", [wildcards.variant])
    return {member: score_shards(member, wildcards.split) for member in members}


def get_prediction_manifest(source, split):
    """The manifest beside a public-weights specialist's predictions (sources, in-sample note);
    none for built-in specialists and user files."""
    if "specialist" in source and variant_kind(VARIANTS[source["specialist"]]) != "features":
        return f"results/{DATASET}/specialist/{source['specialist']}/predictions_{split}.manifest.json"
    return []


# ---------------------------------------------------------------- benchmark


def predictions_of(source, split, where):
    """The ranked-prediction file of a distractor source on a split: a built-in specialist's
    output, or the user's TIM/AVION file named in the config at ``where``."""
    if "specialist" in source:
        return f"results/{DATASET}/specialist/{source['specialist']}/predictions_{split}.json"
    try:
        return source["predictions"][split]
    except KeyError:
        raise WorkflowError(
            f"config key '{where}.predictions.{split}': no prediction file given for split {split}"
        ) from None


def get_distractor_predictions(wildcards):
    """The ranked-prediction file behind medium/hard distractors (none for random)."""
    if wildcards.distractors == "random":
        return []
    source = config["mqa"]["distractors"][wildcards.distractors]
    return predictions_of(source, wildcards.split, f"mqa.distractors.{wildcards.distractors}")


def get_distractor_manifest(wildcards):
    """The manifest of the predictions behind medium/hard distractors, when it has one."""
    if wildcards.distractors == "random":
        return []
    return get_prediction_manifest(config["mqa"]["distractors"][wildcards.distractors], wildcards.split)


def get_distractor_source_name(wildcards):
    if wildcards.distractors == "random":
        return "random"
    source = config["mqa"]["distractors"][wildcards.distractors]
    return source.get("name") or f"specialist-{source['specialist']}"


# ---------------------------------------------------------------- sft


def get_sft_mixture(wildcards):
    """``train``: the LLaVAction mixture; ``base``: the toy base model's instruction data."""
    return config["sft"]["mixture"] if wildcards.mixture == "train" else config["toy_base"]["mixture"]


def get_sft_predictions(wildcards):
    """Train-split predictions of every hard-MQA source, by task name (the base mixture has none)."""
    if wildcards.mixture == "base":
        return {}
    return {
        name: predictions_of(source, "train", f"sft.hard_mqa.{name}")
        for name, source in config["sft"]["hard_mqa"].items()
    }


def get_sft_replay(wildcards):
    """The replay files the mixture lists: LLaVA-Video-178K's (paper), or the toy base model's own
    instruction data, which this workflow builds (``results/toy/sft/base.jsonl``)."""
    return [path.as_posix() for path in load_mixture(Path(get_sft_mixture(wildcards))).replay.files]


def get_sft_prediction_manifests(wildcards):
    """Manifests of public-weights train predictions (in-sample), as ``manifest_<task>``."""
    if wildcards.mixture == "base":
        return {}
    manifests = {
        name: get_prediction_manifest(source, "train") for name, source in config["sft"]["hard_mqa"].items()
    }
    return {f"manifest_{name}": path for name, path in manifests.items() if path}


def get_sft_clip_texts(wildcards=None):
    """Captions and QA: the toy world's scene descriptions, or the teacher's outputs."""
    if config["sft"]["clip_texts"] == "scenes":
        return "results/toy/world/scenes.jsonl"
    return f"results/{DATASET}/sft/teacher.jsonl"


# ---------------------------------------------------------------- models


def models_of_kind(*kinds):
    """The configured models of these kinds (build, finetune, hub), in config order."""
    return [name for name, spec in config["models"].items() if model_kind(spec) in kinds]


def model_spec(name):
    try:
        return config["models"][name]
    except KeyError:
        raise WorkflowError(f"config key 'models.{name}': no such model; known: {sorted(config['models'])}") from None


def needs_toy_base():
    return bool(models_of_kind("build"))


def get_model_dir(name):
    return f"results/{DATASET}/models/{name}"


def get_train_inputs(wildcards):
    """What a trained model starts from, by its kind: a fine-tune, its base model and the
    LLaVAction mixture; the toy base (stage 2), the assembled model and the base mixture.
    (train_model's wildcard constraint admits only these two kinds: hub models are converted.)"""
    spec = model_spec(wildcards.model)
    kind = model_kind(spec)
    if kind == "finetune":
        return {
            "base": get_model_dir(spec["finetune"]),
            "data": f"results/{DATASET}/sft/train.jsonl",
            "recipe": spec["recipe"],
        }
    if kind == "build":
        return {
            "base": "results/toy/base/init",
            "data": "results/toy/sft/base.jsonl",
            "recipe": config["toy_base"]["recipe"],
        }
    raise WorkflowError(f"config key 'models.{wildcards.model}': a {kind} model is not trained")


def get_base_recipe_flags(stage):
    """toy_base's ``<stage>_*`` keys as ``base <stage>``'s flags (``vision_batch_size: 32`` is
    ``--batch-size 32``): a recipe knob added to the schema reaches its stage without a rule edit
    (tests/test_workflow_static.py ties the keys to the recipes). The language model's seed is
    get_language_seed's."""
    prefix = f"{stage}_"
    return " ".join(
        f"--{key.removeprefix(prefix).replace('_', '-')} {shlex.quote(str(value))}"
        for key, value in sorted(config["toy_base"].items())
        if key.startswith(prefix) and key != "language_seed"
    )


def get_language_seed():
    """The toy base language model's seed: its own (toy_base.language_seed), else the run's."""
    seed = config["toy_base"]["language_seed"]
    return config["seed"] if seed is None else seed


def get_train_topology(wildcards):
    """The trained model's nodes x processes (models.<name>: nodes, gpus_per_node, cpu_processes_per_node)."""
    return Topology.of_model(model_spec(wildcards.model))


def get_train_process_threads(wildcards):
    """CPU threads each training process computes on: the model's ``threads`` for a fine-tune (one:
    a model and its ablation train side by side, and tiny CPU models scale poorly past one thread),
    ``toy_base.threads`` for the toy base's stage 2 (two: it trains alone, every later job waits).

    The rule passes this fixed number to OMP_NUM_THREADS, never one derived from ``{threads}``
    (what Snakemake grants, scaled by -c): a model trained on another count differs in its sums.
    """
    spec = model_spec(wildcards.model)
    return spec.get("threads", 1) if model_kind(spec) == "finetune" else config["toy_base"]["threads"]


def get_train_threads(wildcards):
    """The training job's threads: its processes' (times a CPU node's processes; on a cluster, a
    GPU job's CPUs are the profile's cpus_per_gpu)."""
    topology = get_train_topology(wildcards)
    return get_train_process_threads(wildcards) * (1 if topology.on_gpu else topology.processes_per_node)


def get_train_resource(name):
    """An input function for one SLURM resource of the training job (``Topology.slurm_resources``);
    ``None`` leaves it out."""
    return lambda wildcards: get_train_topology(wildcards).slurm_resources().get(name)


def get_train_launcher(wildcards, resources):
    """The command that starts ``actionmqa train run`` on the model's topology (python, torchrun, or
    an ``srun`` step of one task per node, ``resources.mpi`` being that step's launcher)."""
    step = getattr(resources, "mpi", "srun")
    return shlex.join(get_train_topology(wildcards).launcher(step=step))


def get_eval_targets(wildcards=None):
    """Every summary of every evaluated model: EK100-MQA per distractors and frames, SAP and
    two-stage recognition at the first frame count, and the five other benchmarks."""
    evaluate = config["evaluate"]
    frames = evaluate["frames"][0]
    targets = []
    for model in evaluate["models"]:
        targets += [
            f"results/{DATASET}/eval/{model}/ek100_mqa_{distractors}_{n}f.json"
            for distractors in DISTRACTORS
            for n in evaluate["frames"]
        ]
        targets += [
            f"results/{DATASET}/eval/{model}/ek100_mqa_hard_{frames}f_sap.json",
            f"results/{DATASET}/eval/{model}/recognition_top{evaluate['recognition_top_k']}_{frames}f.json",
        ]
        targets += [f"results/{DATASET}/eval/{model}/{name}.json" for name in evaluate["benchmarks"]]
    return targets


# Evaluation jobs, whole or sharded (rules/evaluate.smk says how the two differ).
SHARDS = config["evaluate"]["shards"]


def eval_outputs(*stems):
    """The outputs of an evaluation job over the named evaluations (``results/.../<name>``): their
    summaries and predictions, or with several shards each one's part of shard ``{shard}``."""
    if SHARDS == 1:
        return {
            "summary": [f"{stem}.json" for stem in stems],
            "predictions": [f"{stem}.predictions.jsonl" for stem in stems],
        }
    return {"part": [shard_part(stem, "{shard}") for stem in stems]}


def shard_part(stem, shard):
    """Where shard ``shard`` of the evaluation ``results/.../<name>`` leaves its answers."""
    folder, name = stem.rsplit("/", 1)
    return f"{folder}/shards/{name}.{shard}-of-{SHARDS}.jsonl"


def get_shard_parts(wildcards):
    """Every shard's part of one evaluation, in shard order (eval_gather's input)."""
    stem = f"results/{wildcards.dataset}/eval/{wildcards.model}/{wildcards.evaluation}"
    return [shard_part(stem, shard) for shard in range(SHARDS)]


def eval_target(predictions_flag):
    """The command's output flags: a whole evaluation's, or one shard's."""

    def flags(wildcards, output):
        if SHARDS == 1:
            return f"--summary {output.summary} {predictions_flag} {output.predictions}"
        return f"--shard {wildcards.shard} --shards {SHARDS} --part {output.part}"

    return flags


def per_shard(stem, ext):
    """A job's log or benchmark file: one per shard when sharded."""
    return f"{stem}.{ext}" if SHARDS == 1 else f"{stem}.shard{{shard}}-of-{SHARDS}.{ext}"


def get_benchmark_data(wildcards=None):
    """Where the five benchmarks live: the toy versions, or the user's downloads."""
    if DATASET == "toy":
        return "results/toy/benchmarks"
    return config["evaluate"]["benchmark_root"]


def get_benchmark_inputs(wildcards=None):
    """The toy benchmarks' manifest, or the manifest of each benchmark's fetched (or checked)
    folder: the one of ``wildcards.benchmark`` when there is one, else all evaluated ones."""
    if DATASET == "toy":
        return ["results/toy/benchmarks/manifest.json"]
    names = [wildcards.benchmark] if hasattr(wildcards, "benchmark") else config["evaluate"]["benchmarks"]
    return [f"results/{DATASET}/benchmarks/{name}.json" for name in names]


def hub_args(spec):
    """``--repo R --revision V [--allow-pattern G ...]`` of a hub source, shell-quoted (globs!)."""
    args = ["--repo", spec["hub"], "--revision", spec["revision"]]
    if spec.get("allow_patterns"):
        args += ["--allow-pattern", *spec["allow_patterns"]]
    return " ".join(shlex.quote(a) for a in args)


def get_hub_cache_args(wildcards=None):
    """``--cache-dir DIR`` and ``--offline`` of the hub downloads, from config key ``hub``."""
    args = []
    if config["hub"]["cache_dir"]:
        args += ["--cache-dir", shlex.quote(config["hub"]["cache_dir"])]
    if config["hub"]["offline"]:
        args.append("--offline")
    return " ".join(args)


def get_benchmark_source_args(wildcards):
    """Hub arguments of ``bench fetch`` for a benchmark with a source; none: check the folder only."""
    spec = config["evaluate"]["benchmark_sources"].get(wildcards.benchmark)
    return hub_args(spec) if spec else ""


def get_mqa_files(wildcards=None):
    return [
        f"results/{DATASET}/mqa/{split}_{distractors}.jsonl"
        for split in config["mqa"]["splits"]
        for distractors in DISTRACTORS
    ]


# ---------------------------------------------------------------- report


def get_paper_results(wildcards=None):
    """The paper's numbers the tables and figures place beside ours."""
    return config["report"]["paper_results"]


def get_report_summaries(wildcards=None):
    """Exactly the evaluation summaries the config produces: tables and figures read them all."""
    return get_eval_targets()


def get_wording_predictions(wildcards=None):
    """The EK100-MQA predictions of every evaluated model, distractor set and frame count, in that order."""
    return [
        f"results/{DATASET}/eval/{model}/ek100_mqa_{distractors}_{n}f.predictions.jsonl"
        for model in config["evaluate"]["models"]
        for distractors in DISTRACTORS
        for n in config["evaluate"]["frames"]
    ]


def get_letters_predictions(wildcards=None):
    """The benchmark predictions of every evaluated model and benchmark, in that order."""
    return [
        f"results/{DATASET}/eval/{model}/{name}.predictions.jsonl"
        for model in config["evaluate"]["models"]
        for name in config["evaluate"]["benchmarks"]
    ]


def get_report_specialist_metrics(wildcards=None):
    """The workflow's specialists' metrics, when the medium distractors come from one (its top-1
    is the AVION row of the recognition table; the hard one's is in every recognition summary)."""
    if "specialist" in config["mqa"]["distractors"]["medium"]:
        return [f"results/{DATASET}/specialist/metrics.json"]
    return []


def get_distractor_source_labels(wildcards=None):
    """``--distractor-sources ROLE=NAME`` for the sources the config names (the TIM stand-in's
    name goes on its table row); nothing when none is named, as in the toy world."""
    named = [
        f"{role}={source['name']}"
        for role, source in config["mqa"]["distractors"].items()
        if "name" in source
    ]
    return f"--distractor-sources {' '.join(named)}" if named else ""


def get_report_loss_curves(wildcards=None):
    """The loss curve of every evaluated model this run trains (the toy base, fine-tunes), by model."""
    trained = [name for name in config["evaluate"]["models"] if name in models_of_kind("build", "finetune")]
    return {name: f"results/{DATASET}/train/{name}/loss.csv" for name in trained}


def get_paper_models(wildcards=None):
    """``MODEL=PAPER_ID`` for every evaluated model that names the paper's model it stands for."""
    return [
        f"{name}={model_spec(name)['paper']}"
        for name in config["evaluate"]["models"]
        if "paper" in model_spec(name)
    ]
