"""The workflow definition itself: lint, dry runs of both configs, config errors."""

from __future__ import annotations

import shlex

import pytest

from actionmqa.cli import build_parser
from actionmqa.config import config_errors, load_schema
from actionmqa.train.recipe import load_recipe
from workflow_helpers import REPO, merged_config, planned_jobs, snakemake

SCHEMA = load_schema(REPO / "config" / "schemas" / "config.schema.yaml")
EVALUATION_RULES = ("eval_mqa", "eval_sap", "eval_recognition", "eval_bench", "eval_gather")
PAPER_EVAL = ("llava_video_7b", "llavaction_7b_released", "llavaction_0_5b_released", "llavaction_7b")


def flag_values(command: str, flag: str) -> list[str]:
    """The words after ``flag`` in a shell command, up to the next flag."""
    words = command.split()
    start = words.index(flag) + 1
    end = next((i for i in range(start, len(words)) if words[i][0] in "->"), len(words))
    return words[start:end]


def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


#: The toy world's built-in specialists, and the real run's public-weight ones.
BUILT_IN = ("specialist_features", "specialist_fit")
RELEASED = ("fetch_specialist_checkpoint", "specialist_convert", "specialist_score", "specialist_rank")


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_dry_run_plans_every_stage_without_data(tmp_path, configfile):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", configfiles=[configfile])
    assert result.returncode == 0, result.stderr
    planned = result.stdout + result.stderr
    specialists = RELEASED if "paper" in configfile else BUILT_IN
    for rule in ("validate_annotations", "label_map", "probe_videos", *specialists, "mqa_build"):
        assert rule in planned
    assert ("fetch_annotations" if "paper" in configfile else "toyworld") in planned


def test_toy_run_keeps_its_built_in_specialists(tmp_path):
    jobs = planned_jobs(snakemake(tmp_path, "-n", "--quiet", "rules").stdout)
    assert (jobs["specialist_features"], jobs["specialist_fit"], jobs["mqa_build"]) == (4, 2, 3)
    assert not set(RELEASED) & set(jobs)


def test_paper_run_plans_public_weights_in_shards(tmp_path):
    """AVION ViT-L (medium) and the TIM stand-in (AVION ViT-L + LaViLa TSF-L, hard): two downloads,
    two conversions, (32 train + 4 validation) shards per model, ranks for the benchmark
    (validation), the SFT mixture (train) and the accuracy summary."""
    result = snakemake(tmp_path, "-n", "-p", configfiles=["config/paper.yaml"])
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    assert {rule: jobs.get(rule) for rule in RELEASED} == {
        "fetch_specialist_checkpoint": 2,
        "specialist_convert": 2,
        "specialist_score": 2 * (32 + 4),
        "specialist_rank": 5,  # avion_vitl and tim_standin on both splits, lavila_tsfl on validation
    }
    assert not set(BUILT_IN) & set(jobs)
    out = result.stdout
    assert "--checkpoint avion_vitl_lavila" in out and "--checkpoint lavila_tsfl_multihead" in out
    assert "results/ek100/specialist/avion_vitl/scores/validation_3-of-4.npz" in out
    assert "results/ek100/specialist/lavila_tsfl/scores/train_31-of-32.npz" in out
    assert (
        "--distractors hard --predictions results/ek100/specialist/tim_standin/predictions_validation.json"
        " --predictions-manifest results/ek100/specialist/tim_standin/predictions_validation.manifest.json"
        " --source-name tim-standin_avion-vitl_lavila-tsfl" in out
    )
    assert (
        "--predictions-manifest tim=results/ek100/specialist/tim_standin/predictions_train.manifest.json"
        in out
    )
    assert "--stands-in-for TIM" in out and "resources: tmpdir=/tmp, gpu=1" in out


@pytest.mark.parametrize(
    ("configfile", "expected"),
    [
        (
            "config/config.yaml",
            ("base_tokenizer", "base_vision", "base_language", "base_init", "train_model", "eval_mqa"),
        ),
        (
            "config/paper.yaml",
            ("fetch_checkpoint", "convert_checkpoint", "sft_teacher", "train_model", "eval_mqa"),
        ),
    ],
)
def test_dry_run_plans_models_and_their_evaluation(tmp_path, configfile, expected):
    result = snakemake(tmp_path, "evaluate", "-n", "--quiet", "rules", configfiles=[configfile])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for rule in expected:
        assert rule in result.stdout + result.stderr


def test_paper_run_shards_every_evaluation_and_sap_reads_the_gathered_first_pass(tmp_path):
    result = snakemake(tmp_path, "evaluate", "-n", "-p", configfiles=["config/paper.yaml"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    jobs = planned_jobs(output)
    # 4 models; EK100-MQA at 8 and 16 frames (3 distractor sets per job), SAP and recognition at
    # 8, five benchmarks: each in 8 shard jobs, and one gather per evaluation
    assert {rule: jobs[rule] for rule in EVALUATION_RULES} == {
        "eval_mqa": 4 * 2 * 8,
        "eval_sap": 4 * 8,
        "eval_recognition": 4 * 8,
        "eval_bench": 4 * 5 * 8,
        "eval_gather": 4 * (2 * 3 + 1 + 1 + 5),
    }
    commands = [line for line in output.splitlines() if "python -m actionmqa eval " in line]
    gathered = {flag_values(line, "--predictions")[0] for line in commands if " eval gather " in line}
    first_passes = {flag_values(line, "--first-pass")[0] for line in commands if " eval sap " in line}
    assert first_passes == {
        f"results/ek100/eval/{model}/ek100_mqa_hard_8f.predictions.jsonl" for model in PAPER_EVAL
    }
    assert first_passes <= gathered  # the whole first pass, never one shard's part
    shard_flags = {tuple(flag_values(line, "--shards")) for line in commands if " eval gather " not in line}
    assert shard_flags == {("8",)}


def actionmqa_commands(output: str) -> list[list[str]]:
    """The words after ``-m actionmqa`` of each shell command in a dry run's ``-p`` output; a
    multi-node job's ``train launch-node ... -- ARGS`` gives ARGS as ``train run``'s too."""
    commands = []
    for line in output.splitlines():
        if line.startswith("Shell command:") and " -m actionmqa " in line:
            words = shlex.split(line.split(" -m actionmqa ", 1)[1].split(" > ")[0])
            if words[:2] == ["train", "launch-node"]:
                split = words.index("--")
                commands.append(["train", "run", *words[split + 1 :]])
                words = words[:split]
            commands.append(words)
    return commands


PAPER_STAGES = {"data", "video", "specialist", "mqa", "model", "bench", "sft", "train", "eval", "report"}


@pytest.mark.parametrize(
    "configfiles, targets, stages",
    [
        (
            ["config/config.yaml"],
            ("all", "perf"),
            {"toyworld", "data", "video", "specialist", "mqa", "base", "sft", "train", "eval"}
            | {"toybench", "report"},
        ),
        (["config/paper.yaml"], ("all",), PAPER_STAGES),
        (["config/paper.yaml", "config/rehearsal.yaml"], ("all",), PAPER_STAGES | {"rehearsal"}),
    ],
)
def test_every_command_of_the_plan_reads_with_the_stages_own_parser(tmp_path, configfiles, targets, stages):
    """The rules' flags and the stages' parsers are written apart: a flag renamed in one, or a
    prefix of a longer one, fails here rather than in a job hours into a run."""
    result = snakemake(tmp_path, *targets, "-n", "-p", configfiles=configfiles)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = actionmqa_commands(result.stdout + result.stderr)
    read = set()
    for words in commands:
        try:
            args = build_parser().parse_args(words)
        except SystemExit:
            pytest.fail(f"actionmqa {' '.join(words)}: not read by its parser")
        read.add(args.stage)
    assert read == stages


def test_a_prefix_of_a_flag_is_not_taken_for_it(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["eval", "throughput", "--model", "m", "--benchmark", "b", "--video-root", "v"]
            + ["--layout", "whole", "--out", "o", "--batch-size", "4"]
        )
    assert "unrecognized arguments: --batch-size 4" in capsys.readouterr().err


def test_unknown_model_in_evaluate_is_an_error(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "evaluate={'models': ['gpt5']}")
    assert result.returncode != 0
    assert "config key 'evaluate.models[0]': no model 'gpt5' in models" in result.stdout + result.stderr


def test_paper_run_chunks_videos_and_fetches_annotations(tmp_path):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", configfiles=["config/paper.yaml"])
    assert "chunk_videos" in result.stdout + result.stderr
    assert "toyworld" not in result.stdout + result.stderr


def test_bad_config_names_the_key(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "dataset=kitchen", "seed=-1")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config key 'dataset': 'kitchen' is not one of ['toy', 'ek100']" in output
    assert "config key 'seed': -1 is less than the minimum of 0" in output


def test_unknown_specialist_in_distractors_is_an_error(tmp_path):
    sources = "{'medium': {'specialist': 'medium'}, 'hard': {'specialist': 'tim'}}"
    result = snakemake(tmp_path, "-n", "--config", f"mqa={{'distractors': {sources}}}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config key 'mqa.distractors.hard.specialist': 'tim' is not one of" in output


def test_the_shipped_configs_satisfy_the_schema():
    import yaml

    for name in ("config.yaml", "paper.yaml"):
        config = yaml.safe_load((REPO / "config" / name).read_text())
        assert config_errors(config, SCHEMA) == []
    # a trial is layered over the default
    trials = sorted((REPO / "config" / "trials").glob("*.yaml"))
    assert [trial.name for trial in trials] == ["fan_in_language.yaml", "lettered_language.yaml"]
    for trial in trials:
        assert config_errors(merged_config("config/config.yaml", trial), SCHEMA) == []


def test_config_errors_lists_every_problem_with_its_path():
    errors = config_errors(
        {
            "dataset": "toy",
            "videos": {"layout": "tiles"},
            "specialist": {"folds": "5", "depth": 3, "top_k": "twenty"},
        },
        SCHEMA,
    )
    assert errors == [
        "config key 'specialist': Additional properties are not allowed ('depth' was unexpected)"
        " (unknown key: check its spelling against config/schemas/config.schema.yaml)",
        "config key 'specialist.folds': '5' is not of type 'integer' (the text reads as one: Snakemake"
        " keeps values nested in --config as text; put nested changes in a file given with --configfile)",
        "config key 'specialist.top_k': 'twenty' is not of type 'integer'",
        "config key 'videos.layout': 'tiles' is not one of ['whole', 'chunks']",
    ]


def test_a_nested_number_given_with_snakemake_config_is_named_with_the_way_round_it(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "evaluate={batch_size: 4}")
    assert result.returncode != 0
    assert (
        "config key 'evaluate.batch_size': '4' is not of type 'integer' (the text reads as one"
        in result.stdout + result.stderr
    )


@pytest.mark.parametrize(
    "cores", [["-c1"], ["-c2"], ["--profile", str(REPO / "config" / "profiles" / "local")]]
)
def test_jobs_compute_on_the_configs_threads_whatever_cores_the_run_has(tmp_path, cores):
    """The base's stages on two threads, fine-tunes and evaluations on one, also under -c1, where
    Snakemake grants every job one core: a thread count the grant decided would change the sums."""
    result = snakemake(tmp_path, "evaluate", "-n", "-p", *cores)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = [line for line in (result.stdout + result.stderr).splitlines() if "OMP_NUM_THREADS=" in line]
    threads = {}
    for line in commands:
        verb = " ".join(line.split(" -m actionmqa ")[1].split()[:2])
        target = line.split("--final ")[1].split()[0] if verb == "train run" else verb
        threads.setdefault(target, set()).add(line.split("OMP_NUM_THREADS=")[1].split()[0])
    assert threads == {
        "base vision": {"2"},
        "base language": {"2"},
        "results/toy/models/base": {"2"},
        "results/toy/models/llavaction": {"1"},
        "results/toy/models/llavaction_no_action_token": {"1"},
        "eval mqa": {"1"},
        "eval sap": {"1"},
        "eval recognition": {"1"},
        "eval bench": {"1"},
    }
    assert all("--threads 2 " in line for line in commands if " -m actionmqa base " in line)


def test_the_paper_plan_trains_the_7b_as_one_multi_node_job_with_the_papers_global_batch(tmp_path):
    """32 nodes x 4 GPUs, one srun task per node (spec/multinode.md), global batch 256 (spec §4)."""
    result = snakemake(
        tmp_path,
        "-n",
        "-p",
        *("--profile", str(REPO / "config" / "profiles" / "slurm"), "--sdm=env-modules"),
        "results/ek100/models/llavaction_7b",
        configfiles=["config/paper.yaml"],
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    jobs = output.split("\nrule ")
    (train,) = [job for job in jobs if job.startswith("train_model:")]
    resources = train.split("resources: ")[1].splitlines()[0].split(", ")
    for expected in ("nodes=32", "gres=gpu:4", "mpi=srun", "tasks=32", "tasks_per_gpu=0", "cpus_per_gpu=8"):
        assert expected in resources, resources
    assert not any(item.startswith(("gpu=", "gpu_model=")) for item in resources)  # no job-wide --gpus
    assert (
        "srun --nodes 32 --ntasks-per-node 1 --kill-on-bad-exit=1 python -m actionmqa train launch-node"
        " --nproc-per-node 4 -- --nodes 32 --processes-per-node 4 --base results/ek100/models/llava_video_7b"
    ) in train
    assert "--recipe config/train/paper_7b.yaml" in train
    recipe = load_recipe(REPO / "config" / "train" / "paper_7b.yaml")
    assert (recipe.global_batch_size, recipe.per_device_train_batch_size) == (256, 1)


def base_commands(output: str) -> dict[str, str]:
    """``{verb: shell command}`` of the ``actionmqa base`` jobs in a dry run's ``-p`` output."""
    return {
        line.split(" -m actionmqa base ")[1].split()[0]: line
        for line in output.splitlines()
        if " -m actionmqa base " in line
    }


def test_the_lettered_language_trial_changes_the_language_model_and_the_heads_after_it(tmp_path):
    result = snakemake(
        tmp_path,
        "-n",
        "-p",
        "results/toy/base/init",
        configfiles=["config/config.yaml", "config/trials/lettered_language.yaml"],
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = base_commands(result.stdout + result.stderr)
    language = commands["language"]
    assert flag_values(language, "--heads") == ["8"] and flag_values(language, "--steps") == ["2000"]
    assert flag_values(language, "--layout") == ["lines"]
    assert flag_values(language, "--choose-answer") == ["lettered"]
    assert flag_values(commands["init"], "--heads") == ["8"]  # base init must load that model


def test_the_language_models_seed_is_the_runs_unless_it_has_its_own(tmp_path):
    default = base_commands(snakemake(tmp_path, "-n", "-p", "results/toy/base/init").stdout)
    assert flag_values(default["language"], "--seed") == ["0"]
    assert flag_values(default["language"], "--layout") == ["inline"]
    assert flag_values(default["language"], "--choose-answer") == ["text"]
    own = tmp_path / "language_seed.yaml"
    own.write_text("toy_base: {language_seed: 3}\n")
    result = snakemake(tmp_path, "-n", "-p", "results/toy/base/init", configfiles=["config/config.yaml", own])
    commands = base_commands(result.stdout + result.stderr)
    assert flag_values(commands["language"], "--seed") == ["3"]
    assert flag_values(commands["vision"], "--seed") == flag_values(commands["init"], "--seed") == ["0"]


def test_the_schemas_base_knobs_default_to_the_recipes_and_offer_their_choices():
    """``toy_base``'s ``vision_*`` and ``language_*`` keys that are recipe fields under the stage's
    prefix: the schema's default is the field's, and an enum is the field's ``Literal``."""
    from dataclasses import fields
    from typing import get_args, get_type_hints

    from actionmqa.basemodel.recipes import LanguageRecipe, VisionRecipe

    toy_base = SCHEMA["properties"]["toy_base"]["properties"]
    tied = []
    for prefix, recipe in (("vision_", VisionRecipe), ("language_", LanguageRecipe)):
        hints = get_type_hints(recipe)
        for spec in fields(recipe):
            key = prefix + spec.name
            if key not in toy_base or spec.name == "seed":  # the seed: null means the run's
                continue
            tied.append(key)
            assert toy_base[key]["default"] == spec.default, key
            if "enum" in toy_base[key]:
                assert tuple(toy_base[key]["enum"]) == get_args(hints[spec.name]), key
    # vision steps, batch size, lr; language the same, initializer range, layout, choose answer
    assert len(tied) == 9, tied


def test_the_base_rules_pass_their_recipes_through_the_stages_own_parser(tmp_path):
    """The dry run's ``base vision`` and ``base language`` commands, read by ``actionmqa``'s parser,
    give the recipes' defaults (the default config sets none), and a knob set in a config file
    reaches its recipe."""
    from actionmqa.basemodel.recipes import LanguageRecipe, VisionRecipe
    from actionmqa.flags import from_arguments

    def recipes(configfiles):
        result = snakemake(tmp_path, "-n", "-p", "results/toy/base/init", configfiles=configfiles)
        assert result.returncode == 0, result.stderr[-3000:]
        planned = actionmqa_commands(result.stdout + result.stderr)
        commands = {words[1]: words for words in planned if words[0] == "base"}
        return {
            verb: from_arguments(recipe, build_parser().parse_args(commands[verb]))
            for verb, recipe in (("vision", VisionRecipe), ("language", LanguageRecipe))
        }

    assert recipes(["config/config.yaml"]) == {"vision": VisionRecipe(), "language": LanguageRecipe()}
    assert recipes(["config/config.yaml", "config/trials/fan_in_language.yaml"])["language"] == (
        LanguageRecipe(initializer_range=128**-0.5)
    )
    own = tmp_path / "knobs.yaml"
    own.write_text("toy_base: {vision_lr: 0.001, language_batch_size: 8, language_layout: lines}\n")
    assert recipes(["config/config.yaml", own]) == {
        "vision": VisionRecipe(lr=0.001),
        "language": LanguageRecipe(batch_size=8, layout="lines"),
    }
