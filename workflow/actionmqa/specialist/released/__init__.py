"""Specialists from public EK100 weights: AVION's ViTs and LaViLa's TimeSformer, in plain PyTorch."""
