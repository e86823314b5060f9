"""Why classifiers train on cross-entropy, not squared error: the same model, both losses, side by side.

Both losses look at the softmax probabilities p of a classifier and the one-hot target y:

    cross-entropy  = -log p[y]                  gradient wrt the logits: p - y
    squared error  = sum over classes (p - y)^2 gradient wrt the logits: 2 (p - y) * softmax's Jacobian

The softmax Jacobian p_i (delta_ij - p_j) shrinks to zero when the output saturates. So when the
model is confidently WRONG (p[y] near 0), squared error's gradient vanishes and learning stalls,
while cross-entropy's stays near -1: the more wrong, the harder it pushes.

>>> g = saturation_gradients(margins=(-10.0, 0.0))
>>> [round(v, 4) for v in g["cross-entropy"]]      # p[y] = sigmoid(margin); CE gradient = p[y] - 1
[-1.0, -0.5]
>>> [round(v, 4) for v in g["squared error"]]      # at margin -10 squared error has almost nothing to say
[-0.0002, -0.5]
"""

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.errors import LabError
from core.foundations.cross_entropy_loss import cross_entropy_from_logits
from core.foundations.evaluation import split_indices
from core.training import History, OnStep, generators, init_parameters, run_steps


def squared_error_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum over classes (softmax(logits) - one_hot(target))^2."""
    p = torch.softmax(logits, -1)
    y = torch.nn.functional.one_hot(target, logits.shape[-1]).to(p.dtype)
    return ((p - y) ** 2).sum(-1).mean()


LOSSES = {"cross-entropy": cross_entropy_from_logits, "squared error": squared_error_loss}


def saturation_gradients(margins: Sequence[float] = tuple(np.linspace(-12, 12, 97))) -> dict[str, list[float]]:
    """d loss / d (right-class logit) for a two-class output, as the margin logit[y] - logit[other] varies.

    Computed by torch.autograd through the same loss functions the classifier trains with.
    """
    z = torch.tensor([[m, 0.0] for m in margins], dtype=torch.float64, requires_grad=True)
    target = torch.zeros(len(margins), dtype=torch.long)
    out: dict[str, list[float]] = {"margin": [float(m) for m in margins]}
    for name, loss_fn in LOSSES.items():
        (grad,) = torch.autograd.grad(loss_fn(z, target) * len(margins), z)  # per example, not batch-averaged
        out[name] = grad[:, 0].tolist()
    return out


@dataclass(frozen=True)
class LossRaceConfig:
    hidden: int = 32  # hidden units of the one-hidden-layer MLP (0: a linear softmax classifier)
    steps: int = 300  # full-batch gradient-descent steps
    lr: float = 0.5  # plain gradient descent, same rate for both losses
    init_scale: float = 1.0  # multiplies the initial output weights; large = confident (and often wrong) at the start
    seed: int = 0


@dataclass
class LossRaceResult:
    models: dict[str, nn.Module]  # one per loss, from the same initial weights
    history: History  # per step: each model's own loss, accuracy, gradient norm and milliseconds for its step

    @property
    def seconds(self) -> float:
        """How long the whole race took, from its own clock (steps / steps per second)."""
        return self.history.steps[-1] / self.history.last("steps_per_s") if self.history.steps else 0.0

    def median_ms(self, name: str) -> float:
        """The median time of one training step with loss `name`, timed in turn with the other loss in every step."""
        return float(np.median(self.history.metrics[f"{name}: ms per step"]))


def make_model(n_features: int, n_classes: int, config: LossRaceConfig, g: torch.Generator) -> nn.Module:
    """The classifier both losses train, its weights drawn from the run's generator g."""
    if config.hidden > 0:
        model = nn.Sequential(nn.Linear(n_features, config.hidden), nn.Tanh(), nn.Linear(config.hidden, n_classes))
    else:
        model = nn.Sequential(nn.Linear(n_features, n_classes))
    init_parameters(model, g)
    with torch.no_grad():
        model[-1].weight.mul_(config.init_scale)
        model[-1].bias.mul_(config.init_scale)
    return model


def fit(config: LossRaceConfig, data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        on_step: OnStep | None = None) -> LossRaceResult:
    """Train one model copy per loss in lockstep on (x_train, y_train, x_test, y_test).

    Each step is one full-batch gradient step for both, so their curves share an x-axis.
    """
    if config.steps < 1 or not config.lr > 0:
        raise LabError("need at least one step and a positive learning rate")
    _, g = generators(config.seed)
    x, y, x_test, y_test = (torch.as_tensor(a) for a in data)
    x, x_test = x.float(), x_test.float()
    n_classes = int(max(y.max(), y_test.max())) + 1
    start = make_model(x.shape[1], n_classes, config, g)
    models = {name: copy.deepcopy(start) for name in LOSSES}
    optimisers = {name: torch.optim.SGD(m.parameters(), lr=config.lr) for name, m in models.items()}

    def step(i: int) -> dict[str, float]:
        metrics = {}
        for name, model in models.items():  # in turn within every step: a busy machine slows both alike
            start = time.perf_counter()
            logits = model(x)
            loss = LOSSES[name](logits, y)
            optimisers[name].zero_grad()
            loss.backward()
            grad_norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
            optimisers[name].step()
            metrics[f"{name}: ms per step"] = 1000 * (time.perf_counter() - start)  # forward, backward, update (not the test pass)
            with torch.no_grad():
                test_acc = (model(x_test).argmax(-1) == y_test).float().mean()
            metrics |= {f"{name}: loss": loss.item(), f"{name}: train accuracy": (logits.argmax(-1) == y).float().mean().item(),
                        f"{name}: test accuracy": test_acc.item(), f"{name}: gradient norm": grad_norm.item()}
        # run_steps stops a run whose "loss" is not finite; either model diverging ends the race
        metrics["loss"] = metrics["cross-entropy: loss"] + metrics["squared error: loss"]
        return metrics

    history = run_steps(step, config.steps, on_step, items_per_step=len(x), item_name="examples")
    return LossRaceResult(models, history)


def describe(history: History) -> str:
    """What the race's curves show, computed from them: each loss's gradient at the first and the last step,
    and which ends with the higher training accuracy (and the step where it first reached the other's final value).

    >>> h = History()
    >>> for step, (ce, se) in enumerate([(0.1, 0.1), (0.5, 0.2), (0.9, 0.3)], start=1):
    ...     h.record(step, {"cross-entropy: train accuracy": ce, "squared error: train accuracy": se,
    ...                     "cross-entropy: gradient norm": 4.0, "squared error: gradient norm": 0.02})
    >>> print(*describe(h).split(". "), sep="\\n")
    At step 1 cross-entropy's gradient is 200× squared error's (4 vs 0.02); at the last step 4 vs 0.02
    Cross-entropy ends at 90.0% training accuracy against squared error's 30.0%; it first reached 30.0% at step 2.
    """
    ce, se = LOSSES
    grad = {name: history.metrics[f"{name}: gradient norm"] for name in LOSSES}
    acc = {name: history.metrics[f"{name}: train accuracy"] for name in LOSSES}
    first, last = {name: g[0] for name, g in grad.items()}, {name: g[-1] for name, g in grad.items()}
    big, small = (ce, se) if first[ce] >= first[se] else (se, ce)
    times = f"{first[big] / first[small]:.3g}× {small}'s" if first[small] > 0 else f"larger than {small}'s"
    said = (f"At step 1 {big}'s gradient is {times} ({first[big]:.3g} vs {first[small]:.3g}); "
            f"at the last step {last[big]:.3g} vs {last[small]:.3g}. ")
    final = {name: a[-1] for name, a in acc.items()}
    if abs(final[ce] - final[se]) < 0.005:
        return said + f"Both end at about {final[ce]:.1%} training accuracy."
    leader, other = (ce, se) if final[ce] > final[se] else (se, ce)
    step = next(s for s, a in zip(history.steps, acc[leader]) if a >= final[other])
    return said + (f"{leader.capitalize()} ends at {final[leader]:.1%} training accuracy against {other}'s {final[other]:.1%}; "
                   f"it first reached {final[other]:.1%} at step {step}.")


def digits_split(test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1], split into train and test (stratified: each digit keeps its share)."""
    from core.infra.data import sklearn_table

    x, y, _, _ = sklearn_table("digits")
    parts = split_indices(len(x), test_fraction, seed=seed, stratify=y)
    return x[parts.train] / 16.0, y[parts.train], x[parts.test] / 16.0, y[parts.test]
