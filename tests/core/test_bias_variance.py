"""core.foundations.bias_variance: polynomial fits against numpy/scikit-learn, and the decomposition against a direct measurement."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import PolynomialFeatures

from core.errors import LabError
from core.foundations.bias_variance import (
    GRID,
    PolynomialData,
    all_fits,
    bias_variance,
    degree_view,
    error_by_degree,
    fit_polynomial,
    train_x,
    training_sets,
    true_function,
)


@pytest.mark.parametrize("degree", [0, 1, 3, 7])
def test_polynomial_fit_equals_numpy_polyfit(degree):
    rng = np.random.default_rng(degree)
    x = rng.uniform(-1, 1, 30)
    y = np.sin(3 * x) + rng.normal(0, 0.1, 30)
    assert np.allclose(fit_polynomial(x, y, degree), np.polynomial.polynomial.polyfit(x, y, degree), atol=1e-8)


@pytest.mark.parametrize("degree", [1, 4, 9])
def test_all_fits_at_once_equal_scikit_learn_one_at_a_time(degree):
    data = PolynomialData(n_train=12, resamples=5, max_degree=9)
    fits = all_fits(data, degree, GRID)
    features = PolynomialFeatures(degree, include_bias=False)
    for y, fit in zip(training_sets(data), fits):
        ref = LinearRegression().fit(features.fit_transform(train_x(data)[:, None]), y)
        assert np.allclose(fit, ref.predict(features.transform(GRID[:, None])), atol=1e-7)


def test_bias_squared_plus_variance_plus_noise_is_the_measured_test_error():
    table = bias_variance(PolynomialData(n_train=15, noise=0.3, resamples=2000, max_degree=12))
    assert np.allclose(table["bias² + variance + σ²"], table["measured test error"], rtol=0.03)


def test_degree_zero_is_the_mean_of_y_hand_worked():
    """Degree 0 predicts the mean of y: E = the mean of f at the (symmetric) training x = 0, so
    bias² is the mean of sin²(πx) over the grid, and the variance is that of a mean of n draws, σ²/n."""
    data = PolynomialData(n_train=10, noise=0.5, resamples=4000, max_degree=0)
    row = bias_variance(data).iloc[0]
    assert row["bias²"] == pytest.approx(np.mean(true_function(GRID) ** 2), abs=2e-3)
    assert row["variance"] == pytest.approx(0.5 ** 2 / 10, rel=0.06)


def test_training_error_never_rises_with_degree_but_validation_error_does():
    table = error_by_degree(PolynomialData(n_train=15, max_degree=14)).pivot(index="degree", columns="set", values="mse")
    assert (np.diff(table.training) <= 1e-12).all()  # each degree can do all the lower ones can
    assert table.training.iloc[-1] < 1e-12  # 15 coefficients through 15 points
    assert table.validation.idxmin() < 14 and table.validation.iloc[-1] > 2 * table.validation.min()


def test_the_view_holds_one_fit_and_the_truth():
    view = degree_view(PolynomialData(), 3)
    assert len(view.points) == 15 and {"true f(x) = sin(πx)", "fit to these points", "average of all fits"} <= set(view.curves.curve)
    assert view.train_mse < view.validation_mse


@pytest.mark.parametrize("data, degree", [(PolynomialData(max_degree=16), 3), (PolynomialData(), 13), (PolynomialData(n_train=1), 0),
                                          (PolynomialData(noise=-1.0), 0)])
def test_impossible_settings_are_refused(data, degree):
    with pytest.raises(LabError):
        degree_view(data, degree)
