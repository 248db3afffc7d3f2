# Stage "benchmark": EPIC-KITCHENS-100-MQA, materialised once with fixed seeds as JSONL plus a
# manifest (counts, sha256, inputs' sha256), for random, medium and hard distractors.


rule benchmark:
    input:
        get_mqa_files(),


rule mqa_build:
    input:
        annotations=get_annotation_files,
        predictions=get_distractor_predictions,
        predictions_manifest=get_distractor_manifest,
    output:
        records="results/{dataset}/mqa/{split}_{distractors}.jsonl",
        manifest="results/{dataset}/mqa/{split}_{distractors}.manifest.json",
    params:
        annotations=get_annotations_dir,
        predictions=lambda wildcards, input: (
            f"--predictions {input.predictions}" if input.predictions else ""
        ),
        predictions_manifest=lambda wildcards, input: (
            f"--predictions-manifest {input.predictions_manifest}" if input.predictions_manifest else ""
        ),
        source=get_distractor_source_name,
        options=config["mqa"]["options"],
        text=config["mqa"]["text"],
        seed=config["seed"],
    log:
        "logs/{dataset}/mqa_build_{split}_{distractors}.log",
    conda:
        "../envs/benchmark.yaml"
    shell:
        "python -m actionmqa mqa build --annotations-dir {params.annotations} --split {wildcards.split}"
        " --distractors {wildcards.distractors} {params.predictions} {params.predictions_manifest}"
        " --source-name {params.source}"
        " --options {params.options} --text {params.text} --seed {params.seed}"
        " --out {output.records} > {log} 2>&1"
