"""core.nn.mlp against torch: the same weights give the same loss and gradients (1e-6), and the
softmax + cross-entropy gradient p − y against torch and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import LabError
from core.infra import data
from core.nn import mlp

TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda t: t}


def torch_loss_and_grads(model: mlp.MLP, X, y, loss, l1, l2, masks=None):
    params = [torch.tensor(p.copy(), requires_grad=True) for p in model.params]
    a = torch.tensor(X)
    n = len(params) // 2
    for i in range(n):
        z = a @ params[2 * i] + params[2 * i + 1]
        if i < n - 1:
            a = TORCH_ACT[model.activation](z)
            if masks is not None and masks[i] is not None:
                a = a * torch.tensor(masks[i])
    yt = torch.tensor(y)
    if loss == "cross_entropy":
        data_loss = F.cross_entropy(z, yt)
    else:
        data_loss = ((F.softmax(z, dim=1) - F.one_hot(yt, z.shape[1]).double()) ** 2).sum(1).mean()
    total = data_loss + sum(l1 * W.abs().sum() + l2 * (W ** 2).sum() for W in params[0::2])
    total.backward()
    return data_loss.item(), total.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("activation", list(mlp.ACTIVATIONS))
@pytest.mark.parametrize("loss", mlp.LOSSES)
@pytest.mark.parametrize("hidden", [(), (5,), (6, 4, 3)])
def test_gradients_match_torch(activation, loss, hidden):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(17, 3)), rng.integers(0, 4, 17)
    model = mlp.MLP([3, *hidden, 4], activation, rng)
    for p in model.params[1::2]:
        p[...] = rng.normal(size=p.shape)  # non-zero biases too
    l1, l2 = 0.01, 0.02
    total, grads = model.loss_and_grads(X, y, loss, l1, l2)
    ref_data, ref_total, ref_grads = torch_loss_and_grads(model, X, y, loss, l1, l2)
    assert abs(model.evaluate(X, y, loss)[0] - ref_data) < 1e-6
    assert abs(total - ref_total) < 1e-6 and abs(total - ref_data) > 1e-3  # the penalty is in, and counted right
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, atol=1e-6, rtol=0)


def test_gradients_with_dropout_match_torch_with_the_same_masks():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(11, 2)), rng.integers(0, 3, 11)
    model = mlp.MLP([2, 8, 8, 3], "relu", rng)
    _, cache = model.forward(X, dropout=0.5, rng=np.random.default_rng(7))
    assert any((m == 0).any() for m in cache["mask"])  # some units really were dropped
    _, grads = model.loss_and_grads(X, y, dropout=0.5, rng=np.random.default_rng(7))
    _, _, ref = torch_loss_and_grads(model, X, y, "cross_entropy", 0, 0, cache["mask"])
    for g, r in zip(grads, ref):
        np.testing.assert_allclose(g, r, atol=1e-6, rtol=0)


def test_softmax_cross_entropy_gradient_is_p_minus_y():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(5, 7)) * 3, rng.integers(0, 7, 5)
    zt = torch.tensor(z, requires_grad=True)
    F.cross_entropy(zt, torch.tensor(y)).backward()
    ours = mlp.softmax_ce_grad(z, y)
    np.testing.assert_allclose(ours, zt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours, mlp.numerical_gradient(lambda t: mlp.cross_entropy_from_logits(t, y), z), atol=1e-8)
    np.testing.assert_allclose(mlp.softmax(z), F.softmax(torch.tensor(z), 1).numpy(), atol=1e-12)
    assert abs(mlp.cross_entropy_from_logits(z * 100, y) - F.cross_entropy(torch.tensor(z * 100), torch.tensor(y)).item()) < 1e-9


@pytest.mark.parametrize("scale", [0.1, 2.0, 20.0])
def test_the_pages_gradient_check_agrees_with_torch(scale):
    table, gap = mlp.softmax_ce_check(7, scale, seed=4)
    z = torch.tensor(table["logit z"][None], requires_grad=True)
    y = int(np.argmax(table["y (one-hot)"]))
    F.cross_entropy(z, torch.tensor([y])).backward()
    np.testing.assert_allclose(table["p − y"], z.grad.numpy()[0], atol=1e-12, rtol=0)
    np.testing.assert_allclose(table["p = softmax(z)"], F.softmax(z, 1).detach().numpy()[0], atol=1e-12, rtol=0)
    assert gap == np.abs(table["p − y"] - table["finite differences"]).max() and gap < 1e-6
    assert np.ptp(table["logit z"]) > scale  # the logits really are spread by the scale


def test_weight_images_map_each_unit_to_its_own_grey_scale():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(64, 3)) * np.array([0.01, 1.0, 100.0])
    images = mlp.weight_images(W)
    assert len(images) == 3 and all(img.shape == (8, 8) for img in images)
    for k, img in enumerate(images):
        assert img.min() >= 0 and img.max() <= 1 and min(img.min(), 1 - img.max()) < 1e-12  # one end reached
        np.testing.assert_allclose(img.ravel() * 2 - 1, W[:, k] / np.abs(W[:, k]).max(), atol=1e-12)


def test_training_learns_xor_points_and_counts_examples():
    X, y = data.points("xor", 300, 0.05, seed=0)
    sp = mlp.split(X, y, 0.3)
    h = mlp.fit(mlp.MLPConfig(hidden=(8, 8), epochs=40), sp).history
    assert h.last("test_acc") > 0.9
    # one step is one epoch: a pass over every training example (not one batch, not the test set)
    assert h.last("examples_per_s") == pytest.approx(h.last("steps_per_s") * len(sp.X_train), rel=1e-12)


@pytest.mark.parametrize("activation", ["relu", "linear"])  # linear overflows to inf; relu explodes but stays finite
def test_huge_learning_rate_diverges_and_stops(activation):
    X, y = data.points("spiral", 200, 0.1, seed=0, classes=3)
    result = mlp.fit(mlp.MLPConfig(optimizer="SGD", lr=1e6, activation=activation, epochs=50), mlp.split(X, y))
    assert result.history.diverged and result.history.stopped
    assert len(result.history.steps) < 50


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_huge_learning_rate_with_mse_diverges_and_stops(optimizer):
    # squared error of softmax outputs never exceeds 2, however wrong: the run must still be caught,
    # by how confidently wrong its logits are (their cross-entropy), and stopped within a few epochs
    X, y = data.points("spiral", 200, 0.1, seed=0, classes=3)
    result = mlp.fit(mlp.MLPConfig(optimizer=optimizer, lr=1000.0, loss="mse", epochs=50), mlp.split(X, y))
    h = result.history
    assert h.diverged and h.stopped and len(h.steps) < 10
    assert h.last("loss") <= 2 and h.last("train_ce") > mlp.EXPLODED * np.log(3)
    assert "confidently wrong" in mlp.why_diverged(h, 3)


@pytest.mark.parametrize("loss", mlp.LOSSES)
def test_sensible_learning_rate_does_not_count_as_diverged(loss):
    X, y = data.points("spiral", 200, 0.1, seed=0, classes=3)
    h = mlp.fit(mlp.MLPConfig(lr=0.03, loss=loss, epochs=100), mlp.split(X, y)).history
    assert not h.diverged and len(h.steps) == 100


def test_non_finite_weights_count_as_diverged():
    X, y = data.points("spiral", 200, 0.1, seed=0, classes=3)
    h = mlp.fit(mlp.MLPConfig(optimizer="SGD", lr=1e6, activation="linear", epochs=50), mlp.split(X, y)).history
    assert h.diverged and not np.isfinite(h.last("loss")) and "overflowed" in mlp.why_diverged(h, 3)


def test_split_that_leaves_a_class_out_of_training_is_a_lab_error():
    X = np.arange(82.0).reshape(41, 2)
    y = np.array([0] * 20 + [1] * 20 + [2])  # one example of class 2, most points held out
    with pytest.raises(LabError, match="class 2 has no training"):
        mlp.split(X, y, test_fraction=0.9, seed=0)
    assert set(mlp.split(X, y, test_fraction=0.1, seed=0).y_train) == {0, 1, 2}


def test_early_stopping_keeps_the_best_validation_epoch():
    X, y, _, _ = data.sklearn_table("digits")
    sp = mlp.split(X[:300] / 16, y[:300], 0.3, 0.3, seed=0)
    config = mlp.MLPConfig(hidden=(64,), epochs=200, lr=0.01, batch_size=16, patience=5)
    result = mlp.fit(config, sp)
    assert result.early_stopped and len(result.history.steps) < 200
    val = np.array(result.history.metrics["val_loss"])
    assert result.best_epoch == result.history.steps[int(np.argmin(val))]
    loss, _ = result.model.evaluate(sp.X_val, sp.y_val, "cross_entropy")
    assert abs(loss - val.min()) < 1e-12  # the model holds the best epoch's weights, not the last


def test_zero_hidden_units_is_a_lab_error():
    with pytest.raises(LabError):
        mlp.MLP([2, 0, 2])


def test_run_for_measures_with_one_epoch_then_fills_the_time_it_is_given():
    X, y = data.points("circle", 120, 0.1, seed=0)
    t = mlp.Trainer(mlp.MLPConfig(hidden=(4,), epochs=1, seed=0), mlp.split(X, y, 0.3, seed=0))
    assert t.latest() == t.metrics()  # before any epoch: the untrained network
    t.run_for(0.05)
    assert t.epoch == 1  # no speed known yet: one epoch, to measure it
    rate = t.history.last("steps_per_s")
    t.run_for(0.05)
    assert t.epoch - 1 == int(np.clip(rate * 0.05, 1, 200))
    assert t.latest()["loss"] == t.history.metrics["loss"][-1]
