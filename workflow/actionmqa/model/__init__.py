"""The LLaVAction model: LLaVA-OneVision with LLaVA-Video's token layout, the action token and its heads.

Modules: ``configuration`` (the config), ``layout`` (visual token geometry), ``modeling`` (the
model), ``processing`` (frames, placeholders, batches), ``tokenizer``, ``tiny`` (small configs),
``convert`` (LLaVA-NeXT checkpoints). Nothing is imported here, so the CLI stays fast.
"""
