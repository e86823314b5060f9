"""Gradient-descent optimizers from scratch (NumPy), and 2-D surfaces to watch them on.

Each optimizer updates a list of NumPy arrays in place from their gradients, with exactly the
update rule of its torch.optim namesake (defaults included), so the tests can compare
trajectories step for step. The surfaces carry their own analytic gradient.

>>> p = [np.array([3.0])]
>>> opt = Adam(p, lr=0.1)
>>> for _ in range(200):
...     opt.step([2 * (p[0] - 1.0)])           # minimise (p - 1)²
>>> round(float(p[0][0]), 2)
1.0
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.training import History, run_steps


class Optimizer:
    def __init__(self, params: list[np.ndarray], lr: float):
        self.params, self.lr, self.t = params, lr, 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.update(i, p, g)

    def update(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """p ← p − lr·v with v = μ·v + g (heavy ball); Nesterov steps with g + μ·v, a look-ahead."""

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.nesterov = momentum, nesterov
        self.v = [np.zeros_like(p) for p in params]

    def update(self, i, p, g):
        if self.momentum:
            # torch starts the buffer at g on the first step; μ·0 + g is the same thing
            self.v[i] = self.momentum * self.v[i] + g
            g = g + self.momentum * self.v[i] if self.nesterov else self.v[i]
        p -= self.lr * g


class RMSprop(Optimizer):
    """Divide each coordinate's step by a running RMS of its gradient: steep directions slow down."""

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps
        self.s = [np.zeros_like(p) for p in params]

    def update(self, i, p, g):
        self.s[i] = self.alpha * self.s[i] + (1 - self.alpha) * g * g
        p -= self.lr * g / (np.sqrt(self.s[i]) + self.eps)


class Adam(Optimizer):
    """Momentum (first moment m) + RMSprop (second moment v), both bias-corrected for their zero start."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        (self.b1, self.b2), self.eps = betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def update(self, i, p, g):
        self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
        self.v[i] = self.b2 * self.v[i] + (1 - self.b2) * g * g
        m_hat = self.m[i] / (1 - self.b1 ** self.t)
        v_hat = self.v[i] / (1 - self.b2 ** self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


@dataclass(frozen=True)
class Settings:
    """The optimizers' knobs besides the learning rate (torch.optim's defaults, momentum 0.9)."""

    momentum: float = 0.9  # μ of Momentum and Nesterov: how much of the last step each step keeps
    alpha: float = 0.99  # RMSprop's decay of its running mean of g²
    beta1: float = 0.9  # Adam's decay of its running mean of g (its momentum)
    beta2: float = 0.999  # Adam's decay of its running mean of g²


OPTIMIZERS: dict[str, Callable[[list[np.ndarray], float, Settings], Optimizer]] = {
    "SGD": lambda params, lr, h: SGD(params, lr),
    "Momentum": lambda params, lr, h: SGD(params, lr, momentum=h.momentum),
    "Nesterov": lambda params, lr, h: SGD(params, lr, momentum=h.momentum, nesterov=True),
    "RMSprop": lambda params, lr, h: RMSprop(params, lr, alpha=h.alpha),
    "Adam": lambda params, lr, h: Adam(params, lr, betas=(h.beta1, h.beta2)),
}


def make(name: str, params: list[np.ndarray], lr: float, settings: Settings = Settings()) -> Optimizer:
    """An optimizer by name (see OPTIMIZERS) with `settings` (default: momentum 0.9, torch's decays)."""
    return OPTIMIZERS[name](params, lr, settings)


# ----------------------------------------------------------------------------- 2-D surfaces


@dataclass(frozen=True)
class Surface:
    name: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]  # vectorised: works on grids too
    grad: Callable[[float, float], np.ndarray]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    lr: float  # a learning rate at which plain SGD converges, the page's default
    lr_adaptive: float = 0.05  # RMSprop/Adam step about lr per coordinate whatever the scale: a separate default

    @property
    def f_min(self) -> float:
        """The lowest value of f: at the best of its minima."""
        return min(float(self.f(*m)) for m in self.minima)


def bowl(condition: float = 10.0) -> Surface:
    """f = ½(x² + κy²): κ is the condition number, the ratio of the steepest to the flattest curvature."""
    return Surface(f"bowl (κ = {condition:g})", lambda x, y: 0.5 * (x ** 2 + condition * y ** 2),
                   lambda x, y: np.array([x, condition * y]), (-4.0, 2.0), (-5, 5), (-3, 3), ((0.0, 0.0),),
                   lr=min(0.1, 1.0 / condition))


ROSENBROCK = Surface("Rosenbrock", lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2,
                     lambda x, y: np.array([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)]),
                     (-1.5, 2.0), (-2, 2), (-1, 3), ((1.0, 1.0),), lr=0.001, lr_adaptive=0.02)

# x² + y⁴/4 − y²/2: a saddle at the origin between minima at (0, ±1). Started on the ridge
# (y ≈ 0), plain gradient descent crawls: the gradient pointing off the ridge is nearly zero.
SADDLE = Surface("saddle", lambda x, y: x ** 2 + y ** 4 / 4 - y ** 2 / 2,
                 lambda x, y: np.array([2 * x, y ** 3 - y]), (-2.0, 0.01), (-2.5, 2.5), (-2, 2), ((0.0, 1.0), (0.0, -1.0)),
                 lr=0.05)

# Himmelblau's function: four minima of the same height; which one you reach depends on the path
HIMMELBLAU = Surface("several minima (Himmelblau)", lambda x, y: (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
                     lambda x, y: np.array([4 * x * (x ** 2 + y - 11) + 2 * (x + y ** 2 - 7),
                                            2 * (x ** 2 + y - 11) + 4 * y * (x + y ** 2 - 7)]),
                     (-0.5, -0.5), (-5, 5), (-5, 5),
                     ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127)), lr=0.01, lr_adaptive=0.1)

SURFACES = ("bowl", "Rosenbrock", "saddle", "several minima")


def surface(name: str, condition: float = 10.0) -> Surface:
    return {"bowl": bowl(condition), "Rosenbrock": ROSENBROCK, "saddle": SADDLE, "several minima": HIMMELBLAU}[name]


@dataclass
class Trajectory:
    optimizer: str
    points: np.ndarray  # (steps + 1, 2), the start first
    losses: np.ndarray  # f at each point
    gaps: np.ndarray  # f − min f at each point: how far above the lowest minimum (inf once diverged)
    history: History  # .diverged when f became inf/NaN or the point flew off (|x| > 1e6)


BLOWUP = 1e6  # a point this far out is on its way to infinity: stop before the floats overflow


def descend(s: Surface, optimizer: str, lr: float, steps: int = 200, start: tuple[float, float] | None = None,
            settings: Settings = Settings()) -> Trajectory:
    """Run `optimizer` (with `settings`) on surface `s` for `steps` steps from `start` (default: the surface's).

    >>> t = descend(bowl(1.0), "SGD", lr=0.5, steps=20)
    >>> np.round(t.points[-1], 4).tolist(), float(t.gaps[0]), t.history.diverged
    ([-0.0, 0.0], 10.0, False)
    >>> descend(bowl(1.0), "SGD", lr=2.5, steps=200).history.diverged
    True
    """
    p = np.array(start if start is not None else s.start, dtype=np.float64)
    opt = make(optimizer, [p], lr, settings)
    points, losses = [p.copy()], [float(s.f(*p))]

    def step(_):
        opt.step([s.grad(*p)])
        points.append(p.copy())
        loss = float(s.f(*p)) if np.all(np.abs(p) < BLOWUP) else float("inf")
        losses.append(loss)
        return {"loss": loss}

    with np.errstate(over="ignore", invalid="ignore"):
        history = run_steps(step, steps)
        gaps = np.array(losses) - s.f_min
    gaps[~np.isfinite(gaps)] = np.inf  # NaN once f overflowed: as far from the minimum as it gets
    return Trajectory(optimizer, np.array(points), np.array(losses), gaps, history)


def grid(s: Surface, n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f on an n×n grid over the surface's window: (xs, ys, values), for contour plots."""
    xs, ys = np.linspace(*s.xlim, n), np.linspace(*s.ylim, n)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, s.f(X, Y)


def contours(s: Surface, n_levels: int = 14, n: int = 120):
    """Contour lines of f as a long DataFrame (level, above, line, order, x, y), ready to draw.

    Levels are spaced evenly in log(f − min f), so the valley floor gets lines too; `above` is
    level − min f over the window, always > 0, so it can be coloured on a log scale even where f < 0
    (the saddle's minima sit at f = −¼).

    >>> df = contours(SADDLE, n_levels=5)
    >>> bool((df.level < 0).any()), bool((df.above > 0).all())
    (True, True)
    """
    import contourpy
    import pandas as pd

    X, Y, Z = grid(s, n)
    lo = Z.min()
    levels = lo + np.geomspace(1e-2 * (np.quantile(Z, 0.9) - lo) + 1e-9, np.quantile(Z, 0.9) - lo, n_levels)
    gen = contourpy.contour_generator(X, Y, Z)
    rows, line = [], 0
    for level in levels:
        for seg in gen.lines(level):
            line += 1
            rows.append(pd.DataFrame({"level": level, "above": level - lo, "line": line, "order": np.arange(len(seg)),
                                      "x": seg[:, 0], "y": seg[:, 1]}))
    return pd.concat(rows, ignore_index=True)


def verdict(t: Trajectory, s: Surface, tol: float = 1e-3) -> str:
    """In words: diverged, converged (to which minimum), oscillating, or still on its way.

    Oscillating means most consecutive steps point against each other (a zig-zag across a valley).
    """
    if t.history.diverged:
        return f"diverged at step {t.history.steps[-1]}"
    steps = np.diff(t.points[:51], axis=0)  # the first 50 steps, where the zig-zag (if any) is plain
    zigzag = len(steps) > 2 and np.mean(np.sum(steps[1:] * steps[:-1], axis=1) < 0) > 0.5
    dists = [np.hypot(*(t.points[-1] - m)) for m in s.minima]
    if min(dists) < tol ** 0.5:
        x, y = s.minima[int(np.argmin(dists))]
        return f"converged to ({x:.2g}, {y:.2g})" + (", zig-zagging" if zigzag else "")
    return "oscillating" if zigzag else "still on its way"


def lr_sweep(s: Surface, optimizer: str, lrs: list[float], steps: int = 200, start: tuple[float, float] | None = None,
             settings: Settings = Settings()):
    """Run `optimizer` once per learning rate: lr, gap to the minimum at the end, outcome (in
    words) and its kind (converged, converged (zig-zag), oscillating, still on its way, diverged).

    >>> lr_sweep(bowl(10.0), "SGD", [0.01, 0.1, 0.19, 0.3]).kind.tolist()
    ['still on its way', 'converged', 'converged (zig-zag)', 'diverged']
    """
    import pandas as pd

    rows = []
    for lr in lrs:
        t = descend(s, optimizer, lr, steps, start, settings)
        outcome = verdict(t, s)
        kind = ("converged (zig-zag)" if "zig-zag" in outcome else outcome.split(" to ")[0].split(" at ")[0])
        rows.append({"lr": lr, "gap": float(t.gaps[-1]), "outcome": outcome, "kind": kind})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the race on one surface

# RMSprop and Adam step about lr per coordinate whatever the gradient's scale, so they get a learning
# rate of their own; SGD, momentum and Nesterov step lr × the gradient.
ADAPTIVE = ("RMSprop", "Adam")
# log-spaced (learning rates live on a log scale), plus 0.19 / 0.21 either side of the bowl's 2/κ at κ = 10
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.19, 0.21, 0.3, 0.5, 1.0, 2.0, 3.0)


def learning_rate(optimizer: str, lr: float, lr_adaptive: float) -> float:
    """The learning rate `optimizer` runs at: `lr_adaptive` for RMSprop and Adam, `lr` for the SGD family.

    >>> learning_rate("Momentum", 0.1, 0.05), learning_rate("Adam", 0.1, 0.05)
    (0.1, 0.05)
    """
    return lr_adaptive if optimizer in ADAPTIVE else lr


def nearest_rate(lr: float, rates: tuple[float, ...] = LEARNING_RATES) -> float:
    """The rate in `rates` closest to `lr` on a log scale (a surface's default, snapped to the slider's grid).

    >>> nearest_rate(0.04), nearest_rate(1 / 30)
    (0.05, 0.03)
    """
    return min(rates, key=lambda v: abs(np.log(v / lr)))


@dataclass(frozen=True)
class RaceConfig:
    surface: str = "bowl"  # one of SURFACES
    condition: float = 10.0  # the bowl's κ (the other surfaces ignore it)
    lr: float = 0.1  # SGD, momentum, Nesterov
    lr_adaptive: float = 0.05  # RMSprop, Adam
    steps: int = 300
    start: tuple[float, float] | None = None  # None: the surface's own start
    optimizers: tuple[str, ...] = tuple(OPTIMIZERS)
    settings: Settings = Settings()  # momentum μ, RMSprop's α, Adam's β₁ and β₂

    def landscape(self) -> Surface:
        return surface(self.surface, self.condition)


def race(config: RaceConfig) -> list[Trajectory]:
    """Every chosen optimizer down the same surface from the same start, each at its learning rate.

    >>> [t.history.diverged for t in race(RaceConfig(lr=0.3, optimizers=("SGD", "Adam")))]
    [True, False]
    """
    s = config.landscape()
    return [descend(s, o, learning_rate(o, config.lr, config.lr_adaptive), config.steps, config.start, config.settings)
            for o in config.optimizers]


def race_sweep(config: RaceConfig, optimizer: str, lrs: tuple[float, ...] = LEARNING_RATES):
    """`lr_sweep` of one optimizer on the race's surface, steps and start."""
    return lr_sweep(config.landscape(), optimizer, list(lrs), config.steps, config.start, config.settings)


def surface_contours(name: str, condition: float = 10.0):
    """`contours` of a surface by name (plain arguments: a cache can key on them)."""
    return contours(surface(name, condition))


def paths(trajectories: list[Trajectory], bound: float = 1e3, upto: int | None = None):
    """The points of each run as a long DataFrame (optimizer, step, x, y), up to step `upto` (all when
    None: an animation shows the first few, then more); a diverged tail (non-finite or beyond ±bound)
    is left out, so it can't stretch a plot of the surface."""
    import pandas as pd

    frames = []
    for t in trajectories:
        keep = np.all(np.isfinite(t.points), axis=1) & np.all(np.abs(t.points) < bound, axis=1)
        keep &= np.arange(len(t.points)) <= (len(t.points) if upto is None else upto)
        frames.append(pd.DataFrame({"optimizer": t.optimizer, "step": np.arange(len(t.points))[keep],
                                    "x": t.points[keep, 0], "y": t.points[keep, 1]}))
    return pd.concat(frames, ignore_index=True)


def gap_curves(trajectories: list[Trajectory], floor: float = 1e-12, ceiling: float = 1e12):
    """f − min f per step of each run (optimizer, step, gap), for a log-scale plot: `floor` is added
    (a gap of exactly 0 has no place on a log axis) and a diverged tail above `ceiling` left out."""
    import pandas as pd

    frame = pd.concat([pd.DataFrame({"optimizer": t.optimizer, "step": np.arange(len(t.gaps)), "gap": t.gaps + floor})
                       for t in trajectories], ignore_index=True)
    return frame[frame.gap < ceiling]


def steps_to(t: Trajectory, gap: float = 1e-3) -> int | None:
    """The first step at which f − min f < `gap` (None if the run never got there).

    >>> steps_to(descend(bowl(1.0), "SGD", lr=0.5, steps=20))  # each step halves the point, so f = 10 / 4ⁿ: < 0.001 at n = 7
    7
    """
    hit = np.flatnonzero(t.gaps < gap)
    return int(hit[0]) if len(hit) else None


def race_summary(trajectories: list[Trajectory], config: RaceConfig):
    """One row per run: optimizer, its learning rate, the first step within 0.001 of min f, final f and the outcome in words."""
    import pandas as pd

    s = config.landscape()
    return pd.DataFrame([{"optimizer": t.optimizer, "lr": learning_rate(t.optimizer, config.lr, config.lr_adaptive),
                          "steps to f − min f < 0.001": steps_to(t), "final f": t.losses[-1], "outcome": verdict(t, s)}
                         for t in trajectories])
