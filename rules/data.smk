# Stage "data": EK100-format annotations and videos, validated, plus the label map.
#   toy:   the toy kitchen world is rendered (annotations, videos, scene descriptions)
#   ek100: annotations are downloaded at a pinned commit (sha256 checked); videos are the user's
#          root in the official layout, checked (or its missing videos fetched, md5-checked);
#          the five benchmarks come from their hub datasets at pinned revisions (or the user's)


rule data:
    input:
        f"results/{DATASET}/data/report.json",
        f"results/{DATASET}/data/labels.json",
        get_video_index(),
        get_benchmark_inputs(),


# Downloads run where the workflow was started (a cluster's login node has the internet its compute
# nodes often lack); so does the video check, which fetches the videos when videos.download is on.
localrules:
    fetch_annotations,
    source_videos,
    fetch_benchmark,


rule toyworld:
    output:
        annotations=expand("results/toy/world/annotations/{name}", name=TOY_ANNOTATION_FILES),
        videos=directory("results/toy/world/videos"),
        scenes="results/toy/world/scenes.jsonl",
        manifest="results/toy/world/manifest.json",
    params:
        seed=config["seed"],
        world=config["toyworld"],
    threads: 2
    log:
        "logs/toy/toyworld.log",
    benchmark:
        "benchmarks/toy/toyworld.tsv"
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa toyworld generate --out results/toy/world --seed {params.seed}"
        " --n-train {params.world[n_train]} --n-val {params.world[n_val]}"
        " --size {params.world[size]} --fps {params.world[fps]} --workers {threads} > {log} 2>&1"


rule fetch_annotations:
    output:
        expand("results/ek100/annotations/{name}", name=config["annotations"]["files"]),
    params:
        base_url=config["annotations"]["base_url"],
        files=config["annotations"]["files"],
        pins="".join(
            f" --sha256 {name}={digest}" for name, digest in sorted(config["annotations"]["sha256"].items())
        )
        + (" --require-sha256" if config["frozen"] else ""),
    log:
        "logs/ek100/fetch_annotations.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa data fetch --base-url {params.base_url} --out results/ek100/annotations"
        " --files {params.files}{params.pins} > {log} 2>&1"


rule source_videos:
    input:
        segments=expand("{dir}/EPIC_100_{split}.csv", dir=get_annotations_dir(), split=SPLITS),
        standin=rehearsal_standin("standins", "videos.json"),
    output:
        "results/{dataset}/video/source.json",
    params:
        root=get_source_video_root,
        verb="fetch-videos" if config["videos"]["download"]["enabled"] else "check-videos",
        download="".join(
            f" --{key.replace('_', '-')} {shlex.quote(config['videos']['download'][key])}"
            for key in ("epic_55_url", "epic_100_url", "tables_url")
            if config["videos"]["download"]["enabled"]
        ),
    resources:
        runtime=24 * 60,
    log:
        "logs/{dataset}/source_videos.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa data {params.verb} --video-root {params.root} --segments {input.segments}"
        " --out {output}{params.download} > {log} 2>&1"


rule fetch_benchmark:
    input:
        standin=rehearsal_standin("standins", "benchmarks.json"),
    output:
        # written last, once <benchmark_root>/<benchmark> holds the layout the adapter reads
        "results/{dataset}/benchmarks/{benchmark}.json",
    params:
        folder=lambda wildcards: f"{get_benchmark_data()}/{wildcards.benchmark}",
        source=get_benchmark_source_args,
        cache=get_hub_cache_args(),
    resources:
        runtime=24 * 60,
    log:
        "logs/{dataset}/fetch_benchmark_{benchmark}.log",
    conda:
        "../envs/evaluate.yaml"
    shell:
        "python -m actionmqa bench fetch --benchmark {wildcards.benchmark} --data {params.folder}"
        " {params.source} {params.cache} --manifest {output} > {log} 2>&1"


rule validate_annotations:
    input:
        get_annotation_files,
    output:
        "results/{dataset}/data/report.json",
    params:
        annotations=get_annotations_dir,
    log:
        "logs/{dataset}/validate_annotations.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa data validate --annotations-dir {params.annotations} --out {output} > {log} 2>&1"


rule label_map:
    input:
        get_annotation_files,
    output:
        "results/{dataset}/data/labels.json",
    params:
        annotations=get_annotations_dir,
    log:
        "logs/{dataset}/label_map.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa data labels --annotations-dir {params.annotations} --out {output} > {log} 2>&1"


rule chunk_videos:
    input:
        segments=expand("{dir}/EPIC_100_{split}.csv", dir=get_annotations_dir(), split=SPLITS),
        videos=get_source_videos(),
    output:
        directory("results/{dataset}/video/chunks"),
    params:
        source=get_source_video_root,
        chunk_sec=config["videos"]["chunk_sec"],
        fps=config["videos"]["chunk_fps"],
        short_side=(
            f"--short-side {config['videos']['short_side']}" if config["videos"]["short_side"] else ""
        ),
    threads: 4
    resources:
        runtime=24 * 60,
    log:
        "logs/{dataset}/chunk_videos.log",
    benchmark:
        "benchmarks/{dataset}/chunk_videos.tsv"
    conda:
        "../envs/video.yaml"
    shell:
        "python -m actionmqa video chunk --video-root {params.source} --out-root {output}"
        " --videos-from {input.segments} --chunk-sec {params.chunk_sec} --fps {params.fps}"
        " {params.short_side} > {log} 2>&1"


rule probe_videos:
    input:
        segments=expand("{dir}/EPIC_100_{split}.csv", dir=get_annotations_dir(), split=SPLITS),
        videos=(
            [f"results/{DATASET}/video/chunks"]
            if config["videos"]["layout"] == "chunks"
            else get_source_videos()
        ),
    output:
        "results/{dataset}/video/index.json",
    params:
        root=get_read_video_root,
        layout=config["videos"]["layout"],
    log:
        "logs/{dataset}/probe_videos.log",
    conda:
        "../envs/video.yaml"
    shell:
        "python -m actionmqa video probe --video-root {params.root} --layout {params.layout}"
        " --segments {input.segments} --out {output} > {log} 2>&1"


rule toy_benchmarks:
    input:
        "results/toy/world/manifest.json",
    output:
        # written last, after every benchmark folder under results/toy/benchmarks/
        "results/toy/benchmarks/manifest.json",
    params:
        seed=config["seed"],
    log:
        "logs/toy/toy_benchmarks.log",
    benchmark:
        "benchmarks/toy/toy_benchmarks.tsv"
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa toybench generate --world results/toy/world --split validation"
        " --seed {params.seed} --out results/toy/benchmarks > {log} 2>&1"
