"""Naive Bayes from scratch: multinomial (word counts) and Gaussian (real-valued features).

Both apply Bayes' rule with one "naive" assumption: given the class, the features are
independent, so the likelihood of a whole example is a product of one-feature likelihoods:

    log P(c | x) = log P(c) + sum_j log P(x_j | c) - log P(x)          (P(x) normalises)

The classes are scikit-learn shaped (`fit`, `predict`, `predict_proba`, fitted attributes with
trailing underscores) and match MultinomialNB / GaussianNB to 1e-9 (tests/core/test_naive_bayes.py).

>>> X = np.array([[2, 0, 1], [3, 0, 0], [0, 2, 1], [0, 3, 0]])   # counts of 3 words in 4 docs
>>> y = np.array(["spam", "spam", "ham", "ham"])
>>> nb = MultinomialNaiveBayes(alpha=1.0).fit(X, y)
>>> nb.predict(np.array([[1, 0, 0], [0, 1, 0]])).tolist()
['spam', 'ham']
>>> np.round(nb.predict_proba(np.array([[0, 0, 1]])), 3).tolist()  # word 2 is as common in both
[[0.5, 0.5]]
"""

import numpy as np
from scipy import sparse
from scipy.special import logsumexp

from core.errors import LabError

MIN_ALPHA = 1e-10  # alpha = 0 would give log(0) = -inf for unseen words; scikit-learn clips the same way
TIE_LOG_ODDS = 1e-12  # two classes closer than this in log-probability are tied: equal up to rounding


def _one_hot(y, classes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Class labels and an (n_samples, n_classes) 0/1 matrix; refuses classes with no examples."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise LabError("need at least one labelled example")
    found, inverse = np.unique(y, return_inverse=True)
    classes = found if classes is None else np.asarray(classes)
    position = {c: i for i, c in enumerate(classes.tolist())}
    empty = [repr(c) for c in classes.tolist() if c not in set(found.tolist())]
    if empty:  # P(c) would be 0 and P(x|c) undefined (0/0): say so instead of returning NaN
        raise LabError(f"class {', '.join(empty)} has no training examples")
    unknown = [str(c) for c in found.tolist() if c not in position]
    if unknown:
        raise LabError(f"labels {unknown} are not among the classes given")
    index = np.array([position[c] for c in found.tolist()])[inverse]
    Y = np.zeros((len(y), len(classes)))
    Y[np.arange(len(y)), index] = 1.0
    return classes, Y


class _NaiveBayes:
    """What both models share: Bayes' rule in log space, turned into probabilities stably."""

    classes_: np.ndarray

    def joint_log_likelihood(self, X) -> np.ndarray:
        """log P(c) + log P(x | c) for every row of X and every class: shape (n_samples, n_classes)."""
        raise NotImplementedError

    def predict_log_proba(self, X) -> np.ndarray:
        jll = self.joint_log_likelihood(X)
        return jll - logsumexp(jll, axis=1, keepdims=True)  # divide by P(x) without under/overflow

    def predict_proba(self, X) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.joint_log_likelihood(X), axis=1)]


def top_two(log_proba) -> tuple[int, int, bool]:
    """For one example's class log-probabilities: (most probable class, runner-up, tied?), as indices.

    Tied classes (e.g. equal priors and no known word) have no winner; argmax alone would name the first.

    >>> top_two(np.log([0.2, 0.5, 0.3])), top_two(np.log([0.5, 0.5]))
    ((1, 2, False), (0, 1, True))
    """
    log_proba = np.asarray(log_proba, dtype=np.float64)
    if len(log_proba) < 2:
        raise LabError("a prediction needs at least two classes to choose between")
    best, second = (int(i) for i in np.argsort(-log_proba, kind="stable")[:2])
    return best, second, bool(log_proba[best] - log_proba[second] <= TIE_LOG_ODDS)


class MultinomialNaiveBayes(_NaiveBayes):
    """Each class is a bag of words: P(word | class) = (count + alpha) / (total + alpha * V).

    alpha is additive (Laplace for 1, Lidstone below 1) smoothing: without it a word never seen
    with a class makes that class impossible, whatever the other words say.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X, y, classes=None) -> "MultinomialNaiveBayes":
        X = sparse.csr_matrix(X, dtype=np.float64)
        if X.shape[0] != len(y):
            raise LabError(f"X has {X.shape[0]} rows but y has {len(y)} labels")
        if X.nnz and X.data.min() < 0:
            raise LabError("multinomial naive Bayes needs counts (no negative values)")
        self.classes_, Y = _one_hot(y, classes)
        self.class_count_ = Y.sum(axis=0)
        self.feature_count_ = np.asarray((X.T @ Y).T)  # (n_classes, n_features): word counts per class
        smoothed = self.feature_count_ + max(self.alpha, MIN_ALPHA)
        self.feature_log_prob_ = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
        self.class_log_prior_ = np.log(self.class_count_) - np.log(self.class_count_.sum())
        self.class_prior_ = self.class_count_ / self.class_count_.sum()  # (GaussianNB's name; MultinomialNB keeps only the log)
        return self

    def joint_log_likelihood(self, X) -> np.ndarray:
        X = sparse.csr_matrix(X, dtype=np.float64)
        return np.asarray(X @ self.feature_log_prob_.T) + self.class_log_prior_


class GaussianNaiveBayes(_NaiveBayes):
    """Each feature, within each class, is a normal distribution with its own mean and variance.

    var_smoothing adds a share of the largest feature variance to every variance, so a feature
    that is constant within a class (variance 0) does not give an infinitely sharp likelihood.
    """

    def __init__(self, var_smoothing: float = 1e-9):
        self.var_smoothing = var_smoothing

    def fit(self, X, y, classes=None) -> "GaussianNaiveBayes":
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != len(y):
            raise LabError(f"X must be a table with one row per label; got shape {X.shape} for {len(y)} labels")
        if not np.isfinite(X).all():
            raise LabError("the features contain missing or infinite values")
        self.classes_, Y = _one_hot(y, classes)
        self.class_count_ = Y.sum(axis=0)
        self.theta_ = (Y.T @ X) / self.class_count_[:, None]  # per-class means
        self.var_ = np.stack([((X[Y[:, i] > 0] - self.theta_[i]) ** 2).mean(axis=0) for i in range(len(self.classes_))])
        self.epsilon_ = self.var_smoothing * np.var(X, axis=0).max()
        self.var_ = self.var_ + self.epsilon_
        if not (self.var_ > 0).all():
            raise LabError("a feature has zero variance in a class and var_smoothing is 0; raise var_smoothing")
        self.class_prior_ = self.class_count_ / self.class_count_.sum()
        return self

    def joint_log_likelihood(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        # log N(x; mu, var) = -0.5 log(2 pi var) - (x - mu)^2 / (2 var), summed over features
        log_norm = -0.5 * np.log(2.0 * np.pi * self.var_).sum(axis=1)  # (n_classes,)
        sq = ((X[:, None, :] - self.theta_[None]) ** 2 / self.var_[None]).sum(axis=2)  # (n, n_classes)
        return np.log(self.class_prior_) + log_norm - 0.5 * sq
