"""The toy world's base model, built in stages as LLaVA models are (the stand-in for LLaVA-Video).

``corpus`` (the tokenizer's text), ``clips`` (train clips decoded once into memory), ``tower``
(the SigLIP tower, its pooled frame features and the order-aware probe head), ``pretrain`` (the
tower's training loop), ``vision`` (the ``base vision`` step), ``assemble`` (the ``base init``
step: tokenizer + pretrained tower + fresh projector and language model), ``device`` (where the
pretraining stages run: the GPU when there is one). Nothing is imported here, so the CLI stays
fast.
"""
