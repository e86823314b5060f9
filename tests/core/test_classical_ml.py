"""The classical models written in core against scikit-learn on the same data: linear and logistic
regression, k-nearest neighbours, a CART decision tree, k-means from the same starting centres."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import PolynomialFeatures
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.foundations import kmeans, linear_regression, logistic_regression
from core.foundations.decision_tree import DecisionTree, gini
from core.foundations.knn import KNearestNeighbours
from core.infra.data import POINT_SETS, points, sklearn_table


@pytest.fixture(autouse=True)
def one_thread():
    """BLAS and OpenMP (scikit-learn's k-means and neighbours) on one thread: on a busy 2-core machine more only wait."""
    with threadpool_limits(limits=1):
        yield


def regression_data(seed: int, d: int = 3, n: int = 80):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2, d)
    return X, X @ rng.normal(size=d) + 1.5 + rng.normal(0, 0.3, n)


# ----------------------------------------------------------------------------- linear regression


@pytest.mark.parametrize("seed, d", [(0, 1), (1, 3), (2, 8)])
def test_linear_regression_closed_form_equals_scikit_learn(seed, d):
    X, y = regression_data(seed, d)
    ours = linear_regression.fit(linear_regression.LinearRegressionConfig(), X, y)
    ref = LinearRegression().fit(X, y)
    assert np.allclose(ours.weights, ref.coef_, rtol=0, atol=1e-10) and ours.bias == pytest.approx(ref.intercept_, abs=1e-10)
    assert np.allclose(ours.predict(X), ref.predict(X), atol=1e-10)


def test_linear_regression_by_gradient_descent_reaches_the_same_weights():
    X, y = regression_data(1, 3)
    X = (X - X.mean(0)) / X.std(0)  # comparable scales, so one learning rate suits every weight
    ours = linear_regression.fit(linear_regression.LinearRegressionConfig("gradient descent", lr=0.2, steps=400), X, y)
    ref = LinearRegression().fit(X, y)
    assert np.allclose(ours.weights, ref.coef_, atol=1e-8) and ours.bias == pytest.approx(ref.intercept_, abs=1e-8)
    losses = ours.history.metrics["loss"]
    assert all(b <= a + 1e-15 for a, b in zip(losses, losses[1:]))  # a small enough step never goes uphill


def test_linear_regression_with_too_large_a_step_diverges_and_stops():
    X, y = regression_data(0, 2)
    result = linear_regression.fit(linear_regression.LinearRegressionConfig("gradient descent", lr=5.0, steps=5000), X, y)
    assert result.history.diverged and result.history.steps[-1] < 5000


def test_polynomial_features_equal_scikit_learn():
    x = np.linspace(-1, 1, 7)
    assert np.allclose(linear_regression.polynomial_features(x, 5), PolynomialFeatures(5, include_bias=False).fit_transform(x[:, None]))


# ----------------------------------------------------------------------------- logistic regression


@pytest.mark.parametrize("name", ["moons", "gaussians", "circle"])
@pytest.mark.parametrize("l2", [1e-3, 0.05, 1.0])
@pytest.mark.parametrize("degree", [1, 3])
def test_logistic_regression_newton_equals_scikit_learn_with_the_same_penalty(name, l2, degree):
    X, y = points(name, 200, 0.2, seed=3)
    F = PolynomialFeatures(degree, include_bias=False).fit_transform(X)
    ours = logistic_regression.fit(logistic_regression.LogisticConfig(l2=l2), F, y)
    # scikit-learn: ½‖w‖² + C Σ logloss, so C = 1/(λn); the intercept is not penalised there either
    ref = LogisticRegression(C=logistic_regression.sklearn_C(l2, len(y)), tol=1e-12, max_iter=10_000).fit(F, y)
    assert ours.converged
    assert np.allclose(ours.model.weights, ref.coef_[0], rtol=0, atol=1e-5)
    assert ours.model.bias == pytest.approx(ref.intercept_[0], abs=1e-5)
    assert np.allclose(ours.model.predict_proba(F), ref.predict_proba(F), atol=1e-6)


def test_logistic_regression_by_gradient_descent_reaches_the_same_model():
    X, y = points("moons", 200, 0.2, seed=1)
    config = logistic_regression.LogisticConfig(l2=0.01, method="gradient descent", lr=1.0, steps=5000, tol=1e-8)
    ours = logistic_regression.fit(config, X, y)
    ref = LogisticRegression(C=logistic_regression.sklearn_C(0.01, len(y)), solver="newton-cholesky", tol=1e-12).fit(X, y)
    assert ours.converged and np.allclose(ours.model.weights, ref.coef_[0], atol=1e-5)


def test_logistic_sigmoid_and_loss_are_stable_for_huge_scores():
    z = np.array([-1000.0, 0.0, 1000.0])
    assert logistic_regression.sigmoid(z).tolist() == [0.0, 0.5, 1.0]
    assert np.isfinite(logistic_regression.log_loss(np.array([1.0, 0.0, 0.0]), z))


@pytest.mark.parametrize("y", [np.zeros(10, int), np.ones(10, int)])
def test_logistic_regression_with_one_class_only_is_refused(y):
    with pytest.raises(LabError, match="both classes"):
        logistic_regression.fit(logistic_regression.LogisticConfig(), np.random.default_rng(0).normal(size=(10, 2)), y)


# ----------------------------------------------------------------------------- k-nearest neighbours


@pytest.mark.parametrize("k", [1, 4, 15, 150])
@pytest.mark.parametrize("name", ["moons", "xor"])
def test_knn_equals_scikit_learn(k, name):
    X, y = points(name, 150, 0.25, seed=5)
    grid = np.random.default_rng(9).uniform(-1.3, 1.3, size=(500, 2))
    ours = KNearestNeighbours(k).fit(X, y)
    ref = KNeighborsClassifier(k, algorithm="brute").fit(X, y)
    assert np.allclose(ours.predict_proba(grid), ref.predict_proba(grid))
    assert np.array_equal(ours.predict(grid), ref.predict(grid))
    assert np.allclose(ours.kneighbors(grid)[0], ref.kneighbors(grid)[0], atol=1e-12)


def test_knn_ties_go_to_the_lower_class_and_the_earlier_row():
    model = KNearestNeighbours(2).fit(np.array([[1.0], [-1.0], [3.0]]), np.array([1, 0, 1]))
    assert model.kneighbors(np.array([[0.0]]))[1].tolist() == [[0, 1]]  # rows 0 and 1 are equally near: row order
    assert model.predict(np.array([[0.0]])).tolist() == [0]  # a 1-1 vote: the lower class
    three = np.array([[1.0], [-1.0], [1.0], [-1.0], [5.0]])  # four rows at distance 1 from the query, one farther
    for k, nearest in ((1, [0]), (2, [0, 1]), (3, [0, 1, 2])):
        assert KNearestNeighbours(k).fit(three, np.array([1, 0, 1, 0, 1])).kneighbors(np.array([[0.0]]))[1].tolist() == [nearest]


def test_predictions_for_each_k_from_one_search_equal_separate_models():
    X, y = points("xor", 200, 0.3, seed=2)
    grid = np.random.default_rng(1).uniform(-1.3, 1.3, size=(300, 2))
    each = KNearestNeighbours(40).fit(X, y).predict_each_k(grid, [1, 2, 7, 40])
    for k, predicted in each.items():
        assert np.array_equal(predicted, KNeighborsClassifier(k, algorithm="brute").fit(X, y).predict(grid))


def test_k_larger_than_the_data_is_refused():
    with pytest.raises(LabError, match="only 3 training points"):
        KNearestNeighbours(4).fit(np.zeros((3, 2)), np.array([0, 1, 0]))


# ----------------------------------------------------------------------------- decision tree


def float32_exact(X: np.ndarray) -> np.ndarray:
    """scikit-learn's trees work in float32: give both trees the same numbers."""
    return X.astype(np.float32).astype(np.float64)


def same_tree(ours: DecisionTree, ref: DecisionTreeClassifier) -> bool:
    """Node by node (depth first, left before right): same feature, threshold and class counts."""
    t, nodes = ref.tree_, ours.nodes()
    order, stack = [], [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if t.children_left[i] != -1:
            stack.extend([t.children_right[i], t.children_left[i]])
    if len(order) != len(nodes):
        return False
    for node, i in zip(nodes, order):
        if node.is_leaf != (t.children_left[i] == -1):
            return False
        if not node.is_leaf and (node.feature != t.feature[i] or node.threshold != pytest.approx(t.threshold[i], abs=1e-12)):
            return False
        if not np.allclose(node.counts / node.counts.sum(), t.value[i][0]):
            return False
    return True


def split_cost(X: np.ndarray, y: np.ndarray, feature: int, threshold: float) -> float:
    """n_L·Gini(L) + n_R·Gini(R), computed directly (not through core)."""
    left = X[:, feature] <= threshold
    classes = int(y.max()) + 1
    parts = [part for part in (y[left], y[~left]) if len(part)]
    return sum(len(part) * (1 - ((np.bincount(part, minlength=classes) / len(part)) ** 2).sum()) for part in parts)


def compare_allowing_ties(ours: DecisionTree, ref: DecisionTreeClassifier, X: np.ndarray, y: np.ndarray) -> int:
    """Walk both trees together. Where they ask different questions, both questions must split the
    node's examples equally well (a tie); then that subtree is not compared further. Returns the ties."""
    t, ties = ref.tree_, 0

    def walk(node, i, rows):
        nonlocal ties
        assert node.is_leaf == (t.children_left[i] == -1), f"a leaf in one tree only, at depth {node.depth}"
        assert np.allclose(node.counts / node.counts.sum(), t.value[i][0])
        if node.is_leaf:
            return
        if node.feature != t.feature[i] or abs(node.threshold - t.threshold[i]) > 1e-12:
            ours_cost = split_cost(X[rows], y[rows], node.feature, node.threshold)
            assert ours_cost == pytest.approx(split_cost(X[rows], y[rows], t.feature[i], t.threshold[i]), abs=1e-9), "not a tie"
            ties += 1
            return
        left = X[rows, node.feature] <= node.threshold
        walk(node.left, t.children_left[i], rows[left])
        walk(node.right, t.children_right[i], rows[~left])

    walk(ours.root, 0, np.arange(len(y)))
    return ties


@pytest.mark.parametrize("name", ["moons", "circle", "spiral", "xor"])
@pytest.mark.parametrize("depth", [1, 2, 4, 8, 30])
def test_decision_tree_equals_scikit_learn_up_to_ties(name, depth):
    X, y = points(name, 300, 0.2, seed=2)
    X = float32_exact(X)
    grid = float32_exact(np.random.default_rng(4).uniform(-1.3, 1.3, size=(2000, 2)))
    ours = DecisionTree(depth).fit(X, y)
    ref = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
    ties = compare_allowing_ties(ours, ref, X, y)
    if ties == 0:
        assert same_tree(ours, ref) and np.array_equal(ours.predict(grid), ref.predict(grid))
    else:  # a tie resolved differently changes the answer only in the small region of that node
        assert (ours.predict(grid) == ref.predict(grid)).mean() > 0.95
    assert np.array_equal(ours.predict(X), ref.predict(X)) or ties


@pytest.mark.parametrize("name", ["moons", "circle", "spiral"])
def test_shallow_trees_on_continuous_data_are_identical(name):
    X, y = points(name, 300, 0.2, seed=2)
    X = float32_exact(X)
    for depth in (1, 2, 3, 4):
        assert same_tree(DecisionTree(depth).fit(X, y), DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y))


def test_decision_tree_with_one_feature_always_equals_scikit_learn():
    """One feature: no feature order to differ on, so even tied thresholds agree (the lowest wins in both)."""
    rng = np.random.default_rng(0)
    X = float32_exact(np.round(rng.uniform(0, 10, size=(200, 1)), 1))  # many repeated values
    y = (rng.random(200) < 0.3 + 0.04 * X[:, 0]).astype(int)
    for depth in (1, 3, 6, 20):
        ours = DecisionTree(depth).fit(X, y)
        assert same_tree(ours, DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y))


def test_decision_tree_on_iris_with_four_features_and_many_ties():
    X, y, _, _ = sklearn_table("iris")  # measured to 1 mm: repeated values everywhere
    X = float32_exact(X)
    for depth in (2, 3, 5):
        ours, ref = DecisionTree(depth).fit(X, y), DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
        compare_allowing_ties(ours, ref, X, y)  # fails on any difference that is not a tie


def test_a_shallow_tree_is_the_top_of_a_deep_one():
    X, y = points("spiral", 300, 0.2, seed=1)
    deep = DecisionTree(12).fit(X, y)
    grid = np.random.default_rng(0).uniform(-1.3, 1.3, size=(500, 2))
    for depth in (1, 3, 6):
        assert np.array_equal(deep.predict_proba(grid, depth=depth), DecisionTree(depth).fit(X, y).predict_proba(grid))


def test_a_tie_between_features_goes_to_the_first_feature():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])  # both features split the two classes equally well
    assert DecisionTree(1).fit(X, np.array([0, 1])).root.feature == 0


def test_a_tree_stops_at_pure_nodes_and_at_constant_features():
    tree = DecisionTree(5).fit(np.array([[0.0], [0.0], [1.0]]), np.array([0, 1, 1]))
    assert tree.root.threshold == 0.5 and tree.root.left.is_leaf  # [0, 0] can't be split: a leaf with gini 0.5
    assert tree.root.left.gini == gini(np.array([1.0, 1.0])) == 0.5 and tree.depth == 1


# ----------------------------------------------------------------------------- k-means


@pytest.mark.parametrize("name", POINT_SETS)
@pytest.mark.parametrize("k", [2, 3, 5])
def test_kmeans_from_the_same_centres_equals_scikit_learn(name, k):
    X, _ = points(name, 300, 0.15, seed=7)
    init = X[np.random.default_rng(k).choice(len(X), k, replace=False)]
    ours = kmeans.fit(kmeans.KMeansConfig(k=k), X, init=init)
    ref = KMeans(k, init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(X)
    assert ours.converged
    assert np.array_equal(ours.labels, ref.labels_)
    assert np.allclose(ours.centres, ref.cluster_centers_, rtol=0, atol=1e-10)
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-10)
    steps = ours.history.metrics["inertia"]
    assert all(b <= a + 1e-9 for a, b in zip(steps, steps[1:]))  # every step lowers the inertia (or keeps it)


@pytest.mark.parametrize("init", ["k-means++", "random points"])
def test_kmeans_draws_its_own_start_from_the_seed(init):
    X, _ = points("gaussians", 300, 0.1, seed=1, classes=4)
    a, b, c = (kmeans.fit(kmeans.KMeansConfig(k=4, init=init, seed=s), X) for s in (0, 0, 1))
    assert np.array_equal(a.path[0], b.path[0]) and not np.array_equal(a.path[0], c.path[0])


@pytest.mark.parametrize("k", [0, 11])
def test_kmeans_with_k_outside_the_data_is_refused(k):
    with pytest.raises(LabError, match="between 1 and 10"):
        kmeans.fit(kmeans.KMeansConfig(k=k), np.zeros((10, 2)))
