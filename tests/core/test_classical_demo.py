"""core.foundations.classical_demo: the page's calls give what scikit-learn gives on the same split, and refuse bad settings."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from core.errors import LabError
from core.foundations.classical_demo import ClassifierConfig, ClusterConfig, LineConfig, classify, cluster, line
from core.foundations.evaluation import split_indices
from core.infra.data import points


def reference_split(config: ClassifierConfig):
    X, y = points(config.dataset, config.n, config.noise, config.seed)
    parts = split_indices(len(y), config.test_fraction, seed=config.seed, stratify=y)
    return X[parts.train], y[parts.train], X[parts.test], y[parts.test]


@pytest.mark.parametrize("config, reference", [
    (ClassifierConfig(model="k-nearest neighbours", k=7, dataset="circle"), KNeighborsClassifier(7, algorithm="brute")),
    (ClassifierConfig(model="decision tree", max_depth=3, dataset="moons"), DecisionTreeClassifier(max_depth=3, random_state=0)),
])
def test_accuracies_equal_scikit_learns_on_the_same_split(config, reference):
    X_tr, y_tr, X_te, y_te = reference_split(config)
    X_tr, X_te = (a.astype(np.float32).astype(np.float64) for a in (X_tr, X_te)) if config.model == "decision tree" else (X_tr, X_te)
    reference.fit(X_tr, y_tr)
    result = classify(config)
    assert result.test_accuracy == pytest.approx(reference.score(X_te, y_te), abs=1 / len(y_te) + 1e-12)
    assert result.confusion.sum() == len(y_te) and len(result.points) == config.n


def test_the_regions_cover_the_grid_and_a_small_tree_is_drawn():
    result = classify(ClassifierConfig(model="decision tree", max_depth=2, grid=20))
    assert len(result.surface) == 400 and set(result.surface["class"]) <= {"0", "1"}
    assert result.tree_dot.startswith("digraph") and "x₁" in result.tree_dot or "x₂" in result.tree_dot


def test_logistic_regression_with_curved_features_beats_a_straight_line_on_circles():
    straight = classify(ClassifierConfig(dataset="circle", degree=1))
    curved = classify(ClassifierConfig(dataset="circle", degree=2))
    assert curved.test_accuracy > straight.test_accuracy + 0.2 and "x₁^2" in set(curved.weights.feature)


def test_kmeans_steps_replay_to_the_final_clusters():
    result = cluster(ClusterConfig(k=3))
    points_final, path, regions, inertia = result.at_step(result.steps)
    assert inertia == pytest.approx(result.result.inertia) and path.step.max() == result.steps
    assert np.array_equal(points_final.cluster.astype(int), result.result.labels)
    assert result.at_step(0)[3] >= inertia and result.at_step(10_000)[3] == inertia  # a step past the end shows the end


def test_line_fits_agree_once_descent_has_converged():
    result = line(LineConfig(lr=0.3, steps=300))
    assert np.allclose(result.descent.weights, result.closed.weights, atol=1e-6)
    assert (np.diff(result.path.loss) <= 1e-12).all() and len(result.surface) == 50 * 50


def test_a_diverging_descent_keeps_only_its_finite_steps():
    result = line(LineConfig(lr=5.0, steps=2000, x_spread=3.0))
    assert result.descent.history.diverged and np.isfinite(result.path[["w", "b", "loss"]].to_numpy()).all()


@pytest.mark.parametrize("bad", [ClassifierConfig(dataset="swirl"), ClassifierConfig(model="svm"), ClassifierConfig(n=5),
                                 ClassifierConfig(model="k-nearest neighbours", k=400)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(LabError):
        classify(bad)


def test_k_means_with_more_clusters_than_points_is_refused():
    with pytest.raises(LabError, match="only 10 points"):
        cluster(ClusterConfig(n=10, k=11))
