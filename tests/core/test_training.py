import math

import numpy as np
import pytest
import torch

from core.training import Dropout, History, generators, init_parameters, run_steps


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


def test_init_parameters_equals_torch_defaults_drawn_from_the_same_seed():
    def build():
        return torch.nn.Sequential(torch.nn.Embedding(7, 5), torch.nn.Linear(5, 3), torch.nn.LayerNorm(3),
                                   torch.nn.LSTM(3, 4), torch.nn.GRU(4, 2), torch.nn.RNN(2, 2))

    torch.manual_seed(11)
    reference = build()  # torch's own reset_parameters, from the process-wide generator
    ours = init_parameters(build(), torch.Generator().manual_seed(11))
    for (name, a), (_, b) in zip(reference.named_parameters(), ours.named_parameters()):
        assert torch.equal(a, b), name


def test_dropout_draws_the_mask_f_dropout_would_draw_and_is_the_identity_in_eval():
    x = torch.randn(6, 9, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(4)
    reference = torch.nn.functional.dropout(x, p=0.3)
    layer = Dropout(0.3, torch.Generator().manual_seed(4))
    assert torch.equal(layer(x), reference)
    assert torch.equal(layer.eval()(x), x)


def test_runs_that_own_their_generators_repeat_bit_for_bit_while_others_train():
    def run(seed):
        rng, g = generators(seed)
        model = init_parameters(torch.nn.Sequential(torch.nn.Linear(8, 16), Dropout(0.2, g), torch.nn.Linear(16, 1)), g)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        x, y = torch.from_numpy(rng.normal(size=(32, 8))).float(), torch.randn(32, 1, generator=g)
        for _ in range(20):
            torch.rand(1000)  # someone else drawing from the process-wide generator meanwhile
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()]

    from concurrent.futures import ThreadPoolExecutor
    alone = run(5)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, [5, 5, 5, 5]))
    assert all(torch.equal(a, b) for other in together for a, b in zip(alone, other))
