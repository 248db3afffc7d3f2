# Stage "perf": throughput figures, always as ratios to a baseline measured in the same run.
# Not part of `all`: run `snakemake -c1 perf` on an idle machine.

import re

from actionmqa.model.presets import SHAPES


rule perf:
    input:
        f"results/{DATASET}/perf/video_decoding.json",


rule perf_video_decoding:
    input:
        segments=f"{get_annotations_dir()}/EPIC_100_validation.csv",
        index=get_video_index(),
    output:
        "results/{dataset}/perf/video_decoding.json",
    params:
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        frames=config["specialist"]["frames"],
    log:
        "logs/{dataset}/perf_video_decoding.log",
    conda:
        "../envs/video.yaml"
    shell:
        "python -m actionmqa video benchmark --video-root {params.root} --layout {params.layout}"
        " --segments {input.segments} --frames {params.frames} --out {output} > {log} 2>&1"


# Evaluation throughput of a published architecture with random weights (the issue's GPU check):
# questions per second of EK100-MQA at batch sizes 1, 4 and 16 on the toy world's clips, and the
# share of answers each batch size leaves as they are at batch 1. On a GPU node, with the default
# (toy) config:
#   snakemake -c all results/toy/perf/eval_throughput_llava-onevision-qwen2-0.5b.json
# Clips are the toy world's, decoded at 64 px and resized to the tower's 384 px: decoding costs
# less than on EK100's videos, the model's work is the same.


rule perf_random_model:
    wildcard_constraints:
        shape="|".join(map(re.escape, SHAPES)),
    input:
        tokenizer="results/toy/base/tokenizer",
    output:
        temp(directory("results/{dataset}/perf/models/{shape}")),
    log:
        "logs/{dataset}/perf_random_model_{shape}.log",
    conda:
        "../envs/evaluate.yaml"
    shell:
        "python -m actionmqa model random --shape {wildcards.shape} --tokenizer {input.tokenizer}"
        " --out {output} > {log} 2>&1"


rule perf_eval_throughput:
    input:
        model="results/{dataset}/perf/models/{shape}",
        benchmark="results/{dataset}/mqa/validation_random.jsonl",
        index=get_video_index(),
    output:
        "results/{dataset}/perf/eval_throughput_{shape}.json",
    params:
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        frames=config["evaluate"]["frames"][0],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/{dataset}/perf_eval_throughput_{shape}.log",
    conda:
        "../envs/evaluate.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m actionmqa eval throughput --model {input.model}"
        " --benchmark {input.benchmark} --video-root {params.root} --layout {params.layout}"
        " --backend {params.backend} --frames {params.frames} --max-new-tokens {params.max_new_tokens}"
        " --batch-sizes 1 4 16 --limit 64 --out {output} > {log} 2>&1"
