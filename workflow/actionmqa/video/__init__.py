"""Clip sampling and decoding for EK100 and the other video benchmarks.

``sampling`` says which frames a clip shows, ``layout`` where they are on disk (whole
videos or 15 s chunks), ``readers`` decodes them with PyAV or decord (identical frames),
``chunking`` re-encodes whole videos into chunks, ``probe`` checks a video tree up front.
"""
