"""How much can a rank-r update learn? LoRA on a layer whose required change has a known rank.

A frozen layer W0 (d_out × d_in) must become W* = W0 + ΔW*, where the lab picks ΔW* with a chosen
`true_rank` (singular values decaying geometrically, plus optional full-rank noise). We train the
from-scratch `core.llm.lora.LoRALinear` on (x, W*·x) pairs, x ~ N(0, I). With white inputs the loss is

    E‖(ΔW* − ΔW)x‖² / d_out = ‖ΔW* − ΔW‖²_F / d_out,

and no rank-r ΔW can beat the Eckart–Young bound Σ_{i>r} σ_i(ΔW*)² / d_out: the energy in the
directions r can't reach. With r ≥ true_rank (and no noise) LoRA can reach zero; below it, it can
at best reach the bound. Every run is a few hundred steps on 64 × 64 matrices: well under a second.

>>> eckart_young(np.diag([3.0, 2.0, 1.0]), r=1)    # (2² + 1²) / 3 rows
1.6666666666666667
>>> result = fit(ToyConfig(true_rank=2, r=1, steps=50))
>>> result.final_loss >= result.bound > 0
True
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.llm.lora import LoRALinear
from core.training import History, OnStep, generators, run_steps


@dataclass
class ToyConfig:
    d_in: int = 64
    d_out: int = 64
    true_rank: int = 4  # rank of the change the task needs
    decay: float = 0.6  # singular value i of ΔW* is decay**i: later directions matter less
    noise: float = 0.0  # size of a full-rank random part added to ΔW* (real tasks are not exactly low rank)
    r: int = 4  # LoRA rank
    alpha: float = 8.0  # scaling alpha / r
    lr: float = 1e-2  # Adam
    steps: int = 300
    n: int = 512  # training inputs (fresh ones each step would change nothing in expectation)
    seed: int = 0


@dataclass
class ToyResult:
    config: ToyConfig
    history: History
    true_delta: np.ndarray  # ΔW* the task needs
    learned_delta: np.ndarray  # (alpha/r)·B·A after training
    true_singular: np.ndarray
    learned_singular: np.ndarray
    bound: float  # Eckart–Young: the least loss any rank-r update can reach
    final_loss: float  # ‖ΔW* − ΔW‖²_F / d_out, the expected loss of the trained layer
    learned_rank: int  # numerical rank of the learned ΔW (never more than r)
    trainable: int  # r·(d_in + d_out) numbers in A and B, against d_in·d_out for a full ΔW

    @property
    def copied(self) -> int:
        """How many of the reachable leading singular values of ΔW* the learned update matches (see `copied_directions`)."""
        return copied_directions(self.true_singular, self.learned_singular, self.reachable_rank)

    @property
    def converged(self) -> bool:
        """Did training copy every direction rank r can reach, each singular value within COPY_RTOL of its own size?

        A relative test per direction: an absolute loss tolerance would call a run converged while a small
        direction (σ₈ = 0.6⁷ = 0.028) is still learned as 0.006, since that direction's whole energy
        (0.028² / 64 ≈ 1e-5) is below any sensible absolute cut-off."""
        return not self.history.diverged and self.copied == self.reachable_rank

    @property
    def reachable_rank(self) -> int:
        """How many of ΔW*'s directions a rank-r update can copy: r, or ΔW*'s own rank if smaller
        (with noise, ΔW* is full rank)."""
        return min(self.config.r, numerical_rank(self.true_singular))


def task(config: ToyConfig, g: torch.Generator | None = None) -> tuple[nn.Linear, torch.Tensor]:
    """The frozen layer W0 and the change ΔW* = U·diag(decay^i)·Vᵀ (+ noise) the task needs, drawn from
    `g` (a run's generator; by default a fresh one from config.seed)."""
    g = g if g is not None else generators(config.seed)[1]
    base = nn.Linear(config.d_in, config.d_out, bias=False)
    with torch.no_grad():
        base.weight.copy_(torch.randn(config.d_out, config.d_in, generator=g) / config.d_in ** 0.5)
    k = max(0, min(config.true_rank, config.d_in, config.d_out))
    u, _ = torch.linalg.qr(torch.randn(config.d_out, max(k, 1), generator=g))
    v, _ = torch.linalg.qr(torch.randn(config.d_in, max(k, 1), generator=g))
    sigma = config.decay ** torch.arange(k, dtype=torch.float32)
    delta = u[:, :k] @ torch.diag(sigma) @ v[:, :k].T
    delta += config.noise * torch.randn(config.d_out, config.d_in, generator=g) / config.d_in ** 0.5
    return base, delta


def eckart_young(delta: np.ndarray, r: int) -> float:
    """The least ‖ΔW* − M‖²_F / d_out over matrices M of rank ≤ r: the tail of the squared singular values."""
    s = np.linalg.svd(delta, compute_uv=False)
    return float((s[r:] ** 2).sum() / delta.shape[0])


def least_losses(delta: np.ndarray, ranks) -> np.ndarray:
    """`eckart_young` at each rank in `ranks`: how low the loss can go as r grows.

    >>> least_losses(np.diag([2.0, 1.0, 0.0]), [0, 1, 2]).tolist()
    [1.6666666666666667, 0.3333333333333333, 0.0]
    """
    return np.array([eckart_young(delta, int(r)) for r in ranks])


def numerical_rank(singular: np.ndarray, rtol: float = 1e-4) -> int:
    """How many singular values are above `rtol` times the largest: the rest is float rounding.

    >>> numerical_rank(np.array([2.0, 0.5, 1e-7])), numerical_rank(np.zeros(3))
    (2, 0)
    """
    return int((singular > rtol * singular.max()).sum()) if singular.max() > 0 else 0


COPY_RTOL = 0.1  # a learned singular value within 10% of the needed one counts as copied


def copied_directions(true: np.ndarray, learned: np.ndarray, k: int, rtol: float = COPY_RTOL) -> int:
    """How many of the first `k` singular values of `learned` match those of `true`, in order, each within
    `rtol` of its own size (relative: a small direction is judged against itself, not against the largest).

    >>> copied_directions(np.array([1.0, 0.6, 0.028]), np.array([1.0, 0.59, 0.006]), 3)   # the third is far off
    2
    >>> copied_directions(np.array([1.0, 0.6, 0.028]), np.array([1.0, 0.59, 0.027]), 3)
    3
    """
    close = np.abs(learned[:k] - true[:k]) <= rtol * true[:k]
    return int(k if close.all() else np.argmin(close))


def fit(config: ToyConfig, on_step: OnStep | None = None) -> ToyResult:
    _, g = generators(config.seed)  # one stream for the task, A's start and the inputs: no two draw the same numbers
    base, delta = task(config, g)
    layer = LoRALinear(base, config.r, config.alpha, g)
    x = torch.randn(config.n, config.d_in, generator=g)
    with torch.no_grad():
        y = base(x) + x @ delta.T
    optimizer = torch.optim.Adam([layer.A, layer.B], lr=config.lr)

    def step(i: int) -> dict[str, float]:
        loss = (layer(x) - y).pow(2).sum(1).mean() / config.d_out
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    history = run_steps(step, config.steps, on_step)
    with torch.no_grad():
        learned = layer.delta_weight().numpy()
    true = delta.numpy()
    learned_singular = np.linalg.svd(learned, compute_uv=False)
    return ToyResult(config, history, true, learned, np.linalg.svd(true, compute_uv=False), learned_singular,
                     eckart_young(true, config.r), float(((true - learned) ** 2).sum() / config.d_out),
                     numerical_rank(learned_singular), layer.trainable_parameters())
