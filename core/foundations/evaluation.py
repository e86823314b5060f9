"""Judging a model on data it never saw: train/validation/test splits, the confusion matrix, decision regions.

A model's score on its own training data says how well it memorised; only held-out data says how
well it will do on the next example. So every experiment in the lab cuts its data once, with a
seed, before training:

    train  → fit the weights       validation → choose settings, stop early       test → report, once

Stratifying keeps each class's share the same in every part, so a rare class is not left out of
training by bad luck.

>>> parts = split_indices(10, test_fraction=0.2, val_fraction=0.2, seed=0)
>>> [len(p) for p in (parts.train, parts.val, parts.test)]
[6, 2, 2]
>>> confusion_matrix(["cat", "dog", "dog"], ["cat", "cat", "dog"], labels=["cat", "dog"]).tolist()
[[1, 0], [1, 1]]
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import LabError


@dataclass(frozen=True)
class SplitIndices:
    """Row indices of each part; `val` is empty when no validation share was asked for."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _cut(order: np.ndarray, n_test: int, n_val: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]


def split_indices(n: int, test_fraction: float = 0.2, val_fraction: float = 0.0, seed: int = 0,
                  stratify: Sequence | None = None) -> SplitIndices:
    """Shuffle rows 0..n-1 with the run's own generator and cut them into train / validation / test.

    With `stratify` (one label per row), every class is cut in the same proportions (rounded per
    class), so each part keeps the class shares of the whole.
    """
    if not (0.0 < test_fraction < 1.0 and 0.0 <= val_fraction < 1.0 and test_fraction + val_fraction < 1.0):
        raise LabError(f"the test share ({test_fraction:.0%}) and validation share ({val_fraction:.0%}) "
                       "must each be between 0 and 1, and leave some rows for training")
    rng = np.random.default_rng(seed)
    if stratify is None:
        order = rng.permutation(n)
        parts = _cut(order, int(round(test_fraction * n)), int(round(val_fraction * n)))
    else:
        labels = np.asarray(stratify)
        if len(labels) != n:
            raise LabError(f"stratify has {len(labels)} labels for {n} rows")
        pieces = []
        for label in sorted(set(labels.tolist()), key=str):
            rows = rng.permutation(np.flatnonzero(labels == label))
            pieces.append(_cut(rows, int(round(test_fraction * len(rows))), int(round(val_fraction * len(rows)))))
        parts = tuple(rng.permutation(np.concatenate([p[i] for p in pieces])) for i in range(3))
    test, val, train = parts
    if len(train) < 1 or len(test) < 1:
        raise LabError(f"{n} rows are too few to split into training and test sets with a test share of {test_fraction:.0%}")
    return SplitIndices(train=train, val=val, test=test)


def confusion_matrix(y_true: Sequence, y_pred: Sequence, labels: Sequence) -> np.ndarray:
    """counts[i, j] = how many examples of class labels[i] were predicted as labels[j].

    Rows are the truth, columns the prediction; the diagonal holds the correct answers.
    """
    index = {label: i for i, label in enumerate(labels)}
    try:
        rows = np.fromiter((index[t] for t in y_true), dtype=np.int64)
        cols = np.fromiter((index[p] for p in y_pred), dtype=np.int64)
    except KeyError as e:
        raise LabError(f"the label {e.args[0]!r} is not one of the classes {list(labels)}") from e
    counts = np.zeros((len(index), len(index)), dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    return counts


def decision_regions(predict_proba: Callable[[np.ndarray], np.ndarray], x_range: tuple[float, float],
                     y_range: tuple[float, float], n: int = 50) -> pd.DataFrame:
    """Where a classifier of two features picks each class: the plane x_range × y_range cut into n × n
    tiles (x..x2, y..y2), each with the class predicted at its centre (a column of predict_proba) and
    that class's probability. A rect mark coloured by class and shaded by probability draws the regions.

    >>> tiles = decision_regions(lambda X: np.stack([X[:, 0] < 0, X[:, 0] >= 0], 1) * 1.0, (-1, 1), (0, 1), n=2)
    >>> tiles[["x", "x2", "y", "class", "probability"]].values.tolist()
    [[-1.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0, 1.0], [-1.0, 0.0, 0.5, 0.0, 1.0], [0.0, 1.0, 0.5, 1.0, 1.0]]
    """
    xs, ys = np.linspace(*x_range, n + 1), np.linspace(*y_range, n + 1)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))  # tile (i, j): column i, row j
    centres = np.stack([(xs[i] + xs[i + 1]) / 2, (ys[j] + ys[j + 1]) / 2], 1)
    with np.errstate(all="ignore"):  # a diverged model's NaN probabilities draw as blank tiles, not warnings
        p = np.asarray(predict_proba(centres))
    return pd.DataFrame({"x": xs[i], "x2": xs[i + 1], "y": ys[j], "y2": ys[j + 1],
                         "class": p.argmax(1), "probability": np.nan_to_num(p.max(1), nan=0.0)})
