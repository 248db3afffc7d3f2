"""Model evaluation (spec/llavaction.md §6.1): EK100-MQA: upstream parser, strict letter, likelihoods."""
