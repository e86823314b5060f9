"""Neural networks: autograd, optimizers, MLPs and the playground's networks."""
