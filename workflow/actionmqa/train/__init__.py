"""Fine-tuning (spec/llavaction.md §4): recipe, SFT data, Trainer + DeepSpeed, checkpoints, resume."""
