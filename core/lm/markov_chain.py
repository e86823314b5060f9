"""Order-k Markov chains over the characters or words of a corpus: fit by counting, sample, sparsity.

The Markov assumption: the next token depends only on the previous k tokens,

    P(t_i | t_1 .. t_{i-1}) = P(t_i | t_{i-k} .. t_{i-1}) = count(context, t_i) / count(context)

Small k gives vague but varied text; large k gives fluent text copied from the corpus, because
most length-k contexts were seen only once and allow exactly one continuation (sparsity).
This trade-off is why n-gram models gave way to neural language models.

>>> chain = MarkovChain(order=2).fit(list("abracadabra"))
>>> chain.next_distribution(list("ab"))            # "ab" is always followed by "r"
{'r': 1.0}
>>> chain.next_distribution(list("ra"))            # "ra" then "c" once, and the corpus ends
{'c': 1.0}
>>> "".join(chain.sample(11, seed=0))
'abracadabra'

An order-k chain is an order-1 chain whose states are its k-token contexts, so it has a transition
matrix and a stationary distribution (core.lm.markov_matrix): the share of time a long sample spends in each state.

>>> chain = MarkovChain(order=1).fit("abracadabra")
>>> chain.states(), chain.stationary_distribution().round(3).tolist()   # 4 of the 10 letters before the last are "a"
(['a', 'b', 'c', 'd', 'r'], [0.4, 0.2, 0.1, 0.1, 0.2])

(A text that ends in the state it starts in has as stationary distribution exactly the states'
shares of its positions but the last: each visit to a state is followed by one departure.)

Counting is vectorised (NumPy), with memory O(corpus length) whatever k is: contexts are never
enumerated over the vocabulary, only over the positions of the corpus.
"""

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from core.errors import LabError
from core.lm.markov_matrix import stationary_distribution, transition_matrix

MAX_ORDER = 12  # beyond this every context in a real corpus is unique: the sample is a copy
MAX_CORPUS_TOKENS = 1_000_000  # longer corpora are cut here, so an upload can't take the page's memory
MAX_STATES = 2_000  # MarkovChain.transition_matrix is dense: 2,000 x 2,000 float64 is 32 MB, solved in ~1 s

Level = Literal["char", "word"]
_WORD = re.compile(r"\w+|[^\w\s]")  # words, and each punctuation mark as its own token


def corpus_tokens(text: str, level: Level, max_tokens: int = MAX_CORPUS_TOKENS) -> str | list[str]:
    """Characters (a string; whitespace runs become one space) or a list of words and punctuation marks."""
    if level == "char":
        return " ".join(text.split())[:max_tokens]  # split() is C-fast and drops every kind of whitespace run
    return _WORD.findall(text[: 20 * max_tokens])[:max_tokens]  # a token is rarely 20+ characters: no need to scan further


def detokenize(tokens: list[str], level: Level) -> str:
    """Tokens back to readable text (no space before punctuation in word mode)."""
    if level == "char":
        return "".join(tokens)
    return re.sub(r" ([.,;:!?%)\]}])", r"\1", " ".join(tokens)).replace("( ", "(")


def _rank(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(keys, return_inverse=True) for non-negative integers, by a lookup table when the
    key range is small (no sort: several times faster on a long corpus)."""
    top = int(keys.max()) + 1 if len(keys) else 0
    if top > max(8 * len(keys), 1 << 20):
        return np.unique(keys, return_inverse=True)
    seen = np.zeros(top, dtype=bool)
    seen[keys] = True
    rank = np.cumsum(seen) - 1
    return np.flatnonzero(seen), rank[keys]


def to_ids(tokens: str | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted vocabulary, token ids): integers are what NumPy counts fast."""
    if isinstance(tokens, str):  # characters: their code points are already integers
        codes = np.frombuffer(tokens.encode("utf-32-le"), dtype=np.uint32)
        vocab, ids = _rank(codes)
        return np.array([chr(c) for c in vocab]), ids.astype(np.int64)
    # Each token -> the position where it first occurs (dict.setdefault, driven by map at C speed),
    # then those positions ranked: ids in order of first occurrence, the same order as the dict's keys.
    index: dict[str, int] = {}
    first = np.fromiter(map(index.setdefault, tokens, itertools.count()), dtype=np.int64, count=len(tokens))
    _, ids = _rank(first)
    words = np.array(list(index))
    order = np.argsort(words)  # sorted vocabulary, so a token can be found by binary search
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return words[order], rank[ids]


def context_levels(ids: np.ndarray, V: int, depth: int, known: list = ()) -> list[tuple[np.ndarray, np.ndarray]]:
    """For j = 1..depth: (sorted keys, id of the length-j context starting at each position).

    Contexts are numbered one token at a time: the id of (t0..tj) is the rank of
    id(t0..tj-1) * V + tj among all such keys. Ranks keep lexicographic order, so a chain can
    find any context later by binary search, level by level (MarkovChain._context_id).
    `known` levels (computed earlier for the same ids) are reused and only the deeper ones added.
    """
    levels = list(known[:depth])
    ctx = levels[-1][1] if levels else np.zeros(len(ids), dtype=np.int64)
    for j in range(len(levels), depth):
        n = len(ids) - j
        keys, ctx = _rank(ctx[:n] * V + ids[j : j + n])
        levels.append((keys, ctx))
    return levels


class MarkovChain:
    """P(next token | previous `order` tokens), estimated by counting (maximum likelihood)."""

    def __init__(self, order: int = 2):
        if not 1 <= order <= MAX_ORDER:
            raise LabError(f"the order must be between 1 and {MAX_ORDER}, not {order}")
        self.order = order

    def fit(self, tokens: str | list[str]) -> "MarkovChain":
        """Count every (context, next token) pair of `tokens` (a string is a sequence of characters)."""
        return self._fit_encoded(*to_ids(tokens))

    def _fit_encoded(self, vocab: np.ndarray, ids: np.ndarray, levels: list | None = None) -> "MarkovChain":
        """Fit on encoded tokens; `levels` (from context_levels, any depth: missing ones are added) may be shared
        between the chains of several orders on one corpus, which then cost little more than one."""
        k = self.order
        if len(ids) <= k:
            raise LabError(f"an order-{k} chain needs more than {k} tokens of training text; this corpus has {len(ids)}")
        self.vocab, self.ids = vocab, ids
        V = len(self.vocab)
        # Level k numbers the (k+1)-grams, i.e. the (context, next token) pairs, sorted by context
        # then next token: counting them is a bincount, and the contexts are runs of equal prefix.
        levels = context_levels(ids, V, k + 1, levels or ())
        pairs, pair_at = levels[k]
        counts = np.bincount(pair_at, minlength=len(pairs))
        context_of_pair = pairs // V  # the pair's context, as numbered at level k - 1 (non-decreasing)
        starts = np.flatnonzero(np.r_[True, context_of_pair[1:] != context_of_pair[:-1]])
        # keep only the contexts some token follows (not the corpus's last one), for lookups
        self._level_keys = [keys for keys, _ in levels[: k - 1]] + [levels[k - 1][0][context_of_pair[starts]]]
        self.next_ids, self.next_counts = pairs % V, counts  # grouped by context, in context order
        self.indptr = np.r_[starts, len(pairs)]
        self.context_counts = np.add.reduceat(counts, starts)
        return self

    @property
    def n_contexts(self) -> int:
        return len(self.context_counts)

    def _context_id(self, context_ids) -> int:
        """Row of this context in the count tables, or -1 if it was never seen."""
        c = 0
        for keys, t in zip(self._level_keys, context_ids):
            key = c * len(self.vocab) + t
            c = int(np.searchsorted(keys, key))
            if c == len(keys) or keys[c] != key:
                return -1
        return c

    def next_distribution(self, context: list[str]) -> dict[str, float]:
        """P(next | context) for a context of `order` tokens ({} for a context never seen)."""
        if len(context) != self.order:
            raise LabError(f"the context must be {self.order} tokens long")
        where = np.searchsorted(self.vocab, context)
        if (where >= len(self.vocab)).any() or (self.vocab[np.minimum(where, len(self.vocab) - 1)] != np.asarray(context)).any():
            return {}
        c = self._context_id(where)
        if c < 0:
            return {}
        lo, hi = self.indptr[c], self.indptr[c + 1]
        return {str(self.vocab[t]): float(n / self.context_counts[c]) for t, n in zip(self.next_ids[lo:hi], self.next_counts[lo:hi])}

    def sample(self, n_tokens: int, seed: int = 0) -> list[str]:
        """n_tokens tokens: start where the corpus has a random context, then draw each next token.

        A context with no continuation (the corpus's last one) restarts from a random position.
        """
        rng = np.random.default_rng(seed)
        k = self.order
        start = int(rng.integers(0, len(self.ids) - k))
        out = list(self.ids[start : start + k])
        while len(out) < n_tokens:
            c = self._context_id(out[-k:])
            lo, hi = (self.indptr[c], self.indptr[c + 1]) if c >= 0 else (0, 0)
            if lo == hi:  # dead end: jump to a random context of the corpus
                start = int(rng.integers(0, len(self.ids) - k))
                out.extend(self.ids[start : start + k])
                continue
            cumulative = np.cumsum(self.next_counts[lo:hi])
            out.append(int(self.next_ids[lo + np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")]))
        return [str(self.vocab[t]) for t in out[:n_tokens]]

    def sparsity(self) -> dict[str, float]:
        """How thinly the corpus covers the contexts: the numbers behind "coherent but copied"."""
        successors = np.diff(self.indptr)
        return {
            "contexts": float(self.n_contexts),
            "seen once": float(np.mean(self.context_counts == 1)),  # share of contexts seen exactly once
            "one continuation": float(np.mean(successors == 1)),  # share whose next token is certain
            "mean continuations": float(successors.mean()),
        }

    # As a matrix. The state of an order-k chain is its last k tokens: after (a, b) and then c it is in
    # (b, c), an order-1 chain over contexts. For order 1 the states are simply the tokens.

    def _state_path(self) -> tuple[np.ndarray, int]:
        """The state (the length-`order` context) at each position of the corpus, numbered 0..S-1 in
        lexicographic order, and S. Recounted here: the fitted tables keep only the contexts with a successor."""
        keys, path = context_levels(self.ids, len(self.vocab), self.order)[-1]
        return path, len(keys)

    def states(self) -> list:
        """The states in the order of transition_matrix(): tokens for order 1, else tuples of `order` tokens."""
        path, _ = self._state_path()
        first = np.unique(path, return_index=True)[1]  # where each state first occurs
        tokens = self.vocab[self.ids[first[:, None] + np.arange(self.order)]]
        return [str(t[0]) for t in tokens] if self.order == 1 else [tuple(map(str, t)) for t in tokens]

    def transition_matrix(self) -> np.ndarray:
        """P[i, j] = P(next state j | state i) over states(): exactly the process `sample` runs.

        Row i holds next_distribution(state i), each next token t placed at the state (state i[1:], t).
        The corpus's last context, if nothing follows it anywhere, gets the row of sample's restart:
        the context at a random position. Dense, so refused beyond MAX_STATES states.
        """
        path, S = self._state_path()
        if S > MAX_STATES:
            raise LabError(f"this order-{self.order} chain has {S:,} states ({'tokens' if self.order == 1 else 'contexts'}); "
                           f"a dense transition matrix is kept for at most {MAX_STATES:,}: choose a lower order or a smaller corpus")
        restart = np.bincount(path[:-1], minlength=S) / (len(path) - 1)  # sample()'s jump: a uniform start position
        return transition_matrix(path, S, dead_end=restart)

    def stationary_distribution(self) -> np.ndarray:
        """pi over states() with pi P = pi: the share of its time a long sample spends in each state.

        Unique, because every state of a chain counted from one text leads to the text's last state.
        """
        return stationary_distribution(self.transition_matrix())


SHARED_DEPTH = 6  # n-grams up to this length are numbered once per text and shared by the orders 1..5


@lru_cache(maxsize=2)
def _encoded(text: str, level: Level) -> tuple[np.ndarray, np.ndarray, list]:
    """Tokens as ids, and their context levels: shared by the chains of every order on one text (read-only)."""
    vocab, ids = to_ids(corpus_tokens(text, level))
    return vocab, ids, context_levels(ids, len(vocab), min(SHARED_DEPTH, len(ids) - 1))


def fit_chain(text: str, level: Level, order: int) -> MarkovChain:
    """An order-`order` chain over the characters or words of `text` (one call, easy to cache)."""
    return MarkovChain(order)._fit_encoded(*_encoded(text, level))


@dataclass
class OrderSample:
    order: int
    text: str  # a sample, detokenized
    sparsity: dict[str, float]
    error: str = ""  # why this order could not be fitted (e.g. the corpus is too short for it)


def compare_orders(chain_of_order: Callable[[int], MarkovChain], level: Level, orders=range(1, 6), n_tokens: int = 300,
                   seed: int = 0) -> list[OrderSample]:
    """Sample the chain of each order (made by `chain_of_order(k)`): coherence against sparsity.

    >>> samples = compare_orders(lambda k: fit_chain("abracadabra", "char", k), "char", orders=(2, 20), n_tokens=11)
    >>> samples[0].text, round(samples[0].sparsity["seen once"], 2)   # 5 of its 7 contexts occur once
    ('abracadabra', 0.71)
    >>> samples[1].error
    'the order must be between 1 and 12, not 20'
    """
    results = []
    for k in orders:
        try:
            chain = chain_of_order(k)
        except LabError as e:
            results.append(OrderSample(k, "", {}, str(e)))
            continue
        results.append(OrderSample(k, detokenize(chain.sample(n_tokens, seed), level), chain.sparsity()))
    return results
