"""core.nn.optim against torch.optim: the same trajectory on the same function for 100 steps (1e-6)."""

import numpy as np
import pytest
import torch

from core.nn import optim

STEPS = 100


# torch.optim's namesake of each of ours, at its defaults except the momentum of 0.9 ours uses
TORCH_OPTIMIZERS = {
    "SGD": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "Momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "Nesterov": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "RMSprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def test_every_optimizer_has_a_torch_namesake():
    assert set(TORCH_OPTIMIZERS) == set(optim.OPTIMIZERS)


def torch_trajectory(name, lr, start, f):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = TORCH_OPTIMIZERS[name]([p], lr)
    points = [p.detach().clone().numpy()]
    for _ in range(STEPS):
        opt.zero_grad()
        f(p[0], p[1]).backward()
        opt.step()
        points.append(p.detach().clone().numpy())
    return np.array(points)


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
@pytest.mark.parametrize("surface", ["Rosenbrock", "bowl", "several minima", "saddle"])
def test_trajectory_matches_torch_optim(name, surface):
    s = optim.surface(surface, condition=20.0)
    lr = s.lr if name in ("SGD", "Momentum", "Nesterov") else 0.05  # adaptive steps are ~lr regardless of scale
    ours = optim.descend(s, name, lr, steps=STEPS)
    assert not ours.history.diverged and len(ours.points) == STEPS + 1
    theirs = torch_trajectory(name, lr, list(s.start), s.f)
    np.testing.assert_allclose(ours.points, theirs, atol=1e-6, rtol=0)
    assert np.abs(ours.points[-1] - ours.points[0]).max() > 0.1  # it actually went somewhere


def test_optimizers_match_torch_on_several_arrays():
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    for name in optim.OPTIMIZERS:
        ours = [rng.normal(size=s) for s in shapes]
        theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
        opt = optim.make(name, ours, 0.03)
        ref = TORCH_OPTIMIZERS[name](theirs, 0.03)
        for _ in range(50):
            loss = sum(((t ** 2).sum() * 0.5 + t.sin().sum()) for t in theirs)
            ref.zero_grad()
            loss.backward()
            opt.step([p + np.cos(p) for p in ours])  # the same loss's gradient, by hand
            ref.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p, t.detach().numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("lr, outcome", [(0.05, "converges"), (0.19, "oscillates"), (0.25, "diverges")])
def test_learning_rate_regimes_on_the_bowl(lr, outcome):
    # on ½(x² + 10y²) SGD is stable for lr < 2/10: below 1/10 monotone, between 1/10 and 2/10 it zig-zags
    t = optim.descend(optim.bowl(10.0), "SGD", lr, steps=300)
    if outcome == "diverges":
        assert t.history.diverged and t.history.stopped and len(t.points) < 301
        assert not np.isfinite(t.losses[-1]) and t.gaps[-1] == np.inf
    else:
        assert not t.history.diverged and t.losses[-1] < 1e-3
        np.testing.assert_allclose(t.gaps, t.losses, rtol=0, atol=0)  # the bowl's minimum is f = 0
        signs = np.sign(t.points[1:30, 1])
        assert (np.any(signs[1:] != signs[:-1])) == (outcome == "oscillates")


def test_contours_cover_every_level():
    df = optim.contours(optim.ROSENBROCK, n_levels=10)
    assert df.level.nunique() == 10 and {"x", "y", "line", "order"} <= set(df.columns)


def test_gap_is_measured_from_the_lowest_minimum():
    s = optim.surface("several minima")  # Himmelblau: four minima, all at f = 0
    t = optim.descend(s, "Adam", 0.1, steps=50)
    np.testing.assert_allclose(t.gaps, t.losses, rtol=0, atol=1e-12)
    s = optim.surface("saddle")  # minima at (0, ±1), f = −1/4
    t = optim.descend(s, "SGD", 0.05, steps=50)
    np.testing.assert_allclose(t.gaps, t.losses + 0.25, rtol=0, atol=1e-12)


def test_the_race_gives_each_optimizer_its_own_learning_rate():
    config = optim.RaceConfig(lr=0.05, lr_adaptive=0.2, steps=30, optimizers=("Momentum", "Adam"))
    momentum, adam = optim.race(config)
    s = config.landscape()
    assert np.array_equal(momentum.points, optim.descend(s, "Momentum", 0.05, 30).points)
    assert np.array_equal(adam.points, optim.descend(s, "Adam", 0.2, 30).points)
    assert optim.race_summary([momentum, adam], config).lr.tolist() == [0.05, 0.2]


def test_paths_leave_out_a_diverged_tail_and_gaps_stay_plottable_on_a_log_axis():
    diverged = optim.descend(optim.bowl(1.0), "SGD", lr=2.5, steps=200)  # each step triples x: off the map after a few
    assert diverged.history.diverged
    kept = optim.paths([diverged], bound=1e3)
    assert (kept[["x", "y"]].abs() < 1e3).all().all() and 0 < len(kept) < len(diverged.points)
    converged = optim.descend(optim.bowl(1.0), "SGD", lr=1.0, steps=3)  # lands on the minimum: gap exactly 0
    gaps = optim.gap_curves([converged])
    assert gaps.gap.min() == pytest.approx(1e-12) and (gaps.gap > 0).all()
