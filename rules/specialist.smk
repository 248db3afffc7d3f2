# Stage "specialist": the hard-distractor source. Order-blind clip classifiers (standing in for
# TIM and AVION) give k-fold cross-validated ranked predictions on train and full-train
# predictions on validation, in the TIM/AVION JSON format.


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


rule specialist_summary:
    input:
        expand(
            "results/{{dataset}}/specialist/{variant}/metrics.json",
            variant=config["specialist"]["variants"],
        ),
    output:
        "results/{dataset}/specialist/metrics.json",
    params:
        variants=lambda wildcards, input: [
            f"--variant {name}={path}" for name, path in zip(config["specialist"]["variants"], input)
        ],
        primary=config["specialist"]["primary"],
    log:
        "logs/{dataset}/specialist_summary.log",
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa specialist summarize {params.variants} --primary {params.primary}"
        " --out {output} > {log} 2>&1"
