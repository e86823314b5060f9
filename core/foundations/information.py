"""Entropy, cross-entropy, KL and Jensen-Shannon divergence: how many bits an outcome carries.

All of information theory a language model needs fits in one idea: an outcome of probability p
carries a *surprisal* of -log p. Entropy is the average surprisal when the data comes from p;
cross-entropy is the average surprisal when the data comes from p but you *believe* q; their
difference is the KL divergence, the price of the wrong belief. In bits (log base 2), these are
code lengths: a good code spends -log2 p bits on an outcome of probability p (see
core.foundations.prefix_codes for codes that do). The same quantities on a model's logits, in nats,
are the training loss: core.foundations.cross_entropy_loss.

>>> entropy([0.5, 0.5])                      # a fair coin: one bit
1.0
>>> entropy([0.5, 0.25, 0.25])
1.5
>>> cross_entropy([0.5, 0.5], [0.75, 0.25])  # believing a biased coin costs more
1.2075...
>>> kl_divergence([0.5, 0.5], [0.75, 0.25])  # ... exactly this much more
0.2075...

Inputs are probability vectors. Like scipy.stats.entropy, entries that do not sum to 1 are
divided by their sum; negative, NaN or all-zero entries raise LabError with a plain reason.
NumPy only, so a data module can use it without importing torch.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import LabError

MAX_OUTCOMES = 1_000_000  # beyond this a page would only stall; nothing here needs more


# ----------------------------------------------------------------------------- reading a distribution


def parse_numbers(text: str, name: str = "numbers") -> np.ndarray:
    """Numbers typed with commas or spaces between them. "nan" and "inf" are read as typed: the
    caller decides whether they are allowed (check_distribution refuses them).

    >>> parse_numbers("5, 3 1,1").tolist()
    [5.0, 3.0, 1.0, 1.0]
    """
    try:
        return np.array([float(w) for w in text.replace(",", " ").split()], dtype=np.float64)
    except ValueError as e:
        raise LabError(f"could not read the {name} as numbers: {e}") from e


def _blank(cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, str):
        return not cell.strip()
    try:
        return bool(np.isnan(cell))  # pandas turns an empty number cell into NaN
    except TypeError:
        return False


def cell_weights(cells: Sequence) -> np.ndarray:
    """Weights from a column of an editable table, where a blank cell counts as 0.

    A row the learner has just added is blank until they type in it; reading it as "no weight
    yet" keeps the table usable. Text that is not a number is an error; so is a negative number
    (check_distribution refuses it, as it refuses NaN typed in a text box).

    >>> cell_weights([0.5, None, float("nan"), " ", "0.25"]).tolist()
    [0.5, 0.0, 0.0, 0.0, 0.25]
    """
    try:
        return np.array([0.0 if _blank(c) else float(c) for c in cells], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise LabError(f"could not read a weight in the table as a number: {e}") from e


def check_distribution(values: Sequence[float], name: str = "p") -> tuple[np.ndarray, float | np.ndarray]:
    """(values / their sum, the sum), or LabError saying what is wrong with `values`.

    A 2-D (or higher) array is a stack of distributions, one per row: each row is divided by its
    own sum over the last axis, and the sums come back as an array.

    >>> check_distribution([2, 1, 1])
    (array([0.5 , 0.25, 0.25]), 4.0)
    >>> check_distribution([[1, 1], [3, 1]])[0].tolist()
    [[0.5, 0.5], [0.75, 0.25]]
    """
    p = np.asarray(values, dtype=np.float64)
    p = p.ravel() if p.ndim < 2 else p
    if p.shape[-1] == 0:
        raise LabError(f"{name} has no outcomes")
    if p.shape[-1] > MAX_OUTCOMES:
        raise LabError(f"{name} has {p.shape[-1]:,} outcomes; the limit is {MAX_OUTCOMES:,}")
    if not np.all(np.isfinite(p)):
        raise LabError(f"{name} has a missing, NaN or infinite entry; every probability must be a finite number")
    if np.any(p < 0):
        raise LabError(f"{name} has a negative entry ({p.min():g}); probabilities are never negative")
    with np.errstate(over="ignore"):  # an overflowing sum is handled below
        total = p.sum(-1, keepdims=True)
    if np.any(total <= 0):
        raise LabError(f"{name} is all zeros{' in some row' if p.ndim > 1 else ''}; at least one outcome needs some probability")
    sums = total
    if not np.all(np.isfinite(total)):  # entries near 1e308 overflow the sum: divide by the largest first (ratios stay)
        p = p / p.max(-1, keepdims=True)
        sums = p.sum(-1, keepdims=True)
    return p / sums, (float(total[0]) if p.ndim == 1 else total[..., 0])


def check_pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    """p and q, each checked and normalised, over the same outcomes."""
    p, q = check_distribution(p, "p")[0], check_distribution(q, "q")[0]
    if p.ndim != 1 or q.ndim != 1:
        raise LabError("p and q must each be one distribution (a flat list of probabilities)")
    if p.shape != q.shape:
        raise LabError(f"p has {p.size} outcomes but q has {q.size}; they must describe the same outcomes")
    return p, q


def _log(x: np.ndarray, base: float) -> np.ndarray:
    if not base > 0 or base == 1:
        raise LabError(f"a logarithm base must be positive and not 1 (got {base})")
    with np.errstate(divide="ignore"):  # log 0 = -inf is the right answer here, not a warning
        return np.log(x) / np.log(base)


# ----------------------------------------------------------------------------- one distribution


def surprisal(p: Sequence[float], base: float = 2) -> np.ndarray:
    """-log p for each outcome: how surprised you are to see it (inf for an impossible one).

    >>> surprisal([0.5, 0.25, 0.25, 0])
    array([ 1.,  2.,  2., inf])
    """
    return -_log(check_distribution(p)[0], base)


def entropy_terms(p: Sequence[float], base: float = 2) -> np.ndarray:
    """Each outcome's share of the entropy, p * -log p; they sum to H(p).

    Outcomes with p = 0 add nothing (p log p -> 0 as p -> 0), so zeros are fine.

    >>> entropy_terms([0.5, 0.25, 0.25, 0]).tolist()
    [0.5, 0.5, 0.5, 0.0]
    """
    p = check_distribution(p)[0]
    return np.where(p > 0, -p * _log(np.where(p > 0, p, 1.0), base), 0.0)


def entropy(p: Sequence[float], base: float = 2) -> float | np.ndarray:
    """H(p) = -sum p log p: the average surprisal, in bits for base 2 and nats for base e.

    For a stack of distributions (2-D or more) it is the entropy of each row, over the last axis.

    >>> entropy([1, 0, 0])
    0.0
    >>> round(entropy([1/6] * 6), 4)                  # a die: log2 6 bits
    2.585
    >>> entropy([[0.5, 0.5], [1, 0]]).tolist()        # one entropy per row
    [1.0, 0.0]
    """
    h = entropy_terms(p, base).sum(-1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(h) if np.ndim(h) == 0 else h


def grouped(p: Sequence[float], digits: int = 10) -> list[tuple[float, int]]:
    """The distinct positive probabilities of p, most likely first, each with how many outcomes share it:
    entropy by hand is written -(0.5 log 0.5 + 5 x 0.1 log 0.1). Values equal to `digits` significant
    digits count as equal (1/3 computed two ways), however small: 1/4096 stays 1/4096.

    >>> grouped([0.1] * 5 + [0.5, 0])
    [(0.5, 1), (0.1, 5)]
    >>> grouped([1 / 4096] * 4096) == [(1 / 4096, 4096)]
    True
    """
    p = check_distribution(p)[0]
    positive = p[p > 0]
    keys = np.array([float(f"{v:.{digits}g}") for v in positive])  # relative, not absolute, rounding
    values, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return [(float(positive[i]), int(c)) for i, c in zip(first[::-1], counts[::-1])]


def written(v: float) -> tuple[str, float]:
    r"""A probability as one writes it by hand (LaTeX), and the number that writing stands for:
    1/k when v is one over a whole number, else four significant digits.

    >>> written(1 / 4096), written(0.1), written(0.13816)
    (('\\tfrac{1}{4096}', 0.000244140625), ('\\tfrac{1}{10}', 0.1), ('0.1382', 0.1382))
    """
    k = round(1 / v) if v > 0 else 0
    if 1 <= k <= 10**6 and abs(k * v - 1) < 1e-9:
        return rf"\tfrac{{1}}{{{k}}}", 1 / k
    text = f"{v:.4g}"
    return text, float(text)


def entropy_by_hand(p: Sequence[float], most_terms: int = 5) -> str | None:
    r"""H written out by hand as LaTeX, equal probabilities grouped, or None past `most_terms` groups.

    The right-hand side is the entropy itself; it is joined by "=" only when the numbers as written give it
    to the four decimals shown (otherwise "≈": the written numbers were rounded).

    >>> entropy_by_hand([1 / 4096] * 4096)
    'H = -\\left(4096 \\times \\tfrac{1}{4096} \\log_2 \\tfrac{1}{4096}\\right) = 12.0000\\ \\text{bits}'
    """
    groups = grouped(p)
    if len(groups) > most_terms:
        return None
    terms, total = [], 0.0
    for v, count in groups:
        text, value = written(v)
        terms.append((rf"{count} \times " if count > 1 else "") + rf"{text} \log_2 {text}")
        total -= count * value * math.log2(value)
    h = entropy(p)
    sign = "=" if round(total, 4) == round(h, 4) else r"\approx"
    return rf"H = -\left({' + '.join(terms)}\right) {sign} {h:.4f}\ \text{{bits}}"


# ----------------------------------------------------------------------------- two distributions


def cross_entropy(p: Sequence[float], q: Sequence[float], base: float = 2) -> float:
    """H(p, q) = -sum p log q: average surprisal of data from p under the belief q.

    Infinite when q gives zero probability to an outcome that p can produce.

    >>> cross_entropy([0.5, 0.5], [1, 0])
    inf
    """
    p, q = check_pair(p, q)
    nz = p > 0
    return float(-(p[nz] * _log(q[nz], base)).sum()) + 0.0


def kl_divergence(p: Sequence[float], q: Sequence[float], base: float = 2) -> float:
    """KL(p || q) = sum p log(p / q) = H(p, q) - H(p): the extra surprisal of believing q.

    Never negative (Gibbs' inequality), zero only when p = q, not symmetric, infinite when q
    misses an outcome p has. Computed directly, not as a difference, so it stays accurate when small.

    >>> kl_divergence([0.5, 0.5], [0.9, 0.1]) == kl_divergence([0.9, 0.1], [0.5, 0.5])
    False
    """
    p, q = check_pair(p, q)
    nz = p > 0
    with np.errstate(divide="ignore"):
        kl = float((p[nz] * _log(p[nz] / q[nz], base)).sum())
    return max(kl, 0.0)  # rounding can leave -1e-17 when p = q; the true value is never negative


def js_divergence(p: Sequence[float], q: Sequence[float], base: float = 2) -> float:
    """JS(p, q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2: symmetric, finite, at most 1 bit.

    m gives mass wherever p or q does, so neither KL can be infinite. (scipy's jensenshannon
    returns the square root of this, a true distance.)

    >>> js_divergence([1, 0], [0, 1])               # nothing in common: exactly one bit
    1.0
    """
    p, q = check_pair(p, q)
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


def unsupported(p: Sequence[float], q: Sequence[float]) -> np.ndarray:
    """Indices of the outcomes p can produce but q calls impossible: each makes KL(p || q) infinite.

    >>> unsupported([0.5, 0.5, 0], [1, 0, 0]).tolist()
    [1]
    """
    p, q = check_pair(p, q)
    return np.flatnonzero((p > 0) & (q == 0))


@dataclass(frozen=True)
class Divergences:
    """Every number that compares p with q, in both directions (bits unless another base was asked for)."""

    entropy_p: float
    entropy_q: float
    cross_pq: float  # H(p, q): data from p, model q
    cross_qp: float  # H(q, p)
    kl_pq: float  # KL(p || q) = H(p, q) - H(p)
    kl_qp: float
    js: float  # Jensen-Shannon: symmetric and finite

    @property
    def js_distance(self) -> float:
        """sqrt(JS): a true metric, and what scipy.spatial.distance.jensenshannon returns."""
        return math.sqrt(self.js)

    @property
    def asymmetry(self) -> float:
        """|KL(p || q) - KL(q || p)|: how far KL is from being a distance (nan when both are infinite)."""
        return abs(self.kl_pq - self.kl_qp)


def divergences(p: Sequence[float], q: Sequence[float], base: float = 2) -> Divergences:
    """Entropies, cross-entropies and KL of p and q both ways, and their Jensen-Shannon divergence.

    >>> d = divergences([0.5, 0.5], [0.9, 0.1])
    >>> round(d.kl_pq, 3), round(d.kl_qp, 3), round(d.asymmetry, 3)
    (0.737, 0.531, 0.206)
    """
    p, q = check_pair(p, q)
    return Divergences(entropy(p, base), entropy(q, base), cross_entropy(p, q, base), cross_entropy(q, p, base),
                       kl_divergence(p, q, base), kl_divergence(q, p, base), js_divergence(p, q, base))


def blend_path(p: Sequence[float], q: Sequence[float], steps: int = 41, base: float = 2) -> dict[str, list[float]]:
    """KL both ways and JS between p and q_t = (1 - t) q + t p, as t slides q over to p.

    Both KLs fall to 0 at t = 1, but along different curves: the asymmetry, seen whole.

    >>> path = blend_path([0.9, 0.1], [0.5, 0.5], steps=3)
    >>> [round(v, 3) for v in path["KL(p ‖ q_t)"]], [round(v, 3) for v in path["KL(q_t ‖ p)"]]
    ([0.531, 0.168, 0.0], [0.737, 0.222, 0.0])
    """
    p, q = check_pair(p, q)
    out: dict[str, list[float]] = {"t": [], "KL(p ‖ q_t)": [], "KL(q_t ‖ p)": [], "JS(p, q_t)": []}
    for t in np.linspace(0, 1, steps):
        q_t = (1 - t) * q + t * p
        out["t"].append(float(t))
        out["KL(p ‖ q_t)"].append(kl_divergence(p, q_t, base))
        out["KL(q_t ‖ p)"].append(kl_divergence(q_t, p, base))
        out["JS(p, q_t)"].append(js_divergence(p, q_t, base))
    return out


