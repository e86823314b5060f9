"""The evaluation page's experiments, built from core.foundations.evaluation and the classical models.

- `cross_validate(CVConfig)`: choose k of k-nearest neighbours, or a tree's depth, by k-fold
  cross-validation on the training rows, then report the chosen model once on the held-out test rows;
- `score_test_set(ScoringConfig)`: a logistic regression's scores for the test rows, with its ROC and
  precision-recall curves, ready for a threshold to be chosen (`at_threshold`).

>>> cv = cross_validate(CVConfig(model="decision tree", folds=5))
>>> cv.best, round(cv.test_accuracy, 3)
(5, 0.95)
>>> scored = score_test_set(ScoringConfig())
>>> round(scored.roc_auc, 3), at_threshold(scored, 0.5).scores.tp
(0.971, 122)
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import LabError
from core.foundations import evaluation, logistic_regression
from core.foundations.decision_tree import DecisionTree
from core.foundations.knn import KNearestNeighbours
from core.infra import data

SETTINGS = {  # the values cross-validation chooses among
    "k-nearest neighbours": (1, 2, 3, 5, 8, 12, 20, 30, 50, 80, 120),
    "decision tree": (1, 2, 3, 4, 5, 6, 8, 10, 12, 15),
}
SETTING_NAME = {"k-nearest neighbours": "neighbours k", "decision tree": "maximum depth"}


@dataclass(frozen=True)
class CVConfig:
    model: str = "decision tree"  # a key of SETTINGS
    dataset: str = "moons"  # one of core.infra.data.POINT_SETS
    n: int = 300
    noise: float = 0.3
    folds: int = 5  # k of k-fold cross-validation
    test_fraction: float = 0.2  # held out before anything else, looked at once at the end
    seed: int = 0


@dataclass
class CVResult:
    config: CVConfig
    scores: pd.DataFrame  # setting, fold, split (training/validation), accuracy
    summary: pd.DataFrame  # setting, training (mean), validation (mean), validation_std
    best: int  # the setting with the highest mean validation accuracy (the simplest model among ties)
    test_accuracy: float  # the best setting refitted on all training rows, scored once on the test rows
    layout: pd.DataFrame  # fold, role, start, end: which rows each fold trains and validates on (for a picture)
    n_train: int
    n_test: int


def _two_class_points(dataset: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if dataset not in data.POINT_SETS:
        raise LabError(f"choose one of {', '.join(data.POINT_SETS)}, not {dataset!r}")
    if not 10 <= n <= 5000:
        raise LabError(f"choose between 10 and 5,000 points; got {n}")
    return data.points(dataset, n, noise, seed)


def _fold_accuracies(model: str, settings: list[int], X_tr, y_tr, X_val, y_val) -> list[tuple[int, float, float]]:
    """(setting, training accuracy, validation accuracy) for every setting on one fold."""
    out = []
    if model == "decision tree":
        tree = DecisionTree(max(settings)).fit(X_tr, y_tr, n_classes=2)  # one deep tree answers for every depth
        for d in settings:
            out.append((d, float((tree.predict(X_tr, d) == y_tr).mean()), float((tree.predict(X_val, d) == y_val).mean())))
    else:
        knn = KNearestNeighbours(max(settings)).fit(X_tr, y_tr, n_classes=2)  # one neighbour search answers for every k
        on_train, on_val = knn.predict_each_k(X_tr, settings), knn.predict_each_k(X_val, settings)
        out = [(k, float((on_train[k] == y_tr).mean()), float((on_val[k] == y_val).mean())) for k in settings]
    return out


def cross_validate(config: CVConfig) -> CVResult:
    """k-fold cross-validation of each setting on the training rows; the winner is then scored on the test rows."""
    if config.model not in SETTINGS:
        raise LabError(f"choose one of {', '.join(SETTINGS)}, not {config.model!r}")
    X, y = _two_class_points(config.dataset, config.n, config.noise, config.seed)
    parts = evaluation.split_indices(len(y), config.test_fraction, seed=config.seed, stratify=y)
    train, test = parts.train, parts.test  # train is already in random order, so consecutive folds are random folds
    folds = evaluation.kfold_indices(len(train), config.folds)
    smallest = min(len(tr) for tr, _ in folds)
    settings = [s for s in SETTINGS[config.model] if config.model != "k-nearest neighbours" or s <= smallest]
    rows = []
    for f, (tr, val) in enumerate(folds):
        for setting, acc_tr, acc_val in _fold_accuracies(config.model, settings, X[train[tr]], y[train[tr]], X[train[val]], y[train[val]]):
            rows += [{"setting": setting, "fold": f + 1, "split": "training", "accuracy": acc_tr},
                     {"setting": setting, "fold": f + 1, "split": "validation", "accuracy": acc_val}]
    scores = pd.DataFrame(rows)
    wide = scores.pivot_table(index="setting", columns="split", values="accuracy", aggfunc=["mean", "std"])
    summary = pd.DataFrame({"setting": wide.index, "training": wide[("mean", "training")].to_numpy(),
                            "validation": wide[("mean", "validation")].to_numpy(),
                            "validation_std": wide[("std", "validation")].fillna(0).to_numpy()})
    # the simplest model among the best: the largest k (smoothest) or the smallest depth
    best_rows = summary[np.isclose(summary.validation, summary.validation.max())]
    best = int(best_rows.setting.max() if config.model == "k-nearest neighbours" else best_rows.setting.min())
    test_accuracy = _fold_accuracies(config.model, [best], X[train], y[train], X[test], y[test])[0][2]
    layout = pd.DataFrame([{"fold": f"fold {f + 1}", "role": role, "start": start, "end": end}
                           for f, (_, val) in enumerate(folds)
                           for role, start, end in (("training", 0, int(val[0])), ("validation", int(val[0]), int(val[-1]) + 1),
                                                    ("training", int(val[-1]) + 1, len(train)))
                           if end > start]
                          + [{"fold": f"fold {f + 1}", "role": "test (held out)", "start": len(train), "end": len(y)}
                             for f in range(len(folds))])
    return CVResult(config, scores, summary, best, test_accuracy, layout, len(train), len(test))


# ----------------------------------------------------------------------------- scores and thresholds


@dataclass(frozen=True)
class ScoringConfig:
    dataset: str = "gaussians"  # one of core.infra.data.POINT_SETS
    n: int = 600  # points before making the classes unbalanced
    noise: float = 0.3
    positive_share: float = 0.5  # share of class 1 (positives) kept: below 0.5, positives are dropped at random
    test_fraction: float = 0.5
    degree: int = 2  # logistic regression on the polynomial features of (x₁, x₂) up to this degree
    l2: float = 0.01
    seed: int = 0


@dataclass
class Scored:
    config: ScoringConfig
    y: np.ndarray  # test labels, 1 = positive
    scores: np.ndarray  # the model's P(positive) for each test row
    roc: pd.DataFrame  # fpr, tpr, threshold (scikit-learn's points; its first threshold, +∞, is NaN here: JSON has no ∞)
    pr: pd.DataFrame  # recall, precision, threshold
    roc_auc: float
    average_precision: float
    base_rate: float  # share of positives among the test rows: the precision of guessing "positive" at random


def _unbalance(X: np.ndarray, y: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drop positives (class 1) at random until they are `share` of the rows (never more than there are)."""
    if not 0.0 <= share < 1.0:
        raise LabError(f"the positive share must be at least 0 and below 1; got {share}")
    negatives, positives = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    keep = min(len(positives), int(round(share / (1 - share) * len(negatives))))
    rows = np.sort(np.r_[negatives, rng.choice(positives, keep, replace=False)])
    return X[rows], y[rows]


def score_test_set(config: ScoringConfig) -> Scored:
    """Fit logistic regression on the training rows and score the test rows; their ROC and PR curves."""
    from sklearn.preprocessing import PolynomialFeatures

    X, y = _two_class_points(config.dataset, config.n, config.noise, config.seed)
    X, y = _unbalance(X, y, config.positive_share, np.random.default_rng(config.seed))
    if y.sum() < 2:
        raise LabError(f"with a positive share of {config.positive_share:.0%} fewer than 2 positives are left: "
                       "a test set can't have both classes. Raise the share or the number of points.")
    parts = evaluation.split_indices(len(y), config.test_fraction, seed=config.seed, stratify=y)
    poly = PolynomialFeatures(config.degree, include_bias=False).fit(X[:1])
    fit = logistic_regression.fit(logistic_regression.LogisticConfig(l2=config.l2), poly.transform(X[parts.train]), y[parts.train])
    y_test = y[parts.test]
    scores = fit.model.predict_proba(poly.transform(X[parts.test]))[:, 1]
    fpr, tpr, roc_t = evaluation.roc_curve(y_test, scores)
    precision, recall, pr_t = evaluation.precision_recall_curve(y_test, scores)
    return Scored(config, y_test, scores,
                  pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.where(np.isfinite(roc_t), roc_t, np.nan)}),
                  pd.DataFrame({"recall": recall, "precision": precision, "threshold": np.r_[pr_t, np.nan]}),
                  evaluation.auc(fpr, tpr), evaluation.average_precision(y_test, scores), float(y_test.mean()))


@dataclass
class AtThreshold:
    threshold: float
    scores: evaluation.BinaryScores
    histogram: pd.DataFrame  # bin start/end, class, count: the scores of each class, to draw with the threshold


def at_threshold(scored: Scored, threshold: float, bins: int = 20) -> AtThreshold:
    """The confusion counts and scores when every test row scoring ≥ threshold is called positive."""
    if not 0.0 <= threshold <= 1.0:
        raise LabError(f"a threshold on probabilities lies between 0 and 1; got {threshold}")
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for label, name in ((0, "negative (0)"), (1, "positive (1)")):
        counts, _ = np.histogram(scored.scores[scored.y == label], edges)
        rows.append(pd.DataFrame({"start": edges[:-1], "end": edges[1:], "class": name, "count": counts}))
    return AtThreshold(threshold, evaluation.binary_scores(scored.y, scored.scores, threshold), pd.concat(rows, ignore_index=True))
