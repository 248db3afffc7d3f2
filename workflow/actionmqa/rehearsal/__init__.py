"""The dress rehearsal of the paper's run: tiny stand-ins in the real formats, served locally.

``config/rehearsal.yaml`` over ``config/paper.yaml`` runs every rule of the paper's DAG on a CPU in
minutes. Every input the real run downloads is replaced by a stand-in of the same format at
another location and size, made inside the same ``snakemake`` command (``rules/rehearsal.smk``):

- ``annotations``: a few videos' rows of the real EK100 validation CSV and a matching synthetic
  train CSV, served over HTTP like the annotations repository (``data/ek100/``);
- ``videos``: those videos rendered at their real durations in the official layout;
- ``llava_next``: the hub checkpoints as tiny random LLaVA-NeXT checkpoints, in a local
  Hugging Face cache (``hub_cache``) under their repository ids and revisions;
- ``specialists``: the public AVION / LaViLa checkpoints as tiny random releases, served over HTTP;
- ``benchmarks``: the five benchmarks in their hub layouts and archive formats, in the same cache;
- ``teacher``: an OpenAI-compatible chat endpoint answering in the requested schema.

``server`` is the one loopback HTTP server behind the annotations, the checkpoints and the teacher;
Snakemake starts it in ``onstart`` and stops it in ``onsuccess`` / ``onerror``.
"""
