import math

import numpy as np
import pytest
import torch

from core.training import History, run_steps, seed_everything


def test_run_steps_records_every_step_and_speed():
    history = run_steps(lambda i: {"loss": 1.0 / i}, 5, items_per_step=32)
    assert history.steps == [1, 2, 3, 4, 5]
    assert history.metrics["loss"] == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert all(r > 0 for r in history.metrics["tokens_per_s"])
    assert not history.stopped and history.total_steps == 5


def test_on_step_returning_false_stops_the_run():
    calls = []

    def step(i):
        calls.append(i)
        return {"loss": 0.0}

    history = run_steps(step, 100, on_step=lambda i, m: i < 7)
    assert calls == list(range(1, 8))
    assert history.stopped and history.steps[-1] == 7


def test_on_step_returning_none_continues():
    history = run_steps(lambda i: {"loss": 0.0}, 4, on_step=lambda i, m: None)
    assert history.steps[-1] == 4 and not history.stopped


def test_a_diverging_loss_ends_the_run_and_says_so():
    history = run_steps(lambda i: {"loss": 10.0**i if i < 4 else math.inf}, 50)
    assert history.diverged and history.stopped and history.steps[-1] == 4


def test_metrics_reported_only_sometimes_line_up_with_steps():
    history = History()
    history.record(1, {"loss": 2.0})
    history.record(2, {"loss": 1.5, "accuracy": 0.5})
    history.record(3, {"loss": 1.0})
    assert len(history.metrics["accuracy"]) == 3
    assert np.isnan(history.metrics["accuracy"][0]) and np.isnan(history.metrics["accuracy"][2])
    frame = history.frame()
    assert len(frame) == 4  # 3 losses + 1 accuracy, NaN gaps dropped
    assert set(frame.columns) == {"step", "metric", "value"}


def test_same_seed_same_run():
    def train(seed):
        seed_everything(seed)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(64, 4), torch.randn(64, 1)

        def step(i):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return {"loss": loss.item()}

        return run_steps(step, 10).metrics["loss"]

    assert train(3) == train(3)
    assert train(3) != train(4)
