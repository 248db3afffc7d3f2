# Stage "perf": throughput figures, always as ratios to a baseline measured in the same run.
# Not part of `all`: run `snakemake -c1 perf` on an idle machine.


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
