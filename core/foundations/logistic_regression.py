"""Logistic regression: a linear score squashed into a probability, fitted by Newton's method or gradient descent.

    p(y = 1 | x) = σ(x·w + b),   σ(z) = 1 / (1 + e⁻ᶻ)

We minimise the mean log-loss plus an L2 penalty on the weights (never on the bias):

    L(w, b) = −(1/n) Σᵢ [yᵢ log pᵢ + (1 − yᵢ) log(1 − pᵢ)] + (λ/2) ‖w‖²

    gradient  ∇L = (1/n) Xᵀ(p − y) + λw            Hessian  H = (1/n) Xᵀ diag(p(1 − p)) X + λI

Gradient descent steps θ ← θ − η∇L. Newton's method (here the same as iteratively reweighted
least squares) steps θ ← θ − H⁻¹∇L and lands on the minimum in a handful of steps.

scikit-learn writes the same objective as ½‖w‖² + C Σᵢ logloss(i): divide by Cn and it is ours
with λ = 1 / (C n), so `LogisticRegression(C=sklearn_C(λ, n))` finds the same w and b.
With λ = 0 on data a line separates perfectly, the weights grow without end (every step makes
the model more confident): the penalty is what keeps them finite.

>>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 1, 0, 1])
>>> model = fit(LogisticConfig(l2=0.1), X, y).model
>>> np.round(model.predict_proba(np.array([[0.0]])), 4).tolist()
[[0.5, 0.5]]
>>> sklearn_C(0.1, n=4)
2.5
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.errors import LabError
from core.training import History, OnStep, run_steps

MAX_FEATURES = 200  # Newton solves a (d+1) × (d+1) system per step: fine up to a few hundred


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e⁻ᶻ), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    ez = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + ez), ez / (1 + ez))


def log_loss(y: np.ndarray, z: np.ndarray) -> float:
    """Mean −[y log σ(z) + (1−y) log(1−σ(z))] from the scores z, stably: log(1 + e^z) − y z."""
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def sklearn_C(l2: float, n: int) -> float:
    """scikit-learn's C for our λ on n examples: C = 1 / (λ n) (∞: no penalty)."""
    return np.inf if l2 == 0 else 1.0 / (l2 * n)


@dataclass(frozen=True)
class LogisticConfig:
    l2: float = 0.01  # λ: penalty (λ/2)‖w‖² on the weights, added to the MEAN log-loss (0: none)
    method: Literal["newton", "gradient descent"] = "newton"
    lr: float = 1.0  # gradient descent's step size
    steps: int = 50  # at most this many steps (Newton usually stops far earlier)
    tol: float = 1e-10  # stop once the gradient's largest entry is below this


@dataclass
class LogisticModel:
    weights: np.ndarray
    bias: float

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.weights + self.bias

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 2): the probabilities of class 0 and class 1."""
        p = sigmoid(self.decision_function(X))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(np.int64)


@dataclass
class LogisticResult:
    model: LogisticModel
    history: History  # loss (penalised) and gradient size per step
    converged: bool  # the gradient fell below tol


def _check(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or len(X) != len(y) or len(y) == 0:
        raise LabError(f"need a table X with one row per label; got X of shape {X.shape} and {len(y)} labels")
    if X.shape[1] > MAX_FEATURES:
        raise LabError(f"at most {MAX_FEATURES} features here; this table has {X.shape[1]}")
    if not np.isin(y, [0, 1]).all():
        raise LabError("logistic regression here is binary: labels must be 0 and 1")
    if len(np.unique(y)) < 2:
        raise LabError(f"logistic regression needs examples of both classes; every label here is {int(y[0])}")
    if not np.isfinite(X).all():
        raise LabError("every feature must be a finite number")
    return X, y.astype(np.float64)


def fit(config: LogisticConfig, X: np.ndarray, y: np.ndarray, on_step: OnStep | None = None) -> LogisticResult:
    """Minimise the penalised mean log-loss over (w, b), starting from zero."""
    if config.l2 < 0 or config.method not in ("newton", "gradient descent"):
        raise LabError("λ must be ≥ 0 and the method 'newton' or 'gradient descent'")
    X, y = _check(X, y)
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])  # the bias is the last weight ...
    penalty = np.r_[np.full(d, config.l2), 0.0]  # ... and is not penalised
    theta = np.zeros(d + 1)
    grad_size = np.inf

    def gradient(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = sigmoid(A @ theta)
        return A.T @ (p - y) / n + penalty * theta, p

    def step(_: int) -> dict[str, float]:
        nonlocal theta, grad_size
        g, p = gradient(theta)
        if config.method == "newton":
            H = (A * (p * (1 - p))[:, None]).T @ A / n + np.diag(penalty)
            theta = theta - np.linalg.lstsq(H, g, rcond=None)[0]  # lstsq: H is singular when λ = 0 and p saturates
        else:
            theta = theta - config.lr * g
        grad_size = float(np.abs(gradient(theta)[0]).max())
        z = A @ theta
        return {"loss": log_loss(y, z) + 0.5 * float(penalty @ theta ** 2), "gradient": grad_size}

    def watch(i: int, metrics: dict[str, float]) -> bool:
        keep_going = on_step is None or on_step(i, metrics) is not False
        return keep_going and metrics["gradient"] > config.tol

    with np.errstate(over="ignore", invalid="ignore"):
        history = run_steps(step, config.steps, watch, items_per_step=n, item_name="examples")
    return LogisticResult(LogisticModel(theta[:-1].copy(), float(theta[-1])), history, grad_size <= config.tol)
