"""Under- and overfitting, measured: polynomials of growing degree fitted to noisy samples of a known curve.

The data: n points at evenly spaced x in [−1, 1], y = f(x) + ε with f(x) = sin(πx) and noise
ε ~ N(0, σ²). A degree-d polynomial is a linear regression on the columns x, x², …, xᵈ
(core.foundations.linear_regression).

Low degree: too stiff to follow f, wrong the same way on every training set (high bias).
High degree: bends through every noisy point, and another draw of the noise gives a very
different curve (high variance). Because we know f, we can measure both: draw R training sets
(same x, fresh noise), fit each, and at each point x of a fine grid

    bias²(x)     = (E[f̂(x)] − f(x))²          how far the average fit is from the truth
    variance(x)  = E[(f̂(x) − E[f̂(x)])²]        how much the fits disagree with each other
    E[(y − f̂(x))²] = bias²(x) + variance(x) + σ²   the expected test error; σ² no model can remove

(E over training sets, estimated by the average of R of them; the table averages over x.)
A least-squares fit is linear in y, θ = Φ⁺y with Φ⁺ the pseudo-inverse of the feature table, so
all R fits of one degree are one matrix product.

>>> table = bias_variance(PolynomialData(n_train=15, noise=0.3, resamples=200, max_degree=9))
>>> table.set_index("degree").loc[[0, 3, 9], ["bias²", "variance"]].round(3).to_dict("index")   # doctest: +NORMALIZE_WHITESPACE
{0: {'bias²': 0.496, 'variance': 0.006}, 3: {'bias²': 0.006, 'variance': 0.02}, 9: {'bias²': 0.0, 'variance': 0.063}}
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import LabError
from core.foundations.linear_regression import closed_form, polynomial_features

MAX_DEGREE = 15
GRID = np.linspace(-1, 1, 121)  # where fits are drawn and bias and variance are measured


def true_function(x: np.ndarray) -> np.ndarray:
    """The curve the data comes from: f(x) = sin(πx)."""
    return np.sin(np.pi * x)


@dataclass(frozen=True)
class PolynomialData:
    n_train: int = 15  # training points, at evenly spaced x in [−1, 1]
    noise: float = 0.3  # σ of the noise added to f(x)
    resamples: int = 200  # training sets (fresh noise each) to estimate bias and variance
    max_degree: int = 12  # degrees 0..max_degree in the curves
    n_validation: int = 200  # fresh points at random x for the validation error
    seed: int = 0


def train_x(data: PolynomialData) -> np.ndarray:
    return np.linspace(-1, 1, data.n_train)


def _check(data: PolynomialData, degree: int = 0) -> None:
    if not 0 <= degree <= data.max_degree <= MAX_DEGREE:
        raise LabError(f"degrees must satisfy 0 ≤ degree ≤ max degree ≤ {MAX_DEGREE}; got degree {degree}, max {data.max_degree}")
    if data.n_train < 2 or data.resamples < 2 or data.noise < 0 or data.n_validation < 1:
        raise LabError("need at least 2 training points, 2 training sets, 1 validation point and a noise level ≥ 0")


def fit_polynomial(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    """Coefficients (constant, then x, x², …) of the least-squares polynomial of this degree.

    With more coefficients than points the fit is not unique; least squares then returns the
    smallest coefficients among those passing through every point.

    >>> np.round(fit_polynomial(np.array([-1.0, 0.0, 1.0]), np.array([2.0, 1.0, 2.0]), 2), 6).tolist()
    [1.0, 0.0, 1.0]
    """
    w, b = closed_form(polynomial_features(x, degree), y)
    return np.r_[b, w]


def powers(x: np.ndarray, degree: int) -> np.ndarray:
    """The feature table Φ = [1, x, …, xᵈ]."""
    return x[:, None] ** np.arange(degree + 1)


def evaluate(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    return powers(x, len(coefficients) - 1) @ coefficients


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


def training_sets(data: PolynomialData) -> np.ndarray:
    """(resamples, n_train) targets: f at the training x plus fresh noise for each set. Set 0 is the one drawn on the page."""
    rng = np.random.default_rng(data.seed)
    x = train_x(data)
    return true_function(x) + rng.normal(0, data.noise, (data.resamples, data.n_train))


def validation_set(data: PolynomialData) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(data.seed + 1)
    x = rng.uniform(-1, 1, data.n_validation)
    return x, true_function(x) + rng.normal(0, data.noise, data.n_validation)


def all_fits(data: PolynomialData, degree: int, x_eval: np.ndarray) -> np.ndarray:
    """(resamples, len(x_eval)): every training set's degree-d least-squares fit, evaluated at x_eval."""
    Y = training_sets(data)
    coefficients = Y @ np.linalg.pinv(powers(train_x(data), degree)).T  # θ = Φ⁺y for every row y at once
    return coefficients @ powers(x_eval, degree).T


def error_by_degree(data: PolynomialData) -> pd.DataFrame:
    """Training and validation MSE of the first training set, for every degree 0..max_degree."""
    _check(data)
    x, y = train_x(data), training_sets(data)[0]
    x_val, y_val = validation_set(data)
    rows = []
    for d in range(data.max_degree + 1):
        c = fit_polynomial(x, y, d)
        rows += [{"degree": d, "set": "training", "mse": mse(evaluate(c, x), y)},
                 {"degree": d, "set": "validation", "mse": mse(evaluate(c, x_val), y_val)}]
    return pd.DataFrame(rows)


def bias_variance(data: PolynomialData) -> pd.DataFrame:
    """Per degree: bias², variance, σ², their sum, and the test error measured directly on fresh noisy points."""
    _check(data)
    f = true_function(GRID)
    rng = np.random.default_rng(data.seed + 2)
    rows = []
    for d in range(data.max_degree + 1):
        fits = all_fits(data, d, GRID)
        bias2, variance = float(np.mean((fits.mean(0) - f) ** 2)), float(np.mean(fits.var(0)))
        y_test = f + rng.normal(0, data.noise, fits.shape)  # a fresh noisy y for every fit and point
        rows.append({"degree": d, "bias²": bias2, "variance": variance, "noise σ²": data.noise ** 2,
                     "bias² + variance + σ²": bias2 + variance + data.noise ** 2, "measured test error": mse(fits, y_test)})
    return pd.DataFrame(rows)


@dataclass
class DegreeView:
    """What the page draws for one degree: the first training set and its fit, and the spread of the other fits."""

    points: pd.DataFrame  # x, y of the first training set
    curves: pd.DataFrame  # x, y, curve, fit (an id per line)
    train_mse: float
    validation_mse: float


def degree_view(data: PolynomialData, degree: int, others: int = 20) -> DegreeView:
    _check(data, degree)
    x, y = train_x(data), training_sets(data)[0]
    x_val, y_val = validation_set(data)
    c = fit_polynomial(x, y, degree)
    fits = all_fits(data, degree, GRID)
    curves = [pd.DataFrame({"x": GRID, "y": fits[i], "curve": "fits to other training sets", "fit": i})
              for i in range(1, min(others, len(fits) - 1) + 1)]
    curves += [pd.DataFrame({"x": GRID, "y": true_function(GRID), "curve": "true f(x) = sin(πx)", "fit": -1}),
               pd.DataFrame({"x": GRID, "y": fits.mean(0), "curve": "average of all fits", "fit": -3}),
               pd.DataFrame({"x": GRID, "y": evaluate(c, GRID), "curve": "fit to these points", "fit": -2})]
    return DegreeView(pd.DataFrame({"x": x, "y": y}), pd.concat(curves, ignore_index=True),
                      mse(evaluate(c, x), y), mse(evaluate(c, x_val), y_val))
