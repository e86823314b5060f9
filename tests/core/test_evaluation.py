"""core.foundations.evaluation against scikit-learn: confusion matrix, scores, ROC/PR curves, k-fold; splits as partitions."""

import numpy as np
import pytest
from sklearn import metrics as sk
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.model_selection import KFold

from core.errors import LabError
from core.foundations.evaluation import (
    accuracy,
    auc,
    average_precision,
    binary_scores,
    confusion_matrix,
    f1_score,
    kfold_indices,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc,
    roc_curve,
    split_indices,
)


@pytest.mark.parametrize("labels", [[0, 1, 2, 3], ["neg", "neu", "pos"]])
def test_confusion_matrix_equals_scikit_learn(labels):
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.choice(labels, 500), rng.choice(labels, 500)
    assert np.array_equal(confusion_matrix(y_true, y_pred, labels), sk_confusion_matrix(y_true, y_pred, labels=labels))


def test_confusion_matrix_refuses_an_unknown_label():
    with pytest.raises(LabError, match="'bird'"):
        confusion_matrix(["cat"], ["bird"], labels=["cat", "dog"])


@pytest.mark.parametrize("stratify", [False, True])
def test_split_is_a_partition_with_the_asked_shares(stratify):
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    parts = split_indices(len(y), test_fraction=0.2, val_fraction=0.1, seed=3, stratify=y if stratify else None)
    everything = np.concatenate([parts.train, parts.val, parts.test])
    assert sorted(everything.tolist()) == list(range(100))
    assert (len(parts.test), len(parts.val)) == (20, 10)
    if stratify:  # every class keeps its share in the test part: 14, 4 and 2 of 70, 20 and 10
        assert np.bincount(y[parts.test]).tolist() == [14, 4, 2]


def test_split_depends_on_the_seed_only():
    a, b, c = (split_indices(50, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.test, b.test) and not np.array_equal(a.test, c.test)


@pytest.mark.parametrize("n, test, val", [(1, 0.5, 0.0), (10, 0.0, 0.0), (10, 0.6, 0.5), (10, 1.0, 0.0)])
def test_impossible_splits_are_refused(n, test, val):
    with pytest.raises(LabError):
        split_indices(n, test_fraction=test, val_fraction=val)


# ----------------------------------------------------------------------------- k-fold, scores and curves


def score_sets():
    """(labels, scores) with the awkward cases: ties, scores of exactly 0 and 1, a perfect and a useless ranking."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 200)
    yield "random", y, rng.random(200)
    yield "ties", y, rng.integers(0, 5, 200) / 4.0  # only 0, .25, .5, .75, 1: many ties, and exactly 0 and 1
    yield "saturated", y, np.clip(y + rng.normal(0, 0.6, 200), 0, 1)  # lots of exact 0s and 1s
    yield "perfect", np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    yield "reversed", np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.1])
    yield "constant", y, np.full(200, 0.5)
    yield "two rows", np.array([1, 0]), np.array([0.0, 1.0])


SCORE_SETS = list(score_sets())


@pytest.mark.parametrize("name, y, s", SCORE_SETS, ids=[c[0] for c in SCORE_SETS])
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_equals_scikit_learn(name, y, s, drop):
    ours, ref = roc_curve(y, s, drop_intermediate=drop), sk.roc_curve(y, s, drop_intermediate=drop)
    for a, b in zip(ours, ref):
        assert np.array_equal(a, b)
    assert roc_auc(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("name, y, s", SCORE_SETS, ids=[c[0] for c in SCORE_SETS])
def test_precision_recall_curve_and_average_precision_equal_scikit_learn(name, y, s):
    for a, b in zip(precision_recall_curve(y, s), sk.precision_recall_curve(y, s)):
        assert np.allclose(a, b, rtol=0, atol=1e-15) and len(a) == len(b)
    assert average_precision(y, s) == pytest.approx(sk.average_precision_score(y, s), abs=1e-12)
    precision, recall, _ = precision_recall_curve(y, s)
    assert auc(recall, precision) == pytest.approx(sk.auc(*sk.precision_recall_curve(y, s)[1::-1]), abs=1e-12)


@pytest.mark.parametrize("name, y, s", SCORE_SETS, ids=[c[0] for c in SCORE_SETS])
@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.5, 0.7, 1.0])
def test_scores_at_a_threshold_equal_scikit_learn(name, y, s, threshold):
    pred = (s >= threshold).astype(int)
    got = binary_scores(y, s, threshold)
    assert got.accuracy == pytest.approx(sk.accuracy_score(y, pred))
    assert accuracy(y, pred) == pytest.approx(sk.accuracy_score(y, pred))
    assert precision_score(y, pred) == pytest.approx(sk.precision_score(y, pred, zero_division=0))
    assert recall_score(y, pred) == pytest.approx(sk.recall_score(y, pred, zero_division=0))
    assert f1_score(y, pred) == pytest.approx(sk.f1_score(y, pred, zero_division=0))
    assert [[got.tn, got.fp], [got.fn, got.tp]] == sk.confusion_matrix(y, pred, labels=[0, 1]).tolist()


def test_threshold_zero_calls_everything_positive_and_one_only_certain_scores():
    y, s = np.array([1, 0, 1, 0]), np.array([0.0, 0.3, 0.99, 1.0])
    at_zero = binary_scores(y, s, 0.0)
    assert (at_zero.tp, at_zero.fp, at_zero.recall, at_zero.fpr) == (2, 2, 1.0, 1.0)
    at_one = binary_scores(y, s, 1.0)  # only the score of exactly 1 (a negative) is called positive
    assert (at_one.tp, at_one.fp, at_one.precision, at_one.f1) == (0, 1, 0.0, None)
    nothing = binary_scores(y, np.array([0.1, 0.2, 0.3, 0.4]), 1.0)
    assert nothing.precision is None and any("nothing is predicted positive" in u for u in nothing.undefined)


@pytest.mark.parametrize("y", [[1, 1, 1], [0, 0]])
def test_one_class_only_has_no_curve_but_still_has_scores(y):
    s = np.linspace(0, 1, len(y))
    for curve in (roc_curve, precision_recall_curve, roc_auc, average_precision):
        with pytest.raises(LabError, match="needs both classes"):
            curve(y, s)
    got = binary_scores(y, s, 0.5)
    assert got.accuracy == sk.accuracy_score(y, (s >= 0.5).astype(int)) and got.undefined


@pytest.mark.parametrize("bad", [[0, 2, 1], ["yes", "no"]])
def test_labels_other_than_zero_and_one_are_refused(bad):
    with pytest.raises(LabError, match="labels 0 and 1"):
        binary_scores(bad, [0.5] * len(bad), 0.5)


def test_auc_of_a_hand_worked_curve_and_unsorted_x_refused():
    assert auc([0, 0.5, 1], [0, 1, 1]) == 0.75 and auc([1, 0.5, 0], [1, 1, 0]) == 0.75
    with pytest.raises(LabError, match="sorted"):
        auc([0, 1, 0.5], [0, 1, 1])


@pytest.mark.parametrize("n, k", [(10, 2), (10, 3), (7, 7), (100, 5), (11, 4)])
def test_kfold_equals_scikit_learn_without_shuffling(n, k):
    ours = kfold_indices(n, k)
    for (train, val), (ref_train, ref_val) in zip(ours, KFold(k).split(np.zeros(n))):
        assert np.array_equal(train, ref_train) and np.array_equal(val, ref_val)


def test_shuffled_kfold_holds_out_every_row_once():
    folds = kfold_indices(23, 5, shuffle=True, seed=3)
    held_out = np.concatenate([val for _, val in folds])
    assert sorted(held_out.tolist()) == list(range(23)) and [len(v) for _, v in folds] == [5, 5, 5, 4, 4]
    assert all(len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 23 for train, val in folds)


@pytest.mark.parametrize("n, k", [(5, 6), (5, 1), (0, 2)])
def test_k_larger_than_the_data_is_refused(n, k):
    with pytest.raises(LabError, match="2 ≤ k"):
        kfold_indices(n, k)
