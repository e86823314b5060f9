"""Judging a model on data it never saw: splits, k-fold cross-validation, the confusion matrix, decision
regions, and the scores read off a classifier (accuracy, precision, recall, F1, ROC and precision-recall curves).

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

Too few rows for a held-out part? k-fold cross-validation holds out each of k folds in turn and
averages the k scores, so every row is used for validation exactly once:

>>> [val.tolist() for _, val in kfold_indices(5, 2)]
[[0, 1, 2], [3, 4]]

For a classifier that outputs a score (a probability), a threshold t turns scores into answers
(positive when score ≥ t), and each t gives one confusion matrix:

    precision = TP / (TP + FP)     of what we flagged, how much was right
    recall    = TP / (TP + FN)     of what was there, how much we found (true-positive rate)
    F1        = 2 · precision · recall / (precision + recall)
    FPR       = FP / (FP + TN)     of the negatives, how many we flagged

Sweeping t from high to low traces the ROC curve (FPR, recall) and the precision-recall curve;
the area under the ROC curve is the chance that a random positive scores above a random negative.

>>> s = binary_scores([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1], threshold=0.5)
>>> (s.tp, s.fp, s.fn, s.tn), s.precision, s.recall
((1, 1, 1, 1), 0.5, 0.5)
>>> roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1])
0.75
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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


OTHER_CLASSES = "(other classes)"


def most_confused(counts: np.ndarray, labels: Sequence, top: int = 12) -> tuple[np.ndarray, list[str]]:
    """A confusion matrix small enough to draw: the `top` classes in the most mistakes (as truth or as
    prediction) kept, every other class pooled into one OTHER_CLASSES row and column. Every example
    is still counted once; with `top` classes or fewer it is returned as it is.

    (Thousands of classes make millions of cells: a browser spent 15 minutes drawing 2,000².)

    >>> c = np.array([[5, 0, 0, 1], [0, 7, 0, 0], [0, 0, 9, 0], [2, 0, 0, 4]])
    >>> small, names = most_confused(c, ["a", "b", "c", "d"], top=2)
    >>> names, small.tolist()
    (['a', 'd', '(other classes)'], [[5, 1, 0], [2, 4, 0], [0, 0, 16]])
    """
    counts, labels = np.asarray(counts), [str(v) for v in labels]
    if len(labels) <= top:
        return counts, labels
    off = counts - np.diag(np.diag(counts))
    keep = np.sort(np.argsort(-(off.sum(0) + off.sum(1)), kind="stable")[:top])
    rest = np.setdiff1d(np.arange(len(labels)), keep)
    small = np.zeros((top + 1, top + 1), dtype=counts.dtype)
    small[:top, :top] = counts[np.ix_(keep, keep)]
    small[:top, top] = counts[np.ix_(keep, rest)].sum(1)
    small[top, :top] = counts[np.ix_(rest, keep)].sum(0)
    small[top, top] = counts[np.ix_(rest, rest)].sum()
    return small, [labels[i] for i in keep] + [OTHER_CLASSES]


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


# ----------------------------------------------------------------------------- k-fold cross-validation


def kfold_indices(n: int, k: int, shuffle: bool = False, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, validation) pairs: the rows cut into k consecutive folds, each held out once.

    The first n % k folds get one row more, as scikit-learn's KFold does (equal to it without
    shuffling). With `shuffle`, rows are permuted first by the run's own generator.
    """
    if not 2 <= k <= n:
        raise LabError(f"k-fold cross-validation needs 2 ≤ k ≤ the number of rows ({n}); got k = {k}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)
    ends = np.cumsum(sizes)
    return [(np.concatenate([order[:end - size], order[end:]]), order[end - size:end]) for size, end in zip(sizes, ends)]


# ----------------------------------------------------------------------------- scores of a classifier


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """Share of predictions equal to the truth."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or len(y_true) != len(y_pred):
        raise LabError(f"need as many predictions as true labels, and at least one; got {len(y_true)} and {len(y_pred)}")
    return float((y_true == y_pred).mean())


def _binary(y_true: Sequence) -> np.ndarray:
    y = np.asarray(y_true)
    if y.size and not np.isin(y, [0, 1]).all():
        raise LabError(f"binary scores need labels 0 and 1 (1 = the positive class); got {sorted(set(y.tolist()))[:5]}")
    return y.astype(np.int64)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class BinaryScores:
    """The confusion counts at one threshold and the scores read off them (None where a score is 0/0)."""

    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: float
    precision: float | None  # None: nothing was predicted positive
    recall: float | None  # None: there are no positives
    f1: float | None  # None: precision and recall are both 0 or undefined
    fpr: float | None  # None: there are no negatives
    undefined: list[str] = field(default_factory=list)  # a sentence for each score that is 0/0


def binary_scores(y_true: Sequence, y_pred_or_scores: Sequence, threshold: float | None = None) -> BinaryScores:
    """Counts and scores of 0/1 predictions, or of scores cut at `threshold` (positive when score ≥ threshold).

    Where a score divides 0 by 0 it is None, with a sentence saying why; scikit-learn's
    `zero_division=0` reports 0 there instead (`precision_score(...)` below does too).
    """
    y = _binary(y_true)
    raw = np.asarray(y_pred_or_scores, dtype=np.float64)
    pred = (raw >= threshold).astype(np.int64) if threshold is not None else _binary(raw)
    if len(y) == 0 or len(y) != len(pred):
        raise LabError(f"need as many predictions as true labels, and at least one; got {len(y)} and {len(pred)}")
    tp, fp = int(((pred == 1) & (y == 1)).sum()), int(((pred == 1) & (y == 0)).sum())
    fn, tn = int(((pred == 0) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    precision, recall, fpr = _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(fp, fp + tn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn) if tp else None  # = 2PR / (P + R), without dividing by zero
    undefined = []
    if precision is None:
        undefined.append("precision is undefined: nothing is predicted positive (0 / 0)")
    if recall is None:
        undefined.append("recall is undefined: there are no positive examples (0 / 0)")
    if fpr is None:
        undefined.append("the false-positive rate is undefined: there are no negative examples (0 / 0)")
    if f1 is None:
        undefined.append("F1 is undefined: no true positives, so precision and recall are 0 or undefined")
    return BinaryScores(tp, fp, fn, tn, (tp + tn) / len(y), precision, recall, f1, fpr, undefined)


def precision_score(y_true: Sequence, y_pred: Sequence) -> float:
    """TP / (TP + FP), 0 when nothing is predicted positive (scikit-learn's zero_division=0)."""
    return binary_scores(y_true, y_pred).precision or 0.0


def recall_score(y_true: Sequence, y_pred: Sequence) -> float:
    """TP / (TP + FN), 0 when there are no positives (scikit-learn's zero_division=0)."""
    return binary_scores(y_true, y_pred).recall or 0.0


def f1_score(y_true: Sequence, y_pred: Sequence) -> float:
    """2TP / (2TP + FP + FN), the harmonic mean of precision and recall; 0 when undefined."""
    return binary_scores(y_true, y_pred).f1 or 0.0


# ----------------------------------------------------------------------------- curves over every threshold


def _counts_at_thresholds(y_true: Sequence, scores: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positives, true positives, threshold) for each distinct score, highest first: at
    threshold t everything scoring ≥ t is called positive. Tied scores enter together."""
    y = _binary(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if len(y) != len(s) or len(y) == 0:
        raise LabError(f"need one score per example, and at least one; got {len(s)} scores for {len(y)} labels")
    if not np.isfinite(s).all():
        raise LabError("every score must be a finite number")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # where the score changes: one threshold per distinct score
    tps = np.cumsum(y)[last_of_each]
    fps = last_of_each + 1 - tps
    return fps.astype(np.float64), tps.astype(np.float64), s[last_of_each]


def _need_both_classes(tps: np.ndarray, fps: np.ndarray, curve: str) -> None:
    if tps[-1] == 0 or fps[-1] == 0:
        missing = "positive" if tps[-1] == 0 else "negative"
        raise LabError(f"the {curve} needs both classes, and these labels have no {missing} example")


def roc_curve(y_true: Sequence, scores: Sequence, drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FPR, TPR, thresholds), from threshold +∞ (nothing positive) down to the lowest score
    (everything positive). `drop_intermediate` drops points in the middle of a straight segment,
    as scikit-learn does by default; the curve and its area are unchanged."""
    fps, tps, thresholds = _counts_at_thresholds(y_true, scores)
    _need_both_classes(tps, fps, "ROC curve")
    if drop_intermediate and len(fps) > 2:
        keep = np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), True]  # first and last point of each vertical run
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]  # corners only
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def precision_recall_curve(y_true: Sequence, scores: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) with thresholds increasing, ending at the point (recall 0,
    precision 1) that has no threshold: scikit-learn's layout."""
    fps, tps, thresholds = _counts_at_thresholds(y_true, scores)
    _need_both_classes(tps, fps, "precision-recall curve")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def auc(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a curve through the points (x, y) by the trapezoid rule (x sorted either way)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx = np.diff(x)
    direction = -1.0 if (dx <= 0).all() and (dx < 0).any() else 1.0
    if direction == 1.0 and (dx < 0).any():
        raise LabError("the x values of a curve must be sorted to measure the area under it")
    return float(direction * np.sum(dx * (y[1:] + y[:-1]) / 2))


def roc_auc(y_true: Sequence, scores: Sequence) -> float:
    """Area under the ROC curve: 1 = every positive outscores every negative, 0.5 = a coin."""
    fpr, tpr, _ = roc_curve(y_true, scores)
    return auc(fpr, tpr)


def average_precision(y_true: Sequence, scores: Sequence) -> float:
    """The precision-recall curve summed as steps: AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ (no interpolation)."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(-np.sum(np.diff(recall) * precision[:-1]))
