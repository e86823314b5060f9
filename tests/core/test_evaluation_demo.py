"""core.foundations.evaluation_demo against scikit-learn: cross-validation scores, the chosen model's test score,
a logistic regression's test scores and their ROC/PR summaries."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import KFold
from sklearn.model_selection import cross_validate as sk_cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import PolynomialFeatures
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.foundations import evaluation
from core.foundations.evaluation_demo import CVConfig, ScoringConfig, at_threshold, cross_validate, score_test_set
from core.foundations.logistic_regression import sklearn_C
from core.infra.data import points


@pytest.fixture(autouse=True)
def one_thread():
    """scikit-learn's neighbours on one thread: on a busy 2-core machine more threads only wait."""
    with threadpool_limits(limits=1):
        yield


def test_cross_validation_of_knn_equals_scikit_learn():
    config = CVConfig(model="k-nearest neighbours", dataset="moons", n=200, folds=4)
    result = cross_validate(config)
    X, y = points(config.dataset, config.n, config.noise, config.seed)
    parts = evaluation.split_indices(len(y), config.test_fraction, seed=config.seed, stratify=y)
    X_tr, y_tr = X[parts.train], y[parts.train]
    for k in (1, 5, 20):
        ref = sk_cross_validate(KNeighborsClassifier(k, algorithm="brute"), X_tr, y_tr, cv=KFold(4), return_train_score=True)
        ours = result.scores[result.scores.setting == k]
        assert np.allclose(ours[ours.split == "validation"].accuracy, ref["test_score"])
        assert np.allclose(ours[ours.split == "training"].accuracy, ref["train_score"])
    best = result.summary.loc[result.summary.validation.idxmax()]
    assert np.isclose(best.validation, result.summary.validation.max()) and result.best >= best.setting  # the smoothest of the best
    ref = KNeighborsClassifier(result.best, algorithm="brute").fit(X_tr, y_tr)
    assert result.test_accuracy == pytest.approx(ref.score(X[parts.test], y[parts.test]))


def test_deeper_trees_fit_their_training_folds_better():
    summary = cross_validate(CVConfig(model="decision tree", dataset="spiral", n=300, noise=0.1)).summary
    assert (np.diff(summary.training) >= -1e-12).all() and summary.training.iloc[-1] == 1.0


def test_the_fold_picture_covers_every_row_of_every_fold():
    result = cross_validate(CVConfig(folds=3, n=100))
    for _, rows in result.layout.groupby("fold"):
        spans = rows.sort_values("start")
        assert spans.start.iloc[0] == 0 and spans.end.iloc[-1] == 100
        assert (spans.start.iloc[1:].to_numpy() == spans.end.iloc[:-1].to_numpy()).all()  # no gap, no overlap


@pytest.mark.parametrize("folds", [1, 500])
def test_impossible_fold_counts_are_refused(folds):
    with pytest.raises(LabError, match="2 ≤ k"):
        cross_validate(CVConfig(folds=folds))


@pytest.mark.parametrize("share", [0.5, 0.1])
def test_test_scores_equal_scikit_learns_logistic_regression(share):
    config = ScoringConfig(positive_share=share)
    scored = score_test_set(config)
    assert abs(scored.y.mean() - share) < 0.05 and scored.base_rate == pytest.approx(scored.y.mean())
    assert scored.roc_auc == pytest.approx(roc_auc_score(scored.y, scored.scores), abs=1e-12)
    assert scored.average_precision == pytest.approx(average_precision_score(scored.y, scored.scores), abs=1e-12)
    # the same model from scikit-learn: rebuild the page's data and split
    X, y = points(config.dataset, config.n, config.noise, config.seed)
    negatives, positives = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    keep = min(len(positives), int(round(share / (1 - share) * len(negatives))))
    rows = np.sort(np.r_[negatives, np.random.default_rng(config.seed).choice(positives, keep, replace=False)])
    X, y = X[rows], y[rows]
    parts = evaluation.split_indices(len(y), config.test_fraction, seed=config.seed, stratify=y)
    poly = PolynomialFeatures(config.degree, include_bias=False)
    ref = LogisticRegression(C=sklearn_C(config.l2, len(parts.train)), tol=1e-12, max_iter=10_000)
    ref.fit(poly.fit_transform(X[parts.train]), y[parts.train])
    assert np.allclose(scored.scores, ref.predict_proba(poly.transform(X[parts.test]))[:, 1], atol=1e-6)


def test_thresholds_of_exactly_zero_and_one():
    scored = score_test_set(ScoringConfig())
    everything = at_threshold(scored, 0.0).scores
    assert everything.recall == 1.0 and everything.fpr == 1.0 and everything.tn == 0
    nothing = at_threshold(scored, 1.0).scores  # no probability here reaches exactly 1
    assert nothing.tp + nothing.fp == (scored.scores >= 1.0).sum() and nothing.recall == (scored.scores[scored.y == 1] >= 1).mean()
    with pytest.raises(LabError):
        at_threshold(scored, 1.5)


def test_the_histogram_counts_every_test_row():
    scored = score_test_set(ScoringConfig())
    assert at_threshold(scored, 0.3).histogram["count"].sum() == len(scored.y)


@pytest.mark.parametrize("share", [0.0, 0.001])
def test_one_class_only_is_refused(share):
    with pytest.raises(LabError, match="both classes"):
        score_test_set(ScoringConfig(positive_share=share))
