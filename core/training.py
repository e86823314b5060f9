"""The one training-loop pattern every trainable model in the lab follows.

A model module defines

1. a config dataclass with commented defaults, including an explicit `seed`;
2. `fit(config, data, on_step=None) -> Result`, which makes the run's own random generators
   (`generators(config.seed)`), builds the model from them (`init_parameters`, `Dropout`), and hands
   one step of training to `run_steps`;
3. a Result dataclass holding the trained model (or its numbers) and the `History`.

`on_step(step, metrics)` is how the outside world watches: a notebook prints, a page draws a
progress bar and a live loss chart. Returning False stops the run early; the History says so.

>>> import torch
>>> w = torch.zeros(1, requires_grad=True)
>>> opt = torch.optim.SGD([w], lr=0.1)
>>> def step(i):
...     loss = (w - 3.0).pow(2).sum()
...     opt.zero_grad(); loss.backward(); opt.step()
...     return {"loss": loss.item()}
>>> history = run_steps(step, 50, on_step=lambda i, m: i < 20)
>>> history.steps[-1], history.stopped
(20, True)
>>> round(w.item(), 2)
2.97
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

OnStep = Callable[[int, dict[str, float]], bool | None]


def generators(seed: int) -> tuple[np.random.Generator, torch.Generator]:
    """The run's own random generators, one for NumPy and one for torch, both from `seed`.

    Never seed the process-wide generators (`torch.manual_seed`, `np.random.seed`): one server
    trains for many learners at once, in threads that share those, so two runs with the same seed
    would interleave their draws and both differ from a run alone. A run that owns its generators
    repeats bit for bit, whoever else is training.

    >>> rng, g = generators(0)
    >>> int(rng.integers(10)), round(torch.rand(1, generator=g).item(), 4)
    (8, 0.4963)
    """
    return np.random.default_rng(seed), torch.Generator().manual_seed(seed)


def init_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Draw every parameter of `module` afresh from `generator`, with torch's default distributions.

    Layers draw their initial weights from the process-wide generator when they are built; this
    redraws them from the run's own one, in the same order and from the same distributions, so a
    model built and then initialised here equals the one `torch.manual_seed(seed)` would have built.

        Linear, RNN/GRU/LSTM (and their Cells)   U(-b, b), b = 1/sqrt(fan_in) (Linear) or 1/sqrt(hidden_size) (recurrent)
        Embedding              N(0, 1)
        LayerNorm              weight 1, bias 0

    A module of the lab with its own scheme (GPT's N(0, 0.02)) draws from the generator itself.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            bound = 1 / math.sqrt(m.in_features) if m.in_features else 0.0
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)  # = U(-bound, bound)
            if m.bias is not None:
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, generator=generator)
        elif isinstance(m, (nn.RNNBase, nn.RNNCellBase)):  # layers and single cells (GRUCell, LSTMCell): U(-1/√H, 1/√H)
            bound = 1 / math.sqrt(m.hidden_size)
            for w in m.parameters():
                nn.init.uniform_(w, -bound, bound, generator=generator)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class Dropout(nn.Module):
    """Dropout whose random mask comes from the run's own generator (torch's draws process-wide).

    In training, each element is zeroed with probability p and the survivors are scaled by 1/(1-p),
    so the expected output equals the input; in eval mode it is the identity. Same mask as
    `F.dropout` would draw from a process generator in the same state.
    """

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), not {p}")
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep.div_(1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


@dataclass
class History:
    """Metrics per reported step, plus whether the run was stopped before its last step."""

    steps: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    total_steps: int = 0
    stopped: bool = False  # ended before total_steps (on_step said stop, or the loss diverged)
    diverged: bool = False  # the loss became inf or NaN

    def record(self, step: int, metrics: dict[str, float]) -> None:
        self.steps.append(step)
        for name, value in metrics.items():
            self.metrics.setdefault(name, [float("nan")] * (len(self.steps) - 1)).append(float(value))
        for series in self.metrics.values():  # a metric reported only sometimes (e.g. eval) gets NaN gaps
            series.extend([float("nan")] * (len(self.steps) - len(series)))

    def last(self, name: str) -> float:
        return self.metrics[name][-1]

    def frame(self) -> pd.DataFrame:
        """Long format (step, metric, value), the shape altair wants for one line per metric."""
        wide = pd.DataFrame(self.metrics, index=pd.Index(self.steps, name="step"))
        return wide.reset_index().melt("step", var_name="metric", value_name="value").dropna()


def run_steps(step_fn: Callable[[int], dict[str, float]], n_steps: int, on_step: OnStep | None = None,
              items_per_step: int | None = None, item_name: str = "tokens") -> History:
    """Call `step_fn(step)` for step = 1..n_steps, recording its metrics, until done or stopped.

    Adds `steps_per_s` (and `<item_name>_per_s` when `items_per_step` is given, e.g. tokens per
    batch) measured over the run so far, so every training loop reports its speed the same way.
    A non-finite loss stops the run: a diverged model has nothing more to teach, and NaNs would
    only break the charts downstream.
    """
    history = History(total_steps=n_steps)
    start = time.perf_counter()
    for step in range(1, n_steps + 1):
        metrics = dict(step_fn(step))
        elapsed = max(time.perf_counter() - start, 1e-9)
        metrics["steps_per_s"] = step / elapsed
        if items_per_step:
            metrics[f"{item_name}_per_s"] = step * items_per_step / elapsed
        history.record(step, metrics)
        diverged = "loss" in metrics and not np.isfinite(metrics["loss"])
        if (on_step is not None and on_step(step, metrics) is False) or diverged:
            history.stopped = step < n_steps
            history.diverged = diverged
            break
    return history
