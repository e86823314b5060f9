"""Bayes' rule on a diagnostic test, and Bayesian updating of a coin's bias (Beta-Binomial).

A test for a condition has sensitivity P(+ | ill) and specificity P(- | healthy). Bayes' rule
turns the prior P(ill) and a result into the posterior:

    P(ill | +) = P(+ | ill) P(ill) / [ P(+ | ill) P(ill) + P(+ | healthy) P(healthy) ]

>>> test = DiagnosticTest(prior=0.01, sensitivity=0.9, specificity=0.95)
>>> round(posterior(test, positive=True), 4)     # a positive result from a good test: still only 15%
0.1538
>>> [round(p, 3) for p in belief_path(test, [True, True])[0]]   # prior, after 1st, after 2nd
[0.01, 0.154, 0.766]
>>> natural_frequencies(test, 1000)
{'ill, positive': 9, 'ill, negative': 1, 'healthy, positive': 50, 'healthy, negative': 940}
>>> counted_positives(test, 1000)       # the same rule, counted: 9 of the 59 who test positive are ill
Positives(ill=9, healthy=50, total=59, share_ill=0.15254237288135594)
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import LabError


@dataclass(frozen=True)
class DiagnosticTest:
    prior: float = 0.01  # P(ill): how common the condition is among the people tested
    sensitivity: float = 0.90  # P(+ | ill): share of ill people the test catches
    specificity: float = 0.95  # P(- | healthy): share of healthy people the test clears

    def __post_init__(self):
        for name in ("prior", "sensitivity", "specificity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise LabError(f"{name} must be a probability between 0 and 1, not {value}")


def posterior(test: DiagnosticTest, positive: bool, prior: float | None = None) -> float:
    """P(ill | result), starting from `prior` (default: the test's prior)."""
    p = test.prior if prior is None else prior
    like_ill = test.sensitivity if positive else 1 - test.sensitivity  # P(result | ill)
    like_healthy = 1 - test.specificity if positive else test.specificity  # P(result | healthy)
    evidence = like_ill * p + like_healthy * (1 - p)  # P(result), the normaliser
    if evidence == 0.0:  # e.g. specificity 1 and sensitivity 0: a positive can't happen at all
        sign = "positive" if positive else "negative"
        raise LabError(f"a {sign} result has probability 0 under these settings, so nothing can be learned from it "
                       f"(Bayes' rule would divide by P({sign}) = 0)")
    return like_ill * p / evidence


def belief_path(test: DiagnosticTest, results: list[bool]) -> tuple[list[float], str]:
    """The prior, then the posterior after each result in turn (yesterday's posterior is today's prior),
    up to the first result that cannot happen; and why it stopped there ("" if it did not).

    Assumes the results are independent given the condition (a fresh test each time).

    >>> beliefs, stopped = belief_path(DiagnosticTest(0.5, 1.0, 1.0), [True, False])   # a perfect test
    >>> beliefs, stopped[:46]
    ([0.5, 1.0], 'Test 2 (−) is impossible: the beliefs stop aft')
    """
    beliefs = [test.prior]
    for n, positive in enumerate(results, 1):
        try:
            beliefs.append(posterior(test, positive, prior=beliefs[-1]))
        except LabError as e:
            where = "at the prior" if n == 1 else f"after test {n - 1}"
            reason = str(e)
            sign = "+" if positive else "−"
            return beliefs, f"Test {n} ({sign}) is impossible: the beliefs stop {where}. {reason[0].upper()}{reason[1:]}."
    return beliefs, ""



def natural_frequencies(test: DiagnosticTest, people: int = 1000) -> dict[str, int]:
    """Whole people out of `people` in each (condition, result) cell, summing to `people` exactly.

    Rounds by largest remainder, so 0.01 x 1000 ill people split 9 / 1 rather than 9.0 / 0.99.
    """
    p, se, sp = test.prior, test.sensitivity, test.specificity
    share = {"ill, positive": p * se, "ill, negative": p * (1 - se),
             "healthy, positive": (1 - p) * (1 - sp), "healthy, negative": (1 - p) * sp}
    exact = {k: v * people for k, v in share.items()}
    counts = {k: int(np.floor(v)) for k, v in exact.items()}
    by_remainder = sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)
    for k in by_remainder[: people - sum(counts.values())]:
        counts[k] += 1
    return counts


@dataclass(frozen=True)
class Positives:
    ill: int  # people who test positive and are ill (true positives)
    healthy: int  # people who test positive and are healthy (false positives)
    total: int
    share_ill: float | None  # ill / total: P(ill | +) by counting; None when nobody tests positive


def counted_positives(test: DiagnosticTest, people: int = 1000) -> Positives:
    """Bayes' rule by counting whole people: of those who test positive, how many are ill."""
    counts = natural_frequencies(test, people)
    ill, healthy = counts["ill, positive"], counts["healthy, positive"]
    return Positives(ill, healthy, ill + healthy, ill / (ill + healthy) if ill + healthy else None)


POSITIVE_GROUPS = ("ill, positive", "healthy, positive")


def natural_frequency_grid(test: DiagnosticTest, people: int = 1000, columns: int = 50, only_positive: bool = False) -> pd.DataFrame:
    """One row per person (column, row, group) laid out group by group: the natural-frequency picture.

    `only_positive`: keep only the people who test positive (the ones Bayes' rule is about), laid out afresh.

    >>> grid = natural_frequency_grid(DiagnosticTest(0.01, 0.9, 0.95), only_positive=True, columns=10)
    >>> len(grid), grid.group.value_counts().to_dict(), int(grid.row.max())
    (59, {'healthy, positive': 50, 'ill, positive': 9}, 5)
    """
    counts = natural_frequencies(test, people)
    if only_positive:
        counts = {k: v for k, v in counts.items() if k in POSITIVE_GROUPS}
    groups = np.repeat(list(counts), list(counts.values()))
    i = np.arange(len(groups))
    return pd.DataFrame({"column": i % columns, "row": i // columns, "group": groups})


def percent(x: float) -> str:
    """A probability as a percentage with three significant digits, so a rare prior still shows.

    >>> percent(0.15384), percent(0.001), percent(0.00012), percent(1.0), percent(0.0)
    ('15.4%', '0.1%', '0.012%', '100%', '0%')
    """
    return f"{100 * x:.3g}%"


# ----------------------------------------------------------------------------- the coin


@dataclass(frozen=True)
class BetaPrior:
    mean: float = 0.5  # prior guess of P(heads)
    strength: float = 2.0  # a + b: how many imaginary flips the prior is worth (0 = no prior at all)

    @property
    def a(self) -> float:
        return self.mean * self.strength

    @property
    def b(self) -> float:
        return (1 - self.mean) * self.strength


@dataclass(frozen=True)
class CoinBelief:
    heads: int
    tails: int
    mle: float  # heads / flips: NaN before the first flip
    a: float  # the posterior is Beta(a, b)
    b: float
    mean: float  # posterior mean a / (a + b)
    low: float  # central credible interval
    high: float


def mle(heads: int, flips: int) -> float:
    """The maximum-likelihood estimate of P(heads): the share of heads, h / n (NaN before the first flip).
    It needs no prior, so it exists even when the posterior does not (a flat prior and only heads so far).

    >>> mle(3, 3), mle(0, 0)
    (1.0, nan)
    """
    return heads / flips if flips else float("nan")


def coin_posterior(heads: int, tails: int, prior: BetaPrior, level: float = 0.95) -> CoinBelief:
    """Beta(a, b) prior + h heads and t tails -> Beta(a + h, b + t) posterior (conjugacy).

    >>> belief = coin_posterior(7, 3, BetaPrior(0.5, 2.0))
    >>> belief.mle, belief.a, belief.b, round(belief.mean, 4)
    (0.7, 8.0, 4.0, 0.6667)
    """
    a, b = prior.a + heads, prior.b + tails
    n = heads + tails
    if a <= 0 or b <= 0:  # Beta(0, b) is not a distribution (its density's integral diverges at p = 0)
        so_far = f"so far {heads} heads, {tails} tails"
        if prior.strength == 0:
            raise LabError("with prior strength 0 the posterior is not a proper distribution until there is at least "
                           f"one head and one tail; {so_far}")
        side = "heads" if prior.mean == 0 else "tails"
        raise LabError(f"a prior guess of exactly {prior.mean:g} says {side} never happen: Beta({prior.a:g}, {prior.b:g}) "
                       f"is not a proper distribution, and the posterior becomes one only after the first {side[:-1]}; "
                       f"{so_far}. Move the guess off {prior.mean:g}, or keep flipping")
    tail = (1 - level) / 2
    low, high = stats.beta.ppf([tail, 1 - tail], a, b)
    return CoinBelief(heads, tails, mle(heads, n), a, b, a / (a + b), float(low), float(high))


def coin_trajectory(flips: np.ndarray, prior: BetaPrior, level: float = 0.95, points: int = 200) -> dict[str, np.ndarray]:
    """MLE, posterior mean and credible interval after the first n flips, at up to `points` values
    of n spread over 1..len(flips) (every n when there are fewer flips: a chart needs no more)."""
    flips = np.asarray(flips, dtype=np.int64)
    n = np.unique(np.linspace(1, len(flips), min(points, len(flips))).round().astype(np.int64))
    heads = np.cumsum(flips)[n - 1]
    a, b = prior.a + heads, prior.b + (n - heads)
    ok = (a > 0) & (b > 0)
    tail = (1 - level) / 2
    safe_a, safe_b = np.where(ok, a, 1.0), np.where(ok, b, 1.0)
    low = np.where(ok, stats.beta.ppf(tail, safe_a, safe_b), np.nan)
    high = np.where(ok, stats.beta.ppf(1 - tail, safe_a, safe_b), np.nan)
    return {"flips": n, "mle": heads / n, "mean": np.where(ok, a / (a + b), np.nan), "low": low, "high": high}


def flip_coins(p_heads: float, n: int, seed: int) -> np.ndarray:
    """n flips (1 = heads) of a coin with P(heads) = p_heads, the same for the same seed."""
    if not 0.0 <= p_heads <= 1.0:
        raise LabError(f"P(heads) must be between 0 and 1, not {p_heads}")
    return (np.random.default_rng(seed).random(n) < p_heads).astype(np.int64)


def coin_densities(belief: CoinBelief, prior: BetaPrior, points: int = 301) -> pd.DataFrame:
    """Prior and posterior densities over P(heads), long format (p, density, curve) for a chart.

    A prior of strength 0 has no density (it is not a distribution), so only the posterior is drawn.
    """
    p = np.linspace(0.0, 1.0, points)
    curves = {"posterior": stats.beta.pdf(p, belief.a, belief.b)}
    if prior.a > 0 and prior.b > 0:
        curves["prior"] = stats.beta.pdf(p, prior.a, prior.b)
    frames = [pd.DataFrame({"p": p, "density": np.minimum(d, 1e3), "curve": name}) for name, d in curves.items()]
    return pd.concat(frames).replace([np.inf, -np.inf], np.nan).dropna()
