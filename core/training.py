"""The one training-loop pattern every trainable model in the lab follows.

A model module defines

1. a config dataclass with commented defaults, including an explicit `seed`;
2. `fit(config, data, on_step=None) -> Result`, which calls `seed_everything(config.seed)`, builds
   the model, and hands one step of training to `run_steps`;
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

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

OnStep = Callable[[int, dict[str, float]], bool | None]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, so the same config gives the same run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
