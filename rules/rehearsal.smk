# The dress rehearsal (config/rehearsal.yaml over config/paper.yaml; README "Rehearse before the
# real run"): tiny stand-ins, in their real formats, of everything the paper's run downloads, made
# in the same run before the download that reads each, and the loopback server behind the URLs of
# config/rehearsal.yaml. Every rule of the paper's run then runs as in the real run.
#   annotations     the package's fixture (a few real validation videos' rows, a synthetic train
#                   split), served under /ek100-annotations/
#   videos          rendered at their real durations in the official layout (videos.root)
#   hub checkpoints tiny LLaVA-NeXT checkpoints in the hub cache (hub.cache_dir), read offline
#   benchmarks      the five in their hub layouts and archive formats, in the same cache
#   specialists     tiny AVION / LaViLa release files, served under /files/specialists/
#   teacher         the server's /v1/chat/completions, answering in the requested schema

import yaml

from actionmqa.rehearsal.annotations import FIXTURE as REHEARSAL_ANNOTATIONS
from actionmqa.rehearsal.service import FILES_DIR, RehearsalService, url_problems

TEACHER_BASE_URL = yaml.safe_load(Path(config["sft"]["teacher_config"]).read_text())["base_url"]
if problems := url_problems(config, TEACHER_BASE_URL):
    raise WorkflowError(format_config_errors("URLs the rehearsal's server answers", problems))

if not (config["hub"]["cache_dir"] and config["hub"]["offline"]):
    raise WorkflowError("config key 'hub': the rehearsal's hub stand-ins need cache_dir set and offline: true")

# The rehearsal writes the real run's paths (results/ek100/...): never over a real run's outputs.
if Path(f"results/{DATASET}").exists() and not Path("results/rehearsal").exists():
    raise WorkflowError(
        f"results/{DATASET} holds outputs of a run that was not this rehearsal: rehearse in another"
        " working directory (a fresh clone, or snakemake --directory DIR)"
    )

REHEARSAL_SERVICE = RehearsalService(config["rehearsal"]["port"])


onstart:
    REHEARSAL_SERVICE.start()


onsuccess:
    REHEARSAL_SERVICE.stop()


onerror:
    REHEARSAL_SERVICE.stop()


rule rehearsal_videos:
    input:
        sorted(REHEARSAL_ANNOTATIONS.glob("EPIC_100_*.csv")),
    output:
        videos=directory(config["videos"]["root"]),
        manifest="results/rehearsal/standins/videos.json",
    log:
        "logs/rehearsal/videos.log",
    conda:
        "../envs/video.yaml"
    shell:
        "python -m actionmqa rehearsal videos --video-root {output.videos} --out {output.manifest} > {log} 2>&1"


rule rehearsal_checkpoint:
    wildcard_constraints:
        model=name_pattern(models_of_kind("hub")),
    input:
        sorted(REHEARSAL_ANNOTATIONS.glob("EPIC_100_*.csv")),
    output:
        "results/rehearsal/standins/{model}.json",
    params:
        source=lambda wildcards: f"--repo {model_spec(wildcards.model)['hub']}"
        f" --revision {model_spec(wildcards.model)['revision']}",
        cache=config["hub"]["cache_dir"],
    log:
        "logs/rehearsal/checkpoint_{model}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m actionmqa rehearsal checkpoint {params.source} --cache-dir {params.cache}"
        " --out {output} > {log} 2>&1"


rule rehearsal_benchmarks:
    output:
        "results/rehearsal/standins/benchmarks.json",
    params:
        sources=[
            f"{name}={spec['hub']}@{spec['revision']}"
            for name, spec in config["evaluate"]["benchmark_sources"].items()
            if name in config["evaluate"]["benchmarks"]
        ],
        cache=config["hub"]["cache_dir"],
        seed=config["seed"],
    log:
        "logs/rehearsal/benchmarks.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m actionmqa rehearsal benchmarks --source {params.sources} --cache-dir {params.cache}"
        " --seed {params.seed} --out {output} > {log} 2>&1"


rule rehearsal_specialist:
    input:
        sorted(REHEARSAL_ANNOTATIONS.glob("EPIC_100_*.csv")),
    output:
        f"{FILES_DIR}/specialists/{{checkpoint}}.pt",
    params:
        sizes=get_release_sizes,
    log:
        "logs/rehearsal/specialist_{checkpoint}.log",
    conda:
        "../envs/specialist.yaml"
    shell:
        "python -m actionmqa rehearsal specialist --checkpoint {wildcards.checkpoint} {params.sizes}"
        " --out {output} > {log} 2>&1"
