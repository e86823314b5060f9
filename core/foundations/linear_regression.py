"""Linear regression two ways: solved in one step, and walked to by gradient descent.

A prediction is a weighted sum plus a bias, ŷ = Xw + b, and we want the weights that make the
mean squared error smallest:

    L(w, b) = (1/n) Σᵢ (xᵢ·w + b − yᵢ)²

Closed form. Append a column of ones to X (so b is just one more weight θ); the gradient is
zero where the normal equations hold, XᵀX θ = Xᵀy, i.e. θ = (XᵀX)⁻¹Xᵀy. Numerically we let
`np.linalg.lstsq` solve it (an SVD, safe even when XᵀX is singular: then it picks the
smallest θ among the many that fit equally well).

Gradient descent. Start at θ = 0 and step against the gradient ∇L = (2/n) Xᵀ(Xθ − y).
It reaches the same θ when the learning rate is small enough (below 2 / the largest
eigenvalue of (2/n)XᵀX); features on very different scales make it crawl.

>>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])    # y = 2x + 1
>>> w, b = closed_form(X, y)
>>> np.round(w, 6).tolist(), round(b, 6)
([2.0], 1.0)
>>> result = fit(LinearRegressionConfig(method="gradient descent", lr=0.2, steps=500), X, y)
>>> np.round(result.weights, 4).tolist(), round(result.bias, 4)
([2.0], 1.0)
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.errors import LabError
from core.training import History, OnStep, run_steps


@dataclass(frozen=True)
class LinearRegressionConfig:
    method: Literal["closed form", "gradient descent"] = "closed form"
    lr: float = 0.1  # gradient descent's step size
    steps: int = 200  # gradient descent steps (the closed form needs none)


@dataclass
class LinearRegressionResult:
    weights: np.ndarray  # w, one per feature
    bias: float  # b
    history: History  # the training loss per step (one step for the closed form)
    path: np.ndarray  # (steps + 1, d + 1): θ = (w, b) at the start and after each step

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.weights + self.bias


def with_ones(X: np.ndarray) -> np.ndarray:
    """[X | 1]: the bias becomes the last weight."""
    return np.hstack([X, np.ones((len(X), 1))])


def mse(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> float:
    """Mean squared error of θ (weights then bias) on [X | 1]."""
    r = with_ones(X) @ theta - y
    return float(r @ r / len(y))


def closed_form(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """θ solving the normal equations XᵀXθ = Xᵀy (least squares through an SVD)."""
    theta, *_ = np.linalg.lstsq(with_ones(X), y, rcond=None)
    return theta[:-1], float(theta[-1])


def _check(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or len(X) != len(y) or len(y) < 1:
        raise LabError(f"need a table X with one row per target y; got X of shape {X.shape} and {len(y)} targets")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise LabError("every feature and target must be a finite number")
    return X, y


def fit(config: LinearRegressionConfig, X: np.ndarray, y: np.ndarray, on_step: OnStep | None = None) -> LinearRegressionResult:
    """Fit ŷ = Xw + b by the closed form or by gradient descent on the mean squared error."""
    X, y = _check(X, y)
    if config.method == "closed form":
        w, b = closed_form(X, y)
        theta = np.r_[w, b]
        history = run_steps(lambda _: {"loss": mse(X, y, theta)}, 1, on_step, items_per_step=len(y), item_name="examples")
        return LinearRegressionResult(w, b, history, np.stack([theta, theta]))
    if config.method != "gradient descent":
        raise LabError(f"method must be 'closed form' or 'gradient descent', not {config.method!r}")
    A = with_ones(X)
    theta = np.zeros(A.shape[1])
    path = [theta]

    def step(_: int) -> dict[str, float]:
        nonlocal theta
        residual = A @ theta - y
        theta = theta - config.lr * (2 / len(y)) * (A.T @ residual)  # ∇L = (2/n) Aᵀ(Aθ − y)
        path.append(theta)
        return {"loss": mse(X, y, theta)}

    with np.errstate(over="ignore", invalid="ignore"):  # a too-large learning rate diverges: run_steps stops on inf/NaN
        history = run_steps(step, config.steps, on_step, items_per_step=len(y), item_name="examples")
    return LinearRegressionResult(theta[:-1], float(theta[-1]), history, np.array(path))


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns x, x², …, x^degree of a 1-D x (degree 0: no column, so the fit is the mean).

    A straight-line fit on these columns is a polynomial fit in x.

    >>> polynomial_features(np.array([2.0, 3.0]), 3).tolist()
    [[2.0, 4.0, 8.0], [3.0, 9.0, 27.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] ** np.arange(1, degree + 1)
