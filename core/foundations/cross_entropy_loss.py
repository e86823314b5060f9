"""The cross-entropy loss on a model's logits, in nats, from scratch: what a classifier trains on.

A classifier outputs logits z; softmax turns them into probabilities q = exp(z) / sum exp(z), and
the loss is the cross-entropy (core.foundations.information.cross_entropy) of the target
distribution y against q, with natural logarithms:

    loss = -sum_i y_i log q_i = -log q[target]      (y one-hot)

Computed from log-softmax, never from softmax then log, so huge logits neither overflow nor
give log 0.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import LabError
from core.foundations.information import parse_numbers


def parse_logits(text: str, scale: float = 1.0, max_classes: int = 50) -> torch.Tensor:
    """Typed logits times `scale`, as float32 (the precision whose overflow the loss page shows).

    >>> parse_logits("2, 1 0.5", scale=10)
    tensor([20., 10.,  5.])
    """
    values = parse_numbers(text, "logits")
    if not 2 <= len(values) <= max_classes:
        raise LabError(f"type between 2 and {max_classes} logits (got {len(values)})")
    z = torch.tensor(values, dtype=torch.float32) * scale
    if not torch.isfinite(z).all():
        raise LabError("a logit is NaN or beyond float32's range (±3.4·10³⁸); even the stable formula needs finite logits")
    return z


def log_softmax_naive(logits: torch.Tensor) -> torch.Tensor:
    """log(exp(z) / sum exp(z)) exactly as written: exp overflows to inf for logits above ~88 (float32).

    >>> log_softmax_naive(torch.tensor([1000.0, 0.0]))
    tensor([nan, -inf])
    """
    e = torch.exp(logits)
    return torch.log(e / e.sum(-1, keepdim=True))


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """The same value computed safely: z - max(z) - log sum exp(z - max(z)).

    Subtracting the largest logit changes nothing mathematically (it cancels in the ratio) but
    makes every exponent <= 0, so exp never overflows, and the sum is >= 1, so log never sees 0.

    >>> log_softmax(torch.tensor([1000.0, 0.0]))
    tensor([    0., -1000.])
    """
    shifted = logits - logits.max(-1, keepdim=True).values.detach()  # the shift's gradient cancels exactly
    return shifted - torch.log(torch.exp(shifted).sum(-1, keepdim=True))


@dataclass
class LogSoftmaxRace:
    """The naive and the stable log-softmax of the same logits, beside torch's."""

    columns: dict[str, torch.Tensor]  # logit z, exp(z) in float32, naive, stable, torch.log_softmax
    naive_broke: bool  # the naive formula gave inf or NaN somewhere (exp overflowed)


def log_softmax_race(logits: torch.Tensor) -> LogSoftmaxRace:
    """Both formulas, and torch.log_softmax as the reference, on the same float32 logits.

    >>> log_softmax_race(torch.tensor([1000.0, 0.0])).naive_broke
    True
    """
    naive = log_softmax_naive(logits)
    columns = {"logit z": logits, "exp(z) in float32": torch.exp(logits), "naive log softmax": naive,
               "stable log softmax": log_softmax(logits), "torch.log_softmax": F.log_softmax(logits, -1)}
    return LogSoftmaxRace(columns, not bool(torch.isfinite(naive).all()))


def smoothed_target(target: torch.Tensor, classes: int, label_smoothing: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(1 - eps) * one_hot(target) + eps / C: the target distribution label smoothing trains toward.

    >>> smoothed_target(torch.tensor([1]), 4, 0.2)
    tensor([[0.0500, 0.8500, 0.0500, 0.0500]])
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise LabError(f"label smoothing must lie in [0, 1] (got {label_smoothing})")
    return (1 - label_smoothing) * F.one_hot(target, classes).to(dtype) + label_smoothing / classes


def cross_entropy_from_logits(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy between smoothed one-hot targets and softmax(logits), from scratch.

    logits: (batch, classes); target: (batch,) class indices. With y the smoothed target the loss is
        -sum_i y_i log q_i = (1 - eps) * (-log q[target]) + eps * mean over classes of (-log q)
    which is what torch.nn.functional.cross_entropy computes. Its gradient with respect to the
    logits is (q - y) / batch: never zero while the model is wrong.

    >>> cross_entropy_from_logits(torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0]))
    tensor(0.2395)
    """
    y = smoothed_target(target, logits.shape[-1], label_smoothing, logits.dtype)
    return -(y * log_softmax(logits)).sum(-1).mean()


@dataclass(frozen=True)
class LossBreakdown:
    """One prediction's loss and what it is made of; arrays run over the classes."""

    loss: float  # ours, in nats
    reference: float  # torch.nn.functional.cross_entropy on the same logits
    q: np.ndarray  # softmax(logits): the model's probabilities
    target: np.ndarray  # the smoothed target y
    gradient: np.ndarray  # dL/dlogits by autograd through our loss: equals q - y

    @property
    def bits(self) -> float:
        return self.loss / math.log(2)


def loss_breakdown(logits: torch.Tensor, target: int, label_smoothing: float = 0.0) -> LossBreakdown:
    """The loss of one prediction (1-D logits, the right class), in float64, beside torch's.

    >>> b = loss_breakdown(torch.tensor([2.0, 0.0]), 0)
    >>> round(b.loss, 4) == round(b.reference, 4), b.gradient.round(4).tolist()
    (True, [-0.1192, 0.1192])
    """
    z = logits.detach().double().reshape(1, -1).requires_grad_()
    if not 0 <= target < z.shape[-1]:
        raise LabError(f"the right class must be one of 0 … {z.shape[-1] - 1} (got {target})")
    y = torch.tensor([target])
    loss = cross_entropy_from_logits(z, y, label_smoothing)
    (grad,) = torch.autograd.grad(loss, z)
    z = z.detach()
    return LossBreakdown(loss.item(), F.cross_entropy(z, y, label_smoothing=label_smoothing).item(), torch.softmax(z, -1)[0].numpy(),
                         smoothed_target(y, z.shape[-1], label_smoothing, z.dtype)[0].numpy(), grad[0].numpy())
