"""The classical models of core.foundations on 2-D data a learner can see: one call per model family.

- `classify(ClassifierConfig)`: logistic regression, k-nearest neighbours or a decision tree on one of
  the lab's 2-D point sets, split into training and test points, with its decision regions
  (core.foundations.evaluation.decision_regions, the lab's one grid helper);
- `cluster(ClusterConfig)`: k-means, every Lloyd step kept so a page can replay them;
- `line(LineConfig)`: a straight line through noisy points by the closed form and by gradient descent,
  with descent's path over the loss surface.

>>> result = classify(ClassifierConfig(model="k-nearest neighbours", k=5))
>>> round(result.test_accuracy, 3), len(result.surface) == ClassifierConfig().grid ** 2
(0.967, True)
"""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from core.errors import LabError
from core.foundations import kmeans, linear_regression, logistic_regression
from core.foundations.decision_tree import DecisionTree
from core.foundations.evaluation import confusion_matrix, decision_regions, split_indices
from core.foundations.knn import KNearestNeighbours
from core.infra import data

MODELS = ("logistic regression", "k-nearest neighbours", "decision tree")
LIM = 1.3  # the point sets live in about [−1, 1]²; regions are drawn over [−LIM, LIM]²
CLASS_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2", "#9d755d"]  # class 0, 1, …: one colour per class on every chart


@dataclass(frozen=True)
class ClassifierConfig:
    model: str = "logistic regression"  # one of MODELS
    dataset: str = "moons"  # one of core.infra.data.POINT_SETS
    n: int = 300  # points
    noise: float = 0.25
    test_fraction: float = 0.3
    seed: int = 0
    degree: int = 1  # logistic regression: features x₁, x₂ and their products up to this degree (1 = a straight boundary)
    l2: float = 0.01  # logistic regression: λ of the L2 penalty
    k: int = 15  # k-nearest neighbours
    max_depth: int = 4  # decision tree
    grid: int = 60  # decision regions: grid × grid cells


@dataclass
class ClassifierResult:
    config: ClassifierConfig
    points: pd.DataFrame  # x, y, class, split (train/test), predicted, correct
    surface: pd.DataFrame  # the decision regions: x..x2, y..y2, class (as text), probability
    train_accuracy: float
    test_accuracy: float
    confusion: np.ndarray  # on the test points; rows = truth
    classes: list[str]
    model: object
    history: object = None  # logistic regression's training history
    tree_dot: str | None = None  # the decision tree as Graphviz DOT (small trees only)
    weights: pd.DataFrame = field(default_factory=pd.DataFrame)  # logistic regression's weight per feature


def regions(predict_proba, grid: int) -> pd.DataFrame:
    """The decision regions over [−LIM, LIM]² (core.foundations.evaluation.decision_regions), the class as
    text: a class name for the chart's colour legend."""
    tiles = decision_regions(predict_proba, (-LIM, LIM), (-LIM, LIM), grid)
    return tiles.assign(**{"class": tiles["class"].astype(str)})


class OnFeatures:
    """A model trained on expanded features (polynomial terms), answering for raw (x₁, x₂) points."""

    def __init__(self, model, expand):
        self.model, self.expand = model, expand

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(self.expand(X))


def _points(config: "ClassifierConfig | ClusterConfig") -> tuple[np.ndarray, np.ndarray]:
    if config.dataset not in data.POINT_SETS:
        raise LabError(f"choose one of {', '.join(data.POINT_SETS)}, not {config.dataset!r}")
    if not 10 <= config.n <= 5000:
        raise LabError(f"choose between 10 and 5,000 points; got {config.n}")
    classes = getattr(config, "true_clusters", 2)
    return data.points(config.dataset, config.n, config.noise, config.seed, classes=classes)


def _fit_classifier(config: ClassifierConfig, X: np.ndarray, y: np.ndarray) -> tuple[object, dict]:
    """The trained model (answering for raw points) and what the page shows about it."""
    if config.model == "logistic regression":
        from sklearn.preprocessing import PolynomialFeatures

        if not 1 <= config.degree <= 6:
            raise LabError("choose a feature degree between 1 and 6")
        poly = PolynomialFeatures(config.degree, include_bias=False).fit(X[:1])
        result = logistic_regression.fit(logistic_regression.LogisticConfig(l2=config.l2), poly.transform(X), y)
        names = [n.replace("x0", "x₁").replace("x1", "x₂") for n in poly.get_feature_names_out()]
        weights = pd.DataFrame({"feature": names + ["bias"], "weight": np.r_[result.model.weights, result.model.bias]})
        return OnFeatures(result.model, poly.transform), {"history": result.history, "weights": weights}
    if config.model == "k-nearest neighbours":
        return KNearestNeighbours(config.k).fit(X, y, n_classes=2), {}
    if config.model == "decision tree":
        tree = DecisionTree(config.max_depth).fit(X, y, n_classes=2)
        return tree, {"tree_dot": tree.to_dot(["x₁", "x₂"], ["class 0", "class 1"], CLASS_COLOURS)}
    raise LabError(f"choose one of {', '.join(MODELS)}, not {config.model!r}")


def classify(config: ClassifierConfig) -> ClassifierResult:
    """Split the points, fit the chosen model on the training part, score both parts, draw its regions."""
    X, y = _points(config)
    parts = split_indices(len(y), config.test_fraction, seed=config.seed, stratify=y)
    train, test = parts.train, parts.test
    model, extras = _fit_classifier(config, X[train], y[train])
    with np.errstate(all="ignore"):
        predicted = model.predict_proba(X).argmax(1)
    split = np.where(np.isin(np.arange(len(y)), test), "test", "train")
    points = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "class": y.astype(str), "split": split,
                           "predicted": predicted.astype(str), "correct": predicted == y})
    return ClassifierResult(
        config, points, regions(model.predict_proba, config.grid),
        float((predicted[train] == y[train]).mean()), float((predicted[test] == y[test]).mean()),
        confusion_matrix(y[test], predicted[test], [0, 1]), ["0", "1"], model, **extras)


# ----------------------------------------------------------------------------- k-means


@dataclass(frozen=True)
class ClusterConfig:
    dataset: str = "gaussians"  # one of core.infra.data.POINT_SETS
    n: int = 300
    noise: float = 0.1
    true_clusters: int = 3  # gaussians and spiral: how many blobs/arms the data is drawn from
    k: int = 3  # clusters k-means looks for
    init: Literal["k-means++", "random points"] = "k-means++"
    seed: int = 0
    grid: int = 60


@dataclass
class ClusterResult:
    config: ClusterConfig
    result: kmeans.KMeansResult
    X: np.ndarray
    true_labels: np.ndarray

    @property
    def steps(self) -> int:
        """Lloyd steps taken (the last one confirms that nothing changes any more)."""
        return len(self.result.path) - 1

    def at_step(self, step: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float]:
        """(points with their cluster, centres so far (path), regions, inertia) after `step` Lloyd steps."""
        step = int(np.clip(step, 0, self.steps))
        centres = self.result.path[step]
        labels, d2 = kmeans.nearest(self.X, centres)
        points = pd.DataFrame({"x": self.X[:, 0], "y": self.X[:, 1], "cluster": labels.astype(str)})
        k = len(centres)
        path = pd.DataFrame({"step": np.repeat(np.arange(step + 1), k), "cluster": np.tile(np.arange(k), step + 1).astype(str),
                             "x": self.result.path[: step + 1, :, 0].ravel(), "y": self.result.path[: step + 1, :, 1].ravel()})
        tiles = regions(_Centres(centres).predict_proba, self.config.grid).rename(columns={"class": "cluster"})
        return points, path, tiles, float(d2.sum())


class _Centres:
    def __init__(self, centres: np.ndarray):
        self.centres = centres

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.eye(len(self.centres))[kmeans.nearest(X, self.centres)[0]]


def cluster(config: ClusterConfig) -> ClusterResult:
    X, y = _points(config)
    result = kmeans.fit(kmeans.KMeansConfig(k=config.k, init=config.init, seed=config.seed), X)
    return ClusterResult(config, result, X, y)


# ----------------------------------------------------------------------------- a straight line


@dataclass(frozen=True)
class LineConfig:
    n: int = 40  # points
    slope: float = 1.5  # the true line y = slope · x + intercept ...
    intercept: float = -0.5
    noise: float = 0.5  # ... plus N(0, noise²)
    x_spread: float = 1.0  # x ~ U(−spread, spread): a wide spread makes the loss surface a narrow valley
    lr: float = 0.1  # gradient descent
    steps: int = 50
    seed: int = 0


@dataclass
class LineResult:
    config: LineConfig
    points: pd.DataFrame  # x, y
    closed: linear_regression.LinearRegressionResult
    descent: linear_regression.LinearRegressionResult
    lines: pd.DataFrame  # x, y, fit: the two fitted lines over the data's range
    surface: pd.DataFrame  # w..w2, b..b2, loss: the mean squared error over a (w, b) grid
    path: pd.DataFrame  # step, w, b, loss: gradient descent's way down (finite steps only)
    max_stable_lr: float  # 2 / the largest eigenvalue of the loss's Hessian (2/n)AᵀA: larger learning rates diverge

    @property
    def diverging(self) -> bool:
        """Each step overshoots the minimum by more than it gains: the distance to it grows geometrically."""
        return self.config.lr > self.max_stable_lr or self.descent.history.diverged


def line(config: LineConfig, grid: int = 50) -> LineResult:
    if not (2 <= config.n <= 5000 and config.x_spread > 0 and config.steps >= 1 and config.lr > 0):
        raise LabError("need 2 to 5,000 points, a positive spread, at least one step and a positive learning rate")
    rng = np.random.default_rng(config.seed)
    x = rng.uniform(-config.x_spread, config.x_spread, config.n)
    y = config.slope * x + config.intercept + rng.normal(0, config.noise, config.n)
    X = x[:, None]
    closed = linear_regression.fit(linear_regression.LinearRegressionConfig(), X, y)
    descent = linear_regression.fit(linear_regression.LinearRegressionConfig("gradient descent", config.lr, config.steps), X, y)
    ends = np.array([-config.x_spread, config.x_spread])
    lines = pd.concat([pd.DataFrame({"x": ends, "y": fit.predict(ends[:, None]), "fit": name})
                       for name, fit in (("closed form", closed), (f"gradient descent, {len(descent.path) - 1} steps", descent))
                       if np.isfinite(fit.predict(ends[:, None])).all()])
    w0, b0 = closed.weights[0], closed.bias
    span_w, span_b = max(3.0, 1.5 * abs(w0)), max(3.0, 1.5 * abs(b0))
    ws = np.linspace(w0 - span_w, w0 + span_w, grid + 1)
    bs = np.linspace(b0 - span_b, b0 + span_b, grid + 1)
    wc, bc = (ws[:-1] + ws[1:]) / 2, (bs[:-1] + bs[1:]) / 2
    W, B = np.meshgrid(wc, bc)
    residuals = W[..., None] * x + B[..., None] - y  # (grid, grid, n)
    i, j = np.meshgrid(np.arange(grid), np.arange(grid))
    surface = pd.DataFrame({"w": ws[i.ravel()], "w2": ws[i.ravel() + 1], "b": bs[j.ravel()], "b2": bs[j.ravel() + 1],
                            "loss": (residuals ** 2).mean(-1).ravel()})
    with np.errstate(over="ignore", invalid="ignore"):
        losses = np.array([linear_regression.mse(X, y, theta) for theta in descent.path])
    keep = np.isfinite(descent.path).all(1) & np.isfinite(losses)
    path = pd.DataFrame({"step": np.arange(len(descent.path))[keep], "w": descent.path[keep, 0], "b": descent.path[keep, 1],
                         "loss": losses[keep]})
    A = linear_regression.with_ones(X)
    curvature = float(np.linalg.eigvalsh(2 / config.n * A.T @ A).max())
    return LineResult(config, pd.DataFrame({"x": x, "y": y}), closed, descent, lines, surface, path, 2 / curvature)
