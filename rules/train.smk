# Stage "train": the models. The toy base is built in stages (tokenizer, vision tower
# pretrained on the world's frames, language model pretrained on the world's text, assembly,
# then projector + language model on general instruction data); LLaVAction models are
# fine-tuned from a base with the SFT mixture by the HF Trainer under DeepSpeed; hub
# checkpoints are downloaded and converted.


rule models:
    input:
        [get_model_dir(name) for name in config["models"]],


rule base_tokenizer:
    input:
        annotations=get_annotation_files,
        scenes="results/toy/world/scenes.jsonl",
    output:
        directory("results/toy/base/tokenizer"),
    # the first step of the longest chain (tokenizer, language model, base): it goes before the
    # specialist's features and the benchmarks, which have time to spare
    priority: 10
    params:
        annotations=get_annotations_dir,
        vocab_size=config["toy_base"]["vocab_size"],
    log:
        "logs/toy/base_tokenizer.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m actionmqa base tokenizer --annotations-dir {params.annotations}"
        " --scenes {input.scenes} --vocab-size {params.vocab_size} --out {output} > {log} 2>&1"


rule base_vision:
    input:
        annotations=get_annotation_files,
        index=get_video_index(),
    output:
        tower=directory("results/toy/base/vision"),
        metrics="results/toy/base/vision_metrics.json",
    params:
        annotations=get_annotations_dir,
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        frames=config["specialist"]["frames"],
        base=config["toy_base"],
        recipe=get_base_recipe_flags("vision"),
        seed=config["seed"],
        # the compute threads, fixed (get_train_threads says why); {threads} is the grant
        threads=config["toy_base"]["threads"],
    threads: config["toy_base"]["threads"]
    log:
        "logs/toy/base_vision.log",
    benchmark:
        "benchmarks/toy/base_vision.tsv"
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={params.threads} python -m actionmqa base vision --annotations-dir {params.annotations}"
        " --video-root {params.root} --layout {params.layout} --frames {params.frames}"
        " --image-size {params.base[image_size]} --patch-size {params.base[patch_size]}"
        " {params.recipe} --seed {params.seed} --threads {params.threads}"
        " --out {output.tower} --metrics {output.metrics} > {log} 2>&1"


rule base_language:
    input:
        annotations=get_annotation_files,
        tokenizer="results/toy/base/tokenizer",
    output:
        model=directory("results/toy/base/language"),
        metrics="results/toy/base/language_metrics.json",
    # the longest job before base_init: start it as soon as the tokenizer is there
    priority: 10
    params:
        annotations=get_annotations_dir,
        base=config["toy_base"],
        recipe=get_base_recipe_flags("language"),
        seed=get_language_seed(),
        threads=config["toy_base"]["threads"],
    threads: config["toy_base"]["threads"]
    log:
        "logs/toy/base_language.log",
    benchmark:
        "benchmarks/toy/base_language.tsv"
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={params.threads} python -m actionmqa base language --annotations-dir {params.annotations}"
        " --tokenizer {input.tokenizer} --hidden {params.base[hidden]} --layers {params.base[layers]}"
        " --heads {params.base[heads]} {params.recipe} --seed {params.seed} --threads {params.threads}"
        " --out {output.model} --metrics {output.metrics} > {log} 2>&1"


rule base_init:
    input:
        annotations=get_annotation_files,
        tokenizer="results/toy/base/tokenizer",
        vision="results/toy/base/vision",
        language="results/toy/base/language",
    output:
        directory("results/toy/base/init"),
    params:
        annotations=get_annotations_dir,
        base=config["toy_base"],
        seed=config["seed"],
    log:
        "logs/toy/base_init.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m actionmqa base init --tokenizer {input.tokenizer} --vision {input.vision}"
        " --language {input.language}"
        " --annotations-dir {params.annotations} --hidden {params.base[hidden]}"
        " --layers {params.base[layers]} --heads {params.base[heads]}"
        " --visual-layout {params.base[visual_layout]} --action-token off --seed {params.seed}"
        " --out {output} > {log} 2>&1"


rule train_model:
    # Each model folder has one producer, chosen by the model's kind in the config: this rule for
    # fine-tunes and the toy base, convert_checkpoint for hub checkpoints.
    wildcard_constraints:
        model=name_pattern(models_of_kind("build", "finetune")),
    input:
        unpack(get_train_inputs),
        index=get_video_index(),
    output:
        # Only the final model and the loss curve: checkpoints under train/<model>/checkpoints
        # are not outputs, so an interrupted job resumes from them instead of being wiped.
        model=protected(directory("results/{dataset}/models/{model}")),
        loss="results/{dataset}/train/{model}/loss.csv",
    params:
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        launcher=get_train_launcher,
        # the compute threads, fixed (get_train_process_threads); {threads} is the grant
        omp_threads=get_train_process_threads,
    # before any evaluation of an earlier model: the fine-tunes are the longest chain of the run
    priority: 5
    threads: get_train_threads
    # The model's topology (models.<name>.nodes, gpus_per_node): GPUs per node as gres; several
    # nodes as one task per node, the shell starting its own srun step (spec/multinode.md).
    resources:
        nodes=get_train_resource("nodes"),
        gres=get_train_resource("gres"),
        mpi=get_train_resource("mpi"),
        tasks=get_train_resource("tasks"),
        tasks_per_gpu=get_train_resource("tasks_per_gpu"),
        runtime=24 * 60,
    # (Snakemake empties a job's log when it starts: results/<dataset>/train/<model>/jobs.jsonl
    # keeps every job's start and end across resubmissions)
    log:
        "logs/{dataset}/train_{model}.log",
    benchmark:
        "benchmarks/{dataset}/train_{model}.tsv"
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={params.omp_threads} TORCH_EXTENSIONS_DIR=.cache/torch_extensions"
        " {params.launcher} --base {input.base} --data {input.data}"
        " --video-root {params.root} --layout {params.layout} --backend {params.backend}"
        " --recipe {input.recipe} --output-dir results/{wildcards.dataset}/train/{wildcards.model}"
        " --final {output.model} > {log} 2>&1"


# The hub downloads run where the workflow was started (see data.smk).
localrules:
    fetch_checkpoint,


rule fetch_checkpoint:
    wildcard_constraints:
        model=name_pattern(models_of_kind("hub")),
    input:
        standin=lambda wildcards: rehearsal_standin("standins", f"{wildcards.model}.json"),
    output:
        directory("results/{dataset}/checkpoints/{model}"),
    params:
        # --repo, --revision and --allow-pattern (shell-quoted); the token is HF_TOKEN from the
        # environment, never a parameter
        source=lambda wildcards: hub_args(model_spec(wildcards.model)),
        cache=get_hub_cache_args(),
    log:
        "logs/{dataset}/fetch_checkpoint_{model}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m actionmqa model download {params.source} {params.cache} --out {output} > {log} 2>&1"


rule convert_checkpoint:
    wildcard_constraints:
        model=name_pattern(models_of_kind("hub")),
    input:
        "results/{dataset}/checkpoints/{model}",
    output:
        protected(directory("results/{dataset}/models/{model}")),
    log:
        "logs/{dataset}/convert_checkpoint_{model}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m actionmqa model convert --src {input} --out {output} > {log} 2>&1"
