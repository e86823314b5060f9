"""core.foundations.loss_race: squared-error and cross-entropy gradients against their closed forms; a tiny race."""

import numpy as np
import pytest
import torch

from core.errors import LabError
from core.foundations.loss_race import LossRaceConfig, fit, saturation_gradients, squared_error_loss


def test_saturation_gradients_match_closed_forms():
    margins = np.linspace(-12, 12, 25)
    g = saturation_gradients(tuple(margins))
    p = 1 / (1 + np.exp(-margins))  # two classes: p[right] = sigmoid(margin)
    np.testing.assert_allclose(g["cross-entropy"], p - 1, atol=1e-12)
    # sum (p - y)^2 over two classes = 2 (1 - p)^2, and dp/dmargin = p (1 - p)
    np.testing.assert_allclose(g["squared error"], -4 * (1 - p) ** 2 * p, atol=1e-12)
    assert abs(g["squared error"][0]) < 1e-3 < abs(g["cross-entropy"][0])  # confidently wrong: MSE barely moves


def test_squared_error_loss_matches_mse_on_softmax():
    torch.manual_seed(0)
    logits, target = torch.randn(8, 4), torch.randint(0, 4, (8,))
    ref = torch.nn.functional.mse_loss(torch.softmax(logits, -1), torch.nn.functional.one_hot(target, 4).float(), reduction="sum") / 8
    torch.testing.assert_close(squared_error_loss(logits, target), ref)


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0)
    return x[:80], y[:80], x[80:], y[80:]


@pytest.mark.slow
def test_race_from_a_saturated_start_cross_entropy_recovers_squared_error_stalls():
    result = fit(LossRaceConfig(hidden=0, steps=60, lr=0.5, init_scale=40.0, seed=0), tiny_data())
    m = result.history.metrics
    assert len(result.history.steps) == 60 and not result.history.stopped
    assert m["cross-entropy: train accuracy"][-1] > m["squared error: train accuracy"][-1] + 0.1
    assert m["cross-entropy: gradient norm"][0] > 10 * m["squared error: gradient norm"][0]
    assert "examples_per_s" in m


def test_race_is_reproducible_and_survives_absurd_learning_rates():
    a = fit(LossRaceConfig(hidden=8, steps=5, seed=3), tiny_data()).history.metrics
    b = fit(LossRaceConfig(hidden=8, steps=5, seed=3), tiny_data()).history.metrics
    assert a["cross-entropy: loss"] == b["cross-entropy: loss"]
    wild = fit(LossRaceConfig(hidden=0, steps=10, lr=1e30), tiny_data()).history  # huge logits, but the stable
    assert np.isfinite(wild.metrics["loss"]).all() and not wild.stopped  # log-softmax never turns them into NaN
    with pytest.raises(LabError):
        fit(LossRaceConfig(steps=0), tiny_data())


def test_race_times_each_loss_every_step_and_knows_how_long_it_took():
    result = fit(LossRaceConfig(hidden=4, steps=6, seed=0), tiny_data())
    m = result.history.metrics
    for name in ("cross-entropy", "squared error"):
        assert len(m[f"{name}: ms per step"]) == 6 and min(m[f"{name}: ms per step"]) > 0
        assert result.median_ms(name) == np.median(m[f"{name}: ms per step"])
    assert result.seconds == pytest.approx(6 / m["steps_per_s"][-1])
    # each loss's steps take less time than the whole run (they are part of it)
    assert sum(m["cross-entropy: ms per step"]) + sum(m["squared error: ms per step"]) < 1000 * result.seconds
