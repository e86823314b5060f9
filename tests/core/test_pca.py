"""core.foundations.pca against scikit-learn's PCA (full SVD solver) on the same data, up to sign."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.foundations.pca import dataset, pca, variance_table
from core.infra import data

TOL = 1e-10


@pytest.fixture(autouse=True)
def one_blas_thread():
    """As core runs its SVDs: many BLAS threads on a busy 2-core machine wait on each other for seconds."""
    with threadpool_limits(limits=1):
        yield


def same_up_to_sign(a: np.ndarray, b: np.ndarray, axis: int) -> bool:
    """Each component (row of a (k, d) array when axis=1, column of an (n, k) one when axis=0) equal up to its sign."""
    signs = np.sign((a * b).sum(axis=axis, keepdims=True))
    return np.allclose(a, signs * b, rtol=0, atol=TOL * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("name, k", [("iris", 4), ("iris", 2), ("digits", 10), ("wine", 5), ("random", 3)])
def test_pca_equals_scikit_learn_up_to_sign(name, k):
    X = np.random.default_rng(1).normal(size=(40, 6)) @ np.diag([5, 3, 2, 1, 0.5, 0.1]) if name == "random" else data.sklearn_table(name)[0]
    ours = pca(X, k)
    ref = PCA(n_components=k, svd_solver="full").fit(X)
    assert np.allclose(ours.explained_variance, ref.explained_variance_, rtol=TOL)
    assert np.allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_, rtol=0, atol=TOL)
    assert np.allclose(ours.singular_values, ref.singular_values_, rtol=TOL)
    assert same_up_to_sign(ours.components, ref.components_, axis=1)
    assert same_up_to_sign(ours.scores, ref.transform(X), axis=0)
    assert np.allclose(ours.reconstruct(), ref.inverse_transform(ref.transform(X)), atol=1e-8)


def test_variance_table_adds_up_to_one_with_all_components():
    table = variance_table(pca(data.sklearn_table("iris")[0]))
    assert table.cumulative.iloc[-1] == pytest.approx(1.0) and table.share.is_monotonic_decreasing


@pytest.mark.parametrize("X, k", [(np.ones((1, 3)), 1), (np.ones((5, 3)), 4), (np.ones((5, 3)), 0), (np.array([[1.0, np.nan], [0, 0]]), 1)])
def test_impossible_pca_is_refused(X, k):
    with pytest.raises(LabError):
        pca(X, k)


def test_constant_data_has_no_variance_to_explain():
    result = pca(np.ones((5, 3)), 2)
    assert np.all(result.explained_variance_ratio == 0) and np.all(result.scores == 0)


@pytest.mark.slow  # loads MiniLM (~2 s) and embeds the sentiment set's sentences
def test_minilm_embeddings_of_the_sentiment_set_equal_scikit_learn():
    from core.infra import models

    X, labels, _ = dataset("sentiment embeddings", models.load("minilm"))
    assert X.shape == (len(data.sentiment()), 384) and set(labels) == {"negative", "positive"}
    ours, ref = pca(X, 5), PCA(n_components=5, svd_solver="full").fit(X)
    assert np.allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_, atol=TOL)
    assert same_up_to_sign(ours.components, ref.components_, axis=1)
