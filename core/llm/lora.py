"""LoRA from scratch: a frozen linear layer plus a trainable rank-r update (Hu et al., 2021).

A pretrained layer computes h = W0·x + b. Fine-tuning would learn a full ΔW (out × in numbers);
LoRA bets that the change a new task needs is low rank and learns it as a product:

    h = W0·x + b + (alpha / r) · B·A·x        A: r × in (random),  B: out × r (zeros)

B starts at zero, so before training the layer is exactly the pretrained one. Only A and B train:
r·(in + out) numbers instead of in·out. After training, W0 + (alpha/r)·B·A is one matrix again
(`merge`), so the fine-tuned model costs nothing extra at inference.

>>> g = torch.Generator().manual_seed(0)                  # the run's own generator
>>> layer = LoRALinear(torch.nn.Linear(384, 384), r=8, alpha=16, generator=g)
>>> layer.A.shape, layer.B.shape, layer.trainable_parameters()
(torch.Size([8, 384]), torch.Size([384, 8]), 6144)
>>> x = torch.randn(2, 384, generator=g)
>>> torch.equal(layer(x), layer.base(x))         # B = 0: no change until it trains
True
>>> with torch.no_grad(): _ = layer.B.normal_(generator=g)   # pretend it trained
>>> torch.allclose(layer.merge()(x), layer(x), atol=1e-5)
True
"""

import copy
import math

import torch
from torch import nn

from core.training import Dropout


class LoRALinear(nn.Module):
    """`base(x) + (alpha/r) · dropout(x) · Aᵀ · Bᵀ`, with `base` frozen and only A, B trainable.

    A's starting values and the dropout masks come from `generator`, the run's own (core.training.generators).
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, generator: torch.Generator, dropout: float = 0.0):
        super().__init__()
        if r < 1:
            raise ValueError(f"rank r must be at least 1, got {r}")
        self.base = base.requires_grad_(False)  # the pretrained weights never change
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        w0 = base.weight  # new_empty / new_zeros: A and B get W0's dtype and device
        self.A = nn.Parameter(w0.new_empty(r, base.in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5), generator=generator)  # what nn.Linear and peft use
        self.B = nn.Parameter(w0.new_zeros(base.out_features, r))  # zero: training starts at W0
        self.dropout = Dropout(dropout, generator)  # on the adapter's input only, as in the paper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * (self.dropout(x) @ self.A.T @ self.B.T)

    def delta_weight(self) -> torch.Tensor:
        """The update the adapter adds to W0: ΔW = (alpha/r)·B·A, of rank at most r."""
        return self.scaling * self.B @ self.A

    def merge(self) -> nn.Linear:
        """A plain (frozen) nn.Linear with W0 + ΔW: the same outputs in eval mode, no adapter left.
        A copy of the base, so it keeps the base's bias, dtype and device."""
        merged = copy.deepcopy(self.base)
        with torch.no_grad():
            merged.weight += self.delta_weight()
        return merged

    def trainable_parameters(self) -> int:
        return self.A.numel() + self.B.numel()
