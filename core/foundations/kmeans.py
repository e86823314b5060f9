"""k-means clustering with Lloyd's algorithm: no labels, just k centres that settle where the points crowd.

Repeat two steps until nothing changes:

    assign   each point to its nearest centre            cᵢ = argmin_j ‖xᵢ − μⱼ‖²
    update   each centre to the mean of its points        μⱼ = mean{ xᵢ : cᵢ = j }

Each step can only lower the inertia Σᵢ ‖xᵢ − μ_{cᵢ}‖², so the loop ends, but where it ends depends
on the starting centres: k-means++ spreads them out (each next start drawn with probability ∝
its squared distance to the nearest start so far), which usually lands near a good solution.

From the same starting centres this equals scikit-learn's `KMeans(init=centres, n_init=1,
algorithm="lloyd")`. One difference: a centre that loses all its points stays where it was here,
while scikit-learn moves it onto a far-away point.

>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
>>> result = fit(KMeansConfig(k=2), X, init=np.array([[1.0, 0.0], [9.0, 0.0]]))
>>> result.centres.tolist(), result.labels.tolist(), result.inertia
([[0.0, 0.5], [10.0, 0.5]], [0, 0, 1, 1], 1.0)
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.errors import LabError
from core.training import History, OnStep, generators, run_steps


@dataclass(frozen=True)
class KMeansConfig:
    k: int = 3  # number of clusters
    init: Literal["k-means++", "random points"] = "k-means++"  # how the starting centres are drawn
    max_steps: int = 100  # Lloyd steps at most (it usually stops far earlier)
    seed: int = 0


@dataclass
class KMeansResult:
    centres: np.ndarray  # (k, d)
    labels: np.ndarray  # (n,) the nearest centre of each point
    inertia: float  # Σ squared distance of each point to its centre
    path: np.ndarray  # (steps + 1, k, d): the centres at the start and after every step
    history: History  # inertia per step
    converged: bool  # an assignment step changed nothing

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """One-hot of the nearest centre: lets the decision-boundary helper colour each cluster's region."""
        return np.eye(len(self.centres))[nearest(X, self.centres)[0]]


def nearest(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centre, squared distance to it) for each row of X; ties go to the lower index."""
    d2 = ((np.asarray(X, dtype=np.float64)[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(len(X)), labels]


def kmeans_plus_plus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k starting centres: the first a uniformly random point, each next one a point drawn with
    probability proportional to its squared distance to the nearest centre chosen so far."""
    centres = [X[rng.integers(len(X))]]
    for _ in range(1, k):
        _, d2 = nearest(X, np.array(centres))
        total = d2.sum()
        centres.append(X[rng.integers(len(X))] if total == 0 else X[rng.choice(len(X), p=d2 / total)])
    return np.array(centres)


def fit(config: KMeansConfig, X: np.ndarray, init: np.ndarray | None = None, on_step: OnStep | None = None) -> KMeansResult:
    """Lloyd's algorithm from `init` (k × d), or from centres drawn as config.init says."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0 or not np.isfinite(X).all():
        raise LabError("k-means needs a table of finite numbers with at least one row")
    if not 1 <= config.k <= len(X):
        raise LabError(f"k = {config.k} clusters, but there are only {len(X)} points: choose k between 1 and {len(X)}")
    rng, _ = generators(config.seed)
    if init is not None:
        centres = np.array(init, dtype=np.float64)
        if centres.shape != (config.k, X.shape[1]):
            raise LabError(f"the starting centres must be a {config.k} × {X.shape[1]} table; got shape {centres.shape}")
    elif config.init == "k-means++":
        centres = kmeans_plus_plus(X, config.k, rng)
    else:
        centres = X[rng.choice(len(X), config.k, replace=False)]
    path, labels, converged = [centres.copy()], None, False

    def step(_: int) -> dict[str, float]:
        nonlocal centres, labels, converged
        new_labels, _ = nearest(X, centres)  # assign
        converged = labels is not None and np.array_equal(new_labels, labels)
        labels = new_labels
        for j in range(config.k):  # update (a centre with no points stays put)
            members = X[labels == j]
            if len(members):
                centres[j] = members.mean(axis=0)
        path.append(centres.copy())
        return {"inertia": float(nearest(X, centres)[1].sum())}

    history = run_steps(step, config.max_steps, lambda i, m: not converged and (on_step is None or on_step(i, m) is not False),
                        items_per_step=len(X), item_name="points")
    labels, d2 = nearest(X, centres)
    return KMeansResult(centres, labels, float(d2.sum()), np.array(path), history, converged)
