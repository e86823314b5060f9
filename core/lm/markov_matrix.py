"""A Markov chain as a matrix: transition probabilities, the stationary distribution, and a simulation that checks it.

An order-1 chain over S states is a matrix P with P[i, j] = P(next = j | now = i); every row sums
to 1. Run long enough, a chain whose states all reach one another spends a fixed share of its time
in each state, whatever it started from: the stationary distribution pi, with

    pi P = pi,   sum(pi) = 1

>>> P = transition_matrix(np.array([0, 1, 1, 0, 1]), 2)      # counted from a sequence of states
>>> P.tolist()
[[0.0, 1.0], [0.5, 0.5]]
>>> stationary_distribution(P).round(4).tolist()
[0.3333, 0.6667]

core.lm.markov_chain counts the chains of a whole corpus (any order) and turns them into this
matrix; core.lm.markov_source solves its exact entropy rate with the same stationary distribution.
"""

from dataclasses import dataclass

import numpy as np

from core.errors import LabError


def transition_matrix(ids: np.ndarray, S: int, alpha: float = 0.0, dead_end: np.ndarray | None = None) -> np.ndarray:
    """Order-1 transition probabilities P[i, j] = P(next = j | current = i) for states 0..S-1.

    `alpha` is added to every count; a state never followed by anything gets the row `dead_end`
    (default uniform), so P stays stochastic (rows sum to 1).

    >>> transition_matrix(np.array([0, 1, 1, 0, 1]), 2).tolist()
    [[0.0, 1.0], [0.5, 0.5]]
    """
    ids = np.asarray(ids, dtype=np.int64)
    counts = np.bincount(ids[:-1] * S + ids[1:], minlength=S * S).reshape(S, S).astype(np.float64) + alpha
    totals = counts.sum(axis=1, keepdims=True)
    fallback = np.full(S, 1.0 / S) if dead_end is None else np.asarray(dead_end, dtype=np.float64)
    return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), fallback)


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """pi with pi P = pi and sum(pi) = 1, solved as one square linear system.

    The S equations (P^T - I) pi = 0 are dependent (each row of P sums to 1, so they add up to 0 = 0):
    the last is replaced by
    sum(pi) = 1. The system is singular exactly when pi is not unique (the chain splits into parts
    that never reach each other), which is refused.

    >>> P = np.array([[0.9, 0.1], [0.5, 0.5]])       # sunny/rainy weather
    >>> stationary_distribution(P).round(4).tolist()
    [0.8333, 0.1667]
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or (P < 0).any() or not np.allclose(P.sum(axis=1), 1.0):
        raise LabError("a transition matrix must be square with non-negative rows that sum to 1")
    S = len(P)
    A = P.T - np.eye(S)
    A[-1] = 1.0
    b = np.zeros(S)
    b[-1] = 1.0
    try:
        pi = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        pi = np.full(S, np.nan)
    if not (np.isfinite(pi).all() and (pi > -1e-9).all() and np.allclose(pi @ P, pi, atol=1e-9)):
        raise LabError("this chain has more than one stationary distribution: it splits into parts that never reach each other")
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def simulate(P: np.ndarray, steps: int, chains: int = 1000, burn_in: int = 100, seed: int = 0) -> np.ndarray:
    """Share of time spent in each state by `chains` independent runs of `steps` steps (after burn-in).

    Runs the chains side by side (one NumPy step moves all of them), so a million steps are quick.
    """
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(P, axis=1)
    cumulative[:, -1] = 1.0  # guard against rounding: every draw lands in some state
    state = rng.integers(0, len(P), chains)
    visits = np.zeros(len(P))
    for step in range(burn_in + steps):
        state = (rng.random(chains)[:, None] > cumulative[state]).sum(axis=1)
        if step >= burn_in:
            visits += np.bincount(state, minlength=len(P))
    return visits / visits.sum()


AGREE = 0.005  # shares closer than half a percentage point count as the same on the page


@dataclass
class Gap:
    """Where two estimates of the stationary distribution differ most."""

    state: str
    first: float  # its share in the first estimate
    second: float  # and in the second

    @property
    def size(self) -> float:
        return abs(self.first - self.second)


def largest_gap(states: list[str], first: np.ndarray, second: np.ndarray) -> Gap:
    """The state whose shares differ most between two distributions.

    >>> largest_gap(["a", "b", "c"], np.array([0.5, 0.3, 0.2]), np.array([0.45, 0.4, 0.15]))
    Gap(state='b', first=0.3, second=0.4)
    """
    i = int(np.argmax(np.abs(np.asarray(first) - np.asarray(second))))
    return Gap(states[i], round(float(first[i]), 12), round(float(second[i]), 12))


@dataclass
class SmallChain:
    states: list[str]
    P: np.ndarray  # transition matrix
    stationary: np.ndarray  # solved exactly
    simulated: np.ndarray  # from a long simulation
    observed: np.ndarray  # how often each state occurs in the corpus

    def gaps(self) -> tuple[Gap, Gap]:
        """(π solved against the simulation, π solved against the text's own frequencies): the largest difference of each.
        The first is sampling noise only; the second is zero without smoothing (up to the text's first and last
        letter) and grows with α, which pulls π towards uniform while the text stays what it is."""
        return largest_gap(self.states, self.stationary, self.simulated), largest_gap(self.states, self.stationary, self.observed)


LETTERS = list(" abcdefghijklmnopqrstuvwxyz")


def letter_ids(text: str) -> np.ndarray:
    """The text as states 0..26 (space, a..z): lowercased, whitespace as space, all else dropped,
    runs of spaces collapsed to one. Vectorised: a lookup table over code points."""
    codes = np.frombuffer(text.lower().encode("utf-32-le"), dtype=np.uint32)
    lookup = np.full(128, -1, dtype=np.int64)
    lookup[[ord(c) for c in LETTERS]] = np.arange(len(LETTERS))
    lookup[[ord(c) for c in "\t\n\r\f\v"]] = 0
    ids = np.where(codes < 128, lookup[np.minimum(codes, 127)], -1)
    ids = ids[ids >= 0]
    repeated_space = (ids == 0) & (np.concatenate([[0], ids[:-1]]) == 0)  # a leading space counts as repeated
    return ids[~repeated_space]


def letter_chain(text: str, alpha: float = 0.0, sim_steps: int = 300, seed: int = 0) -> SmallChain:
    """The 27-state chain of lowercase letters and space in `text`."""
    return small_chain(letter_ids(text), LETTERS, alpha, sim_steps, seed)


def small_chain(ids: np.ndarray, states: list[str], alpha: float = 0.0, sim_steps: int = 300, seed: int = 0) -> SmallChain:
    """Transition matrix, exact stationary distribution and a simulation check for a sequence of states 0..S-1.

    >>> chain = small_chain(np.array([0, 1, 1, 0, 1, 0]), ["sun", "rain"], sim_steps=200)
    >>> chain.P.tolist(), chain.stationary.round(3).tolist()
    ([[0.0, 1.0], [0.6666666666666666, 0.3333333333333333]], [0.4, 0.6])
    """
    if len(ids) < 2:
        raise LabError("the text has fewer than two tokens among the chosen states")
    P = transition_matrix(ids, len(states), alpha)
    observed = np.bincount(ids, minlength=len(states)) / len(ids)
    return SmallChain(states, P, stationary_distribution(P), simulate(P, sim_steps, seed=seed), observed)
