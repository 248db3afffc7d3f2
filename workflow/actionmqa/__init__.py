"""actionmqa: the LLaVAction paper as a reproducible Snakemake workflow.

The package holds all logic; the Snakemake rules under ``rules/`` are thin calls to the
``actionmqa`` command line (see :mod:`actionmqa.cli`).
"""

__version__ = "0.1.0"
