"""The SFT mixture: EK100 train segments reformulated as LLaVA conversations (spec/llavaction.md §2).

One generator per task (``tasks/``) turns a segment into zero or more samples; one record builder
(``records``) turns every sample into the same LLaVA JSONL record; ``build`` selects, runs and
sorts them so a rebuild gives the same bytes.
"""
