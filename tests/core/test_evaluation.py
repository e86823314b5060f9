"""core.foundations.evaluation: the confusion matrix against scikit-learn, splits as partitions."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from core.errors import LabError
from core.foundations.evaluation import confusion_matrix, split_indices


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
