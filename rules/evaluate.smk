# Stage "evaluate": every model on EPIC-KITCHENS-100-MQA with random, medium and hard
# distractors, at each configured frame count: the generated answer (the paper's headline,
# parsed as upstream and strictly) and the option-likelihood view; sequential action prediction
# (SAP, a second pass that sees the model's own earlier answers); two-stage action recognition
# (the specialist's top-K, the model picks); and EgoSchema, Perception Test, LongVideoBench,
# Video-MME and MVBench, scored in lmms-eval's, the authors' and a strict parser mode.
#
# Sharding (evaluate.shards): with 1 (the toy default) each rule below is one job writing its
# summary and predictions. With N > 1 each is N jobs of one GPU, shard i writing the answers of
# its contiguous run of batches to results/<dataset>/eval/<model>/shards/<name>.<i>-of-<N>.jsonl,
# and eval_gather merges them in question order into the same summary and predictions, byte for
# byte. SAP reads the gathered first pass: a clip's predecessors can sit in any shard.
# Resuming: a job's answers accumulate in <output>.progress.jsonl beside its output, batch by
# batch, and a rerun after a crash asks only what is left. That file is no output, since
# Snakemake deletes a failed job's outputs; the job removes it once its outputs are written.
#
# Jobs compute on params.threads (evaluate.threads), never on {threads}, the scheduler's grant,
# which -c scales: answers must not depend on the machine's load (common.smk: get_train_process_threads).


rule evaluate:
    input:
        get_eval_targets(),


rule eval_mqa:
    # The three distractor sets in one process: they ask about the same clips, and a job's
    # start (importing torch and transformers, loading the model) costs as much as a toy set.
    input:
        model=lambda wildcards: get_model_dir(wildcards.model),
        benchmarks=expand("results/{{dataset}}/mqa/validation_{distractors}.jsonl", distractors=DISTRACTORS),
        index=get_video_index(),
    output:
        **eval_outputs(
            *expand("results/{{dataset}}/eval/{{model}}/ek100_mqa_{distractors}_{{frames}}f", distractors=DISTRACTORS)
        ),
    params:
        threads=config["evaluate"]["threads"],
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        batch_size=config["evaluate"]["batch_size"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
        time_instruction="--time-instruction" if config["evaluate"]["time_instruction"] else "",
        target=eval_target("--predictions"),
    # Evaluations of a model start longest first (MQA, then recognition and SAP, then the
    # benchmarks), and MQA is what SAP waits on: short jobs fill the end of a run instead of one
    # SAP job running alone on a small machine (34 s of a core idle in the last toy run).
    priority: 2
    threads: config["evaluate"]["threads"]
    resources:
        gpu=config["evaluate"]["gpus"],
    log:
        per_shard("logs/{dataset}/eval_mqa_{model}_{frames}f", "log"),
    benchmark:
        per_shard("benchmarks/{dataset}/eval_mqa_{model}_{frames}f", "tsv")
    conda:
        "../envs/evaluate.yaml"
    shell:
        "OMP_NUM_THREADS={params.threads} python -m actionmqa eval mqa --model {input.model}"
        " --benchmark {input.benchmarks} --video-root {params.root} --layout {params.layout}"
        " --backend {params.backend} --frames {wildcards.frames} {params.time_instruction}"
        " --batch-size {params.batch_size} --max-new-tokens {params.max_new_tokens}"
        " {params.target} > {log} 2>&1"


rule eval_sap:
    input:
        model=lambda wildcards: get_model_dir(wildcards.model),
        benchmark="results/{dataset}/mqa/validation_hard.jsonl",
        first_pass="results/{dataset}/eval/{model}/ek100_mqa_hard_{frames}f.predictions.jsonl",
        annotations=get_annotation_files,
    output:
        **eval_outputs("results/{dataset}/eval/{model}/ek100_mqa_hard_{frames}f_sap"),
    params:
        threads=config["evaluate"]["threads"],
        annotations=get_annotations_dir,
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        batch_size=config["evaluate"]["batch_size"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
        time_instruction="--time-instruction" if config["evaluate"]["time_instruction"] else "",
        target=eval_target("--predictions"),
    # longer than a benchmark job (see eval_mqa)
    priority: 1
    threads: config["evaluate"]["threads"]
    resources:
        gpu=config["evaluate"]["gpus"],
    log:
        per_shard("logs/{dataset}/eval_sap_{model}_{frames}f", "log"),
    conda:
        "../envs/evaluate.yaml"
    shell:
        "OMP_NUM_THREADS={params.threads} python -m actionmqa eval sap --model {input.model}"
        " --benchmark {input.benchmark} --first-pass {input.first_pass}"
        " --annotations-dir {params.annotations} --video-root {params.root} --layout {params.layout}"
        " --backend {params.backend} --frames {wildcards.frames} {params.time_instruction}"
        " --batch-size {params.batch_size} --max-new-tokens {params.max_new_tokens}"
        " {params.target} > {log} 2>&1"


rule eval_recognition:
    input:
        model=lambda wildcards: get_model_dir(wildcards.model),
        specialist=lambda wildcards: predictions_of(
            config["mqa"]["distractors"]["hard"], "validation", "mqa.distractors.hard"
        ),
        annotations=get_annotation_files,
    output:
        **eval_outputs("results/{dataset}/eval/{model}/recognition_top{top_k}_{frames}f"),
    params:
        threads=config["evaluate"]["threads"],
        annotations=get_annotations_dir,
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        text=config["evaluate"]["recognition_text"],
        batch_size=config["evaluate"]["batch_size"],
        max_new_tokens=config["evaluate"]["max_new_tokens"],
        time_instruction="--time-instruction" if config["evaluate"]["time_instruction"] else "",
        seed=config["seed"],
        target=eval_target("--predictions-out"),
    # longer than a benchmark job (see eval_mqa)
    priority: 1
    threads: config["evaluate"]["threads"]
    resources:
        gpu=config["evaluate"]["gpus"],
    log:
        per_shard("logs/{dataset}/eval_recognition_{model}_top{top_k}_{frames}f", "log"),
    conda:
        "../envs/evaluate.yaml"
    shell:
        "OMP_NUM_THREADS={params.threads} python -m actionmqa eval recognition --model {input.model}"
        " --annotations-dir {params.annotations} --split validation --predictions {input.specialist}"
        " --top-k {wildcards.top_k} --text {params.text} --seed {params.seed}"
        " --video-root {params.root} --layout {params.layout} --backend {params.backend}"
        " --frames {wildcards.frames} {params.time_instruction} --batch-size {params.batch_size}"
        " --max-new-tokens {params.max_new_tokens} {params.target} > {log} 2>&1"


rule eval_bench:
    input:
        model=lambda wildcards: get_model_dir(wildcards.model),
        data=get_benchmark_inputs,
    output:
        **eval_outputs("results/{dataset}/eval/{model}/{benchmark}"),
    params:
        threads=config["evaluate"]["threads"],
        data=lambda wildcards: f"{get_benchmark_data()}/{wildcards.benchmark}",
        frames=config["evaluate"]["benchmark_frames"],
        seed=config["seed"],
        target=eval_target("--predictions"),
    threads: config["evaluate"]["threads"]
    resources:
        gpu=config["evaluate"]["gpus"],
    log:
        per_shard("logs/{dataset}/eval_bench_{model}_{benchmark}", "log"),
    conda:
        "../envs/evaluate.yaml"
    shell:
        "OMP_NUM_THREADS={params.threads} python -m actionmqa eval bench --model {input.model}"
        " --benchmark {wildcards.benchmark} --data {params.data} --frames {params.frames}"
        " --seed {params.seed} {params.target} > {log} 2>&1"


if SHARDS > 1:

    rule eval_gather:
        # One evaluation's parts in question order: the summary and predictions an unsharded job
        # writes, byte for byte. Cheap (no model), so it runs where Snakemake runs.
        input:
            get_shard_parts,
        output:
            summary="results/{dataset}/eval/{model}/{evaluation}.json",
            predictions="results/{dataset}/eval/{model}/{evaluation}.predictions.jsonl",
        wildcard_constraints:
            evaluation=r"ek100_mqa_(random|medium|hard)_\d+f(_sap)?|recognition_top\d+_\d+f"
            "|egoschema|perceptiontest|longvideobench|videomme|mvbench",
        localrule: True
        log:
            "logs/{dataset}/eval_gather_{model}_{evaluation}.log",
        conda:
            "../envs/evaluate.yaml"
        shell:
            "python -m actionmqa eval gather --parts {input} --summary {output.summary}"
            " --predictions {output.predictions} > {log} 2>&1"
