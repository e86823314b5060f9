"""Joint, marginal and conditional distributions of two discrete variables, and independence.

From a table of counts (or probabilities) n[x, y]:

    P(x, y) = n[x, y] / N          P(x) = sum_y P(x, y)          P(y | x) = P(x, y) / P(x)

X and Y are independent when P(x, y) = P(x) P(y) in every cell. Real counts never match
exactly, so we measure how far they are: mutual information (bits) and Pearson's chi-square test.

>>> t = joint_table(np.array([[30, 10], [20, 40]]), ["rain", "dry"], ["umbrella", "none"])
>>> t.p_x.round(2).tolist(), t.p_y.round(2).tolist()
([0.4, 0.6], [0.5, 0.5])
>>> t.p_y_given_x.round(3).tolist()             # P(umbrella | rain) = 30 / 40
[[0.75, 0.25], [0.333, 0.667]]
>>> round(t.mutual_information, 4), round(t.p_value, 5)
(0.1245, 4e-05)
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import LabError

MAX_VALUES = 30  # rows or columns of a table: four heatmaps of 30 × 30 cells each still read; a learner's table may not be bigger


@dataclass
class JointTable:
    counts: np.ndarray  # (|X|, |Y|) non-negative counts or weights
    x_labels: list[str]
    y_labels: list[str]
    joint: np.ndarray  # P(x, y)
    p_x: np.ndarray  # marginal of X (row sums)
    p_y: np.ndarray  # marginal of Y (column sums)
    p_y_given_x: np.ndarray  # rows sum to 1; NaN rows for an x that never occurs
    p_x_given_y: np.ndarray  # columns sum to 1
    independent: np.ndarray  # P(x) P(y): the joint table X and Y would have if independent
    mutual_information: float  # bits; 0 exactly when independent
    chi2: float  # Pearson's statistic on the counts
    dof: int
    p_value: float  # chance of a chi2 this large if X and Y were independent

    def frame(self, which: str = "joint") -> pd.DataFrame:
        """One of the tables as a labelled DataFrame (rows X, columns Y)."""
        return pd.DataFrame(getattr(self, which), index=self.x_labels, columns=self.y_labels)


def distinct_labels(labels, what: str) -> list[str]:
    """The labels as strings, refusing repeats: two rows called "rain" would be one value counted twice."""
    labels = [str(v) for v in labels]
    repeated = sorted({v for v in labels if labels.count(v) > 1})
    if repeated:
        raise LabError(f"each {what} needs its own label; {', '.join(map(repr, repeated))} appears more than once")
    return labels


def labels_from_text(text: str, what: str) -> list[str]:
    """Comma-separated labels, e.g. "bus, bike, walk": stripped, blanks dropped, repeats refused.

    >>> labels_from_text("bus, bike,, walk ", "column")
    ['bus', 'bike', 'walk']
    """
    labels = distinct_labels([v.strip() for v in text.split(",") if v.strip()], what)
    if not labels:
        raise LabError(f"name at least one {what}")
    return labels


def joint_table(counts, x_labels: list[str], y_labels: list[str]) -> JointTable:
    """Every distribution the two variables define, from their table of counts."""
    if len(x_labels) > MAX_VALUES or len(y_labels) > MAX_VALUES:
        raise LabError(f"the table is {len(x_labels):,} × {len(y_labels):,}; keep it to at most {MAX_VALUES} rows and {MAX_VALUES} columns")
    x_labels, y_labels = distinct_labels(x_labels, "row (value of X)"), distinct_labels(y_labels, "column (value of Y)")
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 2 or n.shape != (len(x_labels), len(y_labels)):
        raise LabError(f"the table must be {len(x_labels)} x {len(y_labels)}, got shape {n.shape}")
    if not np.isfinite(n).all() or (n < 0).any():
        raise LabError("every cell must be a count or probability of 0 or more")
    total = n.sum()
    if total <= 0:
        raise LabError("the table is all zeros: put some counts in it")
    joint = n / total
    p_x, p_y = joint.sum(axis=1), joint.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a row/column of zeros has no conditional
        p_y_given_x = joint / p_x[:, None]
        p_x_given_y = joint / p_y[None, :]
        independent = np.outer(p_x, p_y)
        terms = np.where(joint > 0, joint * np.log2(joint / independent), 0.0)
    mi = max(float(terms.sum()), 0.0)  # tiny negative rounding would read oddly
    chi2, dof, p_value = _chi_square(n, independent * total)
    return JointTable(n, x_labels, y_labels, joint, p_x, p_y, p_y_given_x,
                      p_x_given_y, independent, mi, chi2, dof, p_value)


CUTOFFS = (0.001, 0.01, 0.05, 0.1)  # significance levels a learner may pick; 0.01 is the page's default


def verdict(t: JointTable, cutoff: float = 0.01, x_name: str = "X", y_name: str = "Y") -> str:
    """What the chi-square test says about independence, in words, with the cut-off it used stated.

    >>> t = joint_table(np.array([[30, 10], [20, 40]]), ["rain", "dry"], ["umbrella", "none"])
    >>> verdict(t, 0.01)[:60]
    'p = 4.5e-05 is below the cut-off 0.01: counts this far from '
    >>> verdict(joint_table(np.array([[10, 10], [10, 11]]), ["a", "b"], ["c", "d"]), 0.05)[:40]
    'p = 0.88 is not below the cut-off 0.05: '
    """
    if not 0 < cutoff < 1:
        raise LabError(f"the cut-off must be a probability between 0 and 1, not {cutoff}")
    if t.dof == 0:
        return "With only one row or one column that has counts there is nothing to compare: independence can't be tested."
    digits = next((d for d in (2, 3, 4, 6) if float(f"{t.p_value:.{d}g}") != cutoff), 6)  # never "p = 0.01 ... below 0.01"
    p = f"p = {t.p_value:.{digits}g}"
    if t.p_value < cutoff:
        return (f"{p} is below the cut-off {cutoff:g}: counts this far from P({x_name}) P({y_name}) would turn up less than "
                f"{cutoff:.1%} of the time if {x_name} and {y_name} were independent, so the test calls them related: "
                "knowing one changes the odds of the other.")
    return (f"{p} is not below the cut-off {cutoff:g}: counts this far from P({x_name}) P({y_name}) turn up often enough if "
            f"{x_name} and {y_name} are independent, so the data give no good reason to think they are related "
            "(which is not a proof that they are independent).")


def _chi_square(observed: np.ndarray, expected: np.ndarray) -> tuple[float, int, float]:
    """Pearson's chi-square test of independence (no continuity correction), over the rows and
    columns that have any counts (an empty row says nothing about dependence)."""
    rows, cols = observed.sum(axis=1) > 0, observed.sum(axis=0) > 0
    o, e = observed[rows][:, cols], expected[rows][:, cols]
    dof = (o.shape[0] - 1) * (o.shape[1] - 1)
    if dof == 0:
        return 0.0, 0, 1.0
    chi2 = float(((o - e) ** 2 / e).sum())
    return chi2, dof, float(stats.chi2.sf(chi2, dof))


def count_pairs(x, y, x_order: list | None = None, y_order: list | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """A table of counts from two columns of observations (a crosstab)."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise LabError("need two equally long, non-empty columns of observations")
    xs = list(x_order) if x_order is not None else sorted(set(x.tolist()))
    ys = list(y_order) if y_order is not None else sorted(set(y.tolist()))
    xi, yi = {v: i for i, v in enumerate(xs)}, {v: i for i, v in enumerate(ys)}
    counts = np.zeros((len(xs), len(ys)))
    np.add.at(counts, (np.array([xi[v] for v in x.tolist()]), np.array([yi[v] for v in y.tolist()])), 1)
    return counts, list(map(str, xs)), list(map(str, ys))



def table_from_dataset(name: str, feature: int = 2, bins: int = 3) -> tuple[np.ndarray, list[str], list[str], str, str]:
    """A table of counts from a bundled dataset: (counts, x labels, y labels, X's name, Y's name).

    iris / wine: the class against one feature cut into `bins` equal-width bins;
    sentiment: the label against whether the text contains a negation word.
    """
    from core.infra import data

    if name == "sentiment":
        df = data.sentiment()
        lowered = df.text.str.lower()
        negated = lowered.str.contains(r"\b(?:not|no|never|nothing|nobody)\b|n't", regex=True)
        counts, xs, ys = count_pairs(df.label, np.where(negated, "has a negation", "no negation"),
                                     y_order=["has a negation", "no negation"])
        return counts, xs, ys, "label", "negation"
    if name not in ("iris", "wine"):
        raise LabError(f"unknown dataset {name!r}")
    X, y, features, classes = data.sklearn_table(name)
    if not 0 <= feature < X.shape[1] or not 2 <= bins <= 10:
        raise LabError("choose one of the features and 2 to 10 bins")
    edges = np.linspace(X[:, feature].min(), X[:, feature].max(), bins + 1)
    which = np.clip(np.digitize(X[:, feature], edges[1:-1]), 0, bins - 1)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(bins)]
    counts, xs, ys = count_pairs(np.array(classes)[y], np.array(labels)[which], x_order=classes, y_order=labels)
    return counts, xs, ys, "class", features[feature]
