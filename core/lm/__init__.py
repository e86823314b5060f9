"""Language models: Markov chains and n-gram models."""
