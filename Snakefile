# actionmqa: the LLaVAction paper, end to end, as one Snakemake DAG.
#
#   snakemake -c all                                   # the embedded toy world, offline, on a CPU
#   snakemake --configfile config/paper.yaml --profile config/profiles/slurm
#
# Stages and their targets (read rules/ top to bottom to know the pipeline):
#   data        annotations (toy world or EK100 download), validation report, label map, videos
#   specialist  the distractor sources: order-blind clip classifiers (toy, cross-validated) or public
#               EK100 checkpoints (AVION, LaViLa, their TIM stand-in ensemble) in sharded GPU jobs
#   benchmark   EPIC-KITCHENS-100-MQA: random, medium and hard distractors, frozen JSONL + manifests
#   sft         the reformulated training mixture (hard/random MQA, prior actions, direct narration,
#               temporal detection, captions and open QA) as LLaVA conversation JSONL
#   train       models: the toy base (built in stages), LLaVAction fine-tunes (HF Trainer + DeepSpeed),
#               hub checkpoints converted from LLaVA-NeXT's format
#   evaluate    every model on EPIC-KITCHENS-100-MQA (random, medium, hard) per frame count
#   report      the paper's tables (tables: CSV, Markdown, LaTeX) and figures (figures: PNG, SVG),
#               the paper's values beside ours; `snakemake --report results/report.html report_targets`
#   perf        decoding throughput of the video backends, as ratios to a baseline of the same run

import copy

configfile: "config/config.yaml"


# config/config.yaml is the embedded default (the toy world). A run given its own config files
# (`--configfile config/paper.yaml ...`) is defined by those files and the schema's defaults
# alone: no key of the toy default leaks into it. To layer over the toy default, list it first.
if workflow.overwrite_configfiles:
    config.clear()
    config.update(copy.deepcopy(workflow.config_settings.overwrite_config))


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/specialist.smk"
include: "rules/benchmark.smk"
include: "rules/sft.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/perf.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.specialist.input,
        rules.benchmark.input,
        rules.sft.input,
        rules.evaluate.input,
        rules.report_targets.input,
