# Stage "sft": the reformulated training data (spec/llavaction.md §2): hard and random MQA,
# prior actions, direct narration, temporal detection, captions and open QA, replay, as LLaVA
# conversation JSONL carrying verb, noun and action ids.


rule sft:
    input:
        f"results/{DATASET}/sft/train.jsonl",
        *([f"results/{DATASET}/sft/base.jsonl"] if needs_toy_base() else []),


# The teacher calls an API over the internet: it runs where the workflow was started (see data.smk).
localrules:
    sft_teacher,


rule sft_teacher:
    input:
        annotations=get_annotation_files,
        index=get_video_index(),
        mixture=config["sft"]["mixture"],
        teacher=config["sft"]["teacher_config"],
    output:
        teacher="results/{dataset}/sft/teacher.jsonl",
        # clips the teacher refused or answered unusably (within teacher_config's max_failure_share)
        failures="results/{dataset}/sft/teacher.failures.jsonl",
        manifest="results/{dataset}/sft/teacher.manifest.json",
    params:
        annotations=get_annotations_dir,
        root=get_read_video_root,
        layout=config["videos"]["layout"],
        chunk_sec=config["videos"]["chunk_sec"],
        backend=config["videos"]["backend"],
        frames=config["sft"]["teacher_frames"],
        seed=config["seed"],
        ask_again="--ask-again" if config["sft"]["teacher_ask_again"] else "",
    log:
        "logs/{dataset}/sft_teacher.log",
    benchmark:
        "benchmarks/{dataset}/sft_teacher.tsv"
    conda:
        "../envs/sft.yaml"
    shell:
        "python -m actionmqa sft teacher --annotations-dir {params.annotations} --split train"
        " --mixture {input.mixture} --seed {params.seed} --teacher-config {input.teacher}"
        " --video-root {params.root} --layout {params.layout} --chunk-sec {params.chunk_sec}"
        " --backend {params.backend} --frames {params.frames} {params.ask_again} --out {output.teacher}"
        " > {log} 2>&1"


rule sft_build:
    input:
        unpack(get_sft_predictions),
        unpack(get_sft_prediction_manifests),
        annotations=get_annotation_files,
        mixture=get_sft_mixture,
        clip_texts=get_sft_clip_texts(),
        replay=get_sft_replay,
    output:
        records="results/{dataset}/sft/{mixture}.jsonl",
        manifest="results/{dataset}/sft/{mixture}.manifest.json",
    # feeds the fine-tunes (train_model): ahead of evaluations
    priority: 5
    params:
        annotations=get_annotations_dir,
        predictions=lambda wildcards, input: [
            f"--predictions {name}={input[name]}" for name in get_sft_predictions(wildcards)
        ]
        + [
            f"--predictions-manifest {key.removeprefix('manifest_')}={input[key]}"
            for key in get_sft_prediction_manifests(wildcards)
        ],
        clip_texts=lambda wildcards, input: (
            f"--scenes {input.clip_texts}"
            if config["sft"]["clip_texts"] == "scenes"
            else f"--teacher-file {input.clip_texts}"
        ),
        time_instruction=(
            f"--time-instruction --frames {config['sft']['frames']}" if config["sft"]["time_instruction"] else ""
        ),
        # the toy world's train videos, for the base's general video questions (video_mc)
        world="--world results/toy/world" if DATASET == "toy" else "",
        seed=config["seed"],
    log:
        "logs/{dataset}/sft_build_{mixture}.log",
    benchmark:
        "benchmarks/{dataset}/sft_build_{mixture}.tsv"
    conda:
        "../envs/sft.yaml"
    shell:
        "python -m actionmqa sft build --annotations-dir {params.annotations} --split train"
        " --mixture {input.mixture} --seed {params.seed} {params.predictions} {params.clip_texts}"
        " {params.time_instruction} {params.world} --out {output.records} > {log} 2>&1"
