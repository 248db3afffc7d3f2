# Stage "report": the paper's tables (spec/llavaction.md §7.1-§7.5; CSV, Markdown, LaTeX) and
# figures (PNG, SVG) from every evaluation summary, the paper's values beside ours
# (report.paper_results), each flagged for `snakemake --report results/report.html report_targets`;
# and two tables of our own: one splits the generated EK100-MQA score into naming the right action
# and using the option's wording (actionmqa.report.wording), the other reads the benchmark answers'
# text against their letters (actionmqa.report.letters).

from actionmqa.report import FIGURE_FORMATS, FIGURES, TABLE_FORMATS, TABLES
from actionmqa.report.analysis import ANALYSIS_FORMATS
from actionmqa.report.paper import load_paper_results, paper_reference_errors

ANALYSES = ("answer_wording", "benchmark_letters")

if Path(get_paper_results()).is_file():
    # A model naming a paper model that the paper's results lack is a config error at load time.
    if problems := paper_reference_errors(config["models"], load_paper_results(get_paper_results())):
        raise WorkflowError(format_config_errors("paper models of the models", problems))


rule tables:
    input:
        expand(f"results/{DATASET}/tables/{{name}}.{{ext}}", name=TABLES, ext=TABLE_FORMATS),
        expand(f"results/{DATASET}/tables/{{name}}.{{ext}}", name=ANALYSES, ext=ANALYSIS_FORMATS),


rule figures:
    input:
        expand(f"results/{DATASET}/figures/{{name}}.{{ext}}", name=FIGURES, ext=FIGURE_FORMATS),


rule report_targets:
    input:
        rules.tables.input,
        rules.figures.input,


rule report_tables:
    input:
        summaries=get_report_summaries(),
        paper=get_paper_results(),
        specialist=get_report_specialist_metrics(),
    output:
        [
            report(
                f"results/{{dataset}}/tables/{name}.{ext}",
                caption="../workflow/report/tables.rst",
                category="Tables",
                subcategory=title,
                labels={"table": title, "format": ext},
            )
            for name, title in TABLES.items()
            for ext in TABLE_FORMATS
        ],
    params:
        models=config["evaluate"]["models"],
        frames=config["evaluate"]["frames"],
        top_k=config["evaluate"]["recognition_top_k"],
        benchmarks=config["evaluate"]["benchmarks"],
        paper_models=get_paper_models(),
        options=config["mqa"]["options"],
        sources=get_distractor_source_labels(),
        medium=lambda wildcards, input: (
            f"--specialist-metrics {input.specialist} --medium-variant"
            f" {config['mqa']['distractors']['medium']['specialist']}"
            if input.specialist
            else ""
        ),
    log:
        "logs/{dataset}/report_tables.log",
    conda:
        "../envs/report.yaml"
    shell:
        "python -m actionmqa report tables --summaries {input.summaries} --models {params.models}"
        " --frames {params.frames} --top-k {params.top_k} --benchmarks {params.benchmarks}"
        " --paper {input.paper} --paper-models {params.paper_models:q} --options {params.options}"
        " {params.medium} {params.sources} --out-dir results/{wildcards.dataset}/tables > {log} 2>&1"


rule report_wording:
    input:
        predictions=get_wording_predictions(),
        benchmarks=expand("results/{{dataset}}/mqa/validation_{distractors}.jsonl", distractors=DISTRACTORS),
        annotations=get_annotation_files,
    output:
        [
            report(
                f"results/{{dataset}}/tables/answer_wording.{ext}",
                caption="../workflow/report/wording.rst",
                category="Tables",
                subcategory="EK100-MQA answers: action and wording",
                labels={"table": "EK100-MQA answers: action and wording", "format": ext},
            )
            for ext in ANALYSIS_FORMATS
        ],
    params:
        annotations=get_annotations_dir,
    log:
        "logs/{dataset}/report_wording.log",
    conda:
        "../envs/report.yaml"
    shell:
        "python -m actionmqa report wording --predictions {input.predictions}"
        " --benchmarks {input.benchmarks} --annotations {params.annotations}"
        " --out-dir results/{wildcards.dataset}/tables > {log} 2>&1"


rule report_letters:
    input:
        predictions=get_letters_predictions(),
        data=get_benchmark_inputs(),
    output:
        [
            report(
                f"results/{{dataset}}/tables/benchmark_letters.{ext}",
                caption="../workflow/report/letters.rst",
                category="Tables",
                subcategory="Benchmark answers: option and letter",
                labels={"table": "Benchmark answers: option and letter", "format": ext},
            )
            for ext in ANALYSIS_FORMATS
        ],
    params:
        data=lambda wildcards: get_benchmark_data(),
    log:
        "logs/{dataset}/report_letters.log",
    conda:
        "../envs/report.yaml"
    shell:
        "python -m actionmqa report letters --predictions {input.predictions} --data {params.data}"
        " --out-dir results/{wildcards.dataset}/tables > {log} 2>&1"


rule report_figures:
    input:
        summaries=get_report_summaries(),
        paper=get_paper_results(),
        loss=list(get_report_loss_curves().values()),
    output:
        [
            report(
                f"results/{{dataset}}/figures/{name}.{ext}",
                caption="../workflow/report/figures.rst",
                category="Figures",
                subcategory=title,
                labels={"figure": title, "format": ext},
            )
            for name, title in FIGURES.items()
            for ext in FIGURE_FORMATS
        ],
    params:
        models=config["evaluate"]["models"],
        frames=config["evaluate"]["frames"],
        top_k=config["evaluate"]["recognition_top_k"],
        benchmarks=config["evaluate"]["benchmarks"],
        paper_models=get_paper_models(),
        options=config["mqa"]["options"],
        loss=[f"{name}={path}" for name, path in get_report_loss_curves().items()],
    log:
        "logs/{dataset}/report_figures.log",
    conda:
        "../envs/report.yaml"
    shell:
        "python -m actionmqa report figures --summaries {input.summaries} --models {params.models}"
        " --frames {params.frames} --top-k {params.top_k} --benchmarks {params.benchmarks}"
        " --paper {input.paper} --paper-models {params.paper_models:q} --options {params.options}"
        " --loss {params.loss:q} --out-dir results/{wildcards.dataset}/figures > {log} 2>&1"
