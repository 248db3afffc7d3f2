# Stage "specialist": the sources of medium and hard distractors, ranked predictions in the
# TIM/AVION JSON format. Built-in order-blind clip classifiers (the toy world's stand-ins for TIM
# and AVION) give k-fold cross-validated train and full-train validation predictions. Public EK100
# checkpoints (AVION, LaViLa) are fetched, converted to checked safetensors, run in sharded GPU
# jobs over each split and ranked, alone or averaged as an ensemble (the real run's TIM stand-in).


rule specialist:
    input:
        f"results/{DATASET}/specialist/metrics.json",


rule specialist_features:
    input:
        segments=get_split_csv,
        index=get_video_index(),
    output:
        "results/{dataset}/specialist/features/{split}_{feature_set}.npz",
    params:
        annotations=get_annotations_dir,
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        backend=config["videos"]["backend"],
        frames=config["specialist"]["frames"],
    log:
        "logs/{dataset}/specialist_features_{split}_{feature_set}.log",
    benchmark:
        "benchmarks/{dataset}/specialist_features_{split}_{feature_set}.tsv"
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist features --annotations-dir {params.annotations}"
        " --video-root {params.root} --layout {params.layout} --backend {params.backend}"
        " --split {wildcards.split} --frames {params.frames} --feature-set {wildcards.feature_set}"
        " --out {output} > {log} 2>&1"


rule specialist_fit:
    input:
        unpack(get_specialist_features),
        annotations=get_annotation_files,
    output:
        train="results/{dataset}/specialist/{variant}/predictions_train.json",
        validation="results/{dataset}/specialist/{variant}/predictions_validation.json",
        metrics="results/{dataset}/specialist/{variant}/metrics.json",
    wildcard_constraints:
        variant=name_pattern(variants_of_kind("features")),
    # its train-side predictions feed the SFT mixture, hence the fine-tunes: ahead of evaluations
    priority: 5
    params:
        annotations=get_annotations_dir,
        folds=config["specialist"]["folds"],
        top_k=config["specialist"]["top_k"],
        seed=config["seed"],
    threads: config["specialist"]["threads"]
    log:
        "logs/{dataset}/specialist_fit_{variant}.log",
    benchmark:
        "benchmarks/{dataset}/specialist_fit_{variant}.tsv"
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist fit --annotations-dir {params.annotations}"
        " --train-features {input.train} --val-features {input.validation}"
        " --folds {params.folds} --seed {params.seed} --top-k {params.top_k} --threads {threads}"
        " --out-train {output.train} --out-val {output.validation} --metrics {output.metrics}"
        " > {log} 2>&1"


rule fetch_specialist_checkpoint:
    output:
        "results/{dataset}/specialist/checkpoints/{checkpoint}/release.pt",
    params:
        sha256=get_checkpoint_sha256,
    resources:
        runtime=4 * 60,
    log:
        "logs/{dataset}/fetch_specialist_checkpoint_{checkpoint}.log",
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist fetch --checkpoint {wildcards.checkpoint} {params.sha256}"
        " --out {output} > {log} 2>&1"


rule specialist_convert:
    input:
        release="results/{dataset}/specialist/checkpoints/{checkpoint}/release.pt",
        annotations=get_annotation_files,
    output:
        directory("results/{dataset}/specialist/checkpoints/{checkpoint}/converted"),
    params:
        annotations=get_annotations_dir,
    resources:
        mem_mb=32000,
    log:
        "logs/{dataset}/specialist_convert_{checkpoint}.log",
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist convert --checkpoint {wildcards.checkpoint}"
        " --release {input.release} --annotations-dir {params.annotations} --out {output} > {log} 2>&1"


rule specialist_score:
    input:
        model=lambda wildcards: get_checkpoint_dir(wildcards.variant),
        annotations=get_annotation_files,
        index=get_video_index(),
    output:
        "results/{dataset}/specialist/{variant}/scores/{split}_{shard}-of-{shards}.npz",
    wildcard_constraints:
        variant=name_pattern(variants_of_kind("checkpoint")),
    params:
        annotations=get_annotations_dir,
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        chunk_sec=config["videos"]["chunk_sec"],
        backend=config["videos"]["backend"],
        batch_size=config["specialist"]["batch_size"],
        workers=config["specialist"]["workers"],
        precision=config["specialist"]["precision"],
    threads: config["specialist"]["workers"] + 1
    resources:
        gpu=1,
    log:
        "logs/{dataset}/specialist_score_{variant}_{split}_{shard}-of-{shards}.log",
    benchmark:
        "benchmarks/{dataset}/specialist_score_{variant}_{split}_{shard}-of-{shards}.tsv"
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist score --model {input.model} --annotations-dir {params.annotations}"
        " --split {wildcards.split} --shard {wildcards.shard} --shards {wildcards.shards}"
        " --video-root {params.root} --layout {params.layout} --chunk-sec {params.chunk_sec}"
        " --backend {params.backend} --batch-size {params.batch_size} --workers {params.workers}"
        " --precision {params.precision} --out {output} > {log} 2>&1"


rule specialist_rank:
    input:
        unpack(get_rank_members),
        annotations=get_annotation_files,
    output:
        predictions="results/{dataset}/specialist/{variant}/predictions_{split}.json",
        manifest="results/{dataset}/specialist/{variant}/predictions_{split}.manifest.json",
    wildcard_constraints:
        variant=name_pattern(variants_of_kind("checkpoint", "ensemble")),
    # its train-side predictions feed the SFT mixture, hence the fine-tunes: ahead of evaluations
    priority: 5
    resources:
        mem_mb=24000,
    params:
        annotations=get_annotations_dir,
        members=lambda wildcards, input: [
            f"--member {member} {' '.join(input[member])}" for member in get_rank_members(wildcards)
        ],
        about=lambda wildcards: " ".join(
            f"--{flag} {shlex.quote(VARIANTS[wildcards.variant][key])}"
            for key, flag in (("description", "description"), ("stands_in_for", "stands-in-for"))
            if key in VARIANTS[wildcards.variant]
        ),
        top_k=config["specialist"]["top_k"],
    log:
        "logs/{dataset}/specialist_rank_{variant}_{split}.log",
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist rank --annotations-dir {params.annotations}"
        " --split {wildcards.split} {params.members} --variant {wildcards.variant} {params.about}"
        " --top-k {params.top_k} --out {output.predictions} --manifest {output.manifest} > {log} 2>&1"


rule specialist_summary:
    input:
        **get_specialist_metrics(),
    output:
        "results/{dataset}/specialist/metrics.json",
    params:
        variants=lambda wildcards, input: [f"--variant {name}={input[name]}" for name in VARIANTS],
        primary=config["specialist"]["primary"],
    log:
        "logs/{dataset}/specialist_summary.log",
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist summarize {params.variants} --primary {params.primary}"
        " --out {output} > {log} 2>&1"
