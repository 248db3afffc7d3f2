# Stage "evaluate": every model on EPIC-KITCHENS-100-MQA with random, medium and hard
# distractors, at each configured frame count: the generated answer (the paper's headline,
# parsed as upstream and strictly) and the option-likelihood view.


rule evaluate:
    input:
        get_eval_targets(),


rule eval_mqa:
    input:
        model=lambda wildcards: get_model_dir(wildcards.model),
        benchmark="results/{dataset}/mqa/validation_{distractors}.jsonl",
        index=get_video_index(),
    output:
        summary="results/{dataset}/eval/{model}/ek100_mqa_{distractors}_{frames}f.json",
        predictions="results/{dataset}/eval/{model}/ek100_mqa_{distractors}_{frames}f.predictions.jsonl",
    params:
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        batch_size=config["evaluate"]["batch_size"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
        time_instruction="--time-instruction" if config["evaluate"]["time_instruction"] else "",
    threads: 2
    resources:
        gpu=config["evaluate"]["gpus"],
    log:
        "logs/{dataset}/eval_mqa_{model}_{distractors}_{frames}f.log",
    benchmark:
        "benchmarks/{dataset}/eval_mqa_{model}_{distractors}_{frames}f.tsv"
    conda:
        "../envs/evaluate.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m actionmqa eval mqa --model {input.model}"
        " --benchmark {input.benchmark} --video-root {params.root} --layout {params.layout}"
        " --backend {params.backend} --frames {wildcards.frames} {params.time_instruction}"
        " --batch-size {params.batch_size} --max-new-tokens {params.max_new_tokens}"
        " --summary {output.summary} --predictions {output.predictions} > {log} 2>&1"
