"""A synthetic text source whose true entropy rate is known exactly.

Real text has an unknown entropy rate, so we can never say how close a language model is to
the best possible one. This source can: it is an order-k Markov chain over a small word
vocabulary in which every context allows only a few next words. Its entropy rate is

    H = sum over contexts s of  pi(s) * H(next word | s)        (bits per token)

where pi is the stationary distribution of the chain over contexts. We compute pi by solving
pi P = pi exactly (a linear system), not by sampling, and we start sampling from pi, so the
text is a stationary process whose per-token entropy is exactly H. A model of order >= k can
approach H on held-out text; no model can beat it.

>>> src = MarkovSource(SourceConfig(vocab_size=8, order=2, branching=2, seed=0))
>>> round(src.entropy_rate, 4) <= 1.0     # at most log2(branching) bits per token
True
>>> len(src.sample(50, seed=1).split())
50
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from core.errors import LabError
from core.foundations.information import entropy
from core.lm.markov_matrix import stationary_distribution

# The stationary distribution is solved exactly, as a dense linear system over the contexts:
# 4,096 of them (16 words, order 3) take ~3 s and a few hundred MB; 26 words of order 3 make
# 17,576, ~5 minutes and several GB. (Sparse LU fills in nearly as much on these random chains,
# and power iteration crawls, or stalls, on peaked ones.)
MAX_CONTEXTS = 4096

# Short, real English words, so samples look like (odd) text and tokenise like text.
WORDS = (
    "the a cat dog bird sat ran saw ate on under near big small red old happy tree house river "
    "and then quietly slowly mat fish"
).split()


@dataclass(frozen=True)
class SourceConfig:
    vocab_size: int = 16  # distinct words (at most len(WORDS))
    order: int = 2  # k: the next word depends on the previous k words
    branching: int = 3  # next words allowed after each context (sparsity)
    concentration: float = 1.0  # Dirichlet alpha for the next-word probabilities (low = peaked)
    seed: int = 0


class MarkovSource:
    def __init__(self, config: SourceConfig = SourceConfig()):
        c = config
        if not 1 <= c.branching <= c.vocab_size <= len(WORDS):
            raise ValueError(f"need 1 <= branching <= vocab_size <= {len(WORDS)}")
        if not 1 <= c.order <= 4:
            raise ValueError("order must be 1..4 (the context space grows as vocab_size**order)")
        if c.vocab_size**c.order > MAX_CONTEXTS:
            raise LabError(f"{c.vocab_size} words with {c.order} words of memory make {c.vocab_size**c.order:,} contexts; "
                           f"the exact entropy rate is solved for up to {MAX_CONTEXTS:,}. Use fewer words or less memory.")
        self.config = c
        self.words = WORDS[: c.vocab_size]
        rng = np.random.default_rng(c.seed)
        n_ctx = c.vocab_size**c.order
        # next_words[s] are the allowed successors of context s, next_probs[s] their probabilities
        self.next_words = np.stack([rng.choice(c.vocab_size, c.branching, replace=False) for _ in range(n_ctx)])
        self.next_probs = rng.dirichlet([c.concentration] * c.branching, size=n_ctx)

    # A context (w1..wk) is the base-V number w1*V^(k-1) + ... + wk; appending w drops w1.
    def shift(self, ctx: np.ndarray | int, word: np.ndarray | int):
        """The context after `word` follows context `ctx`."""
        v = self.config.vocab_size
        return (ctx * v) % (v**self.config.order) + word

    def context_ids(self, ctx: int) -> list[int]:
        """The k word ids of a context, oldest first."""
        v = self.config.vocab_size
        return [(ctx // v**i) % v for i in reversed(range(self.config.order))]

    @cached_property
    def transition(self) -> csr_matrix:
        """Sparse context-to-context transition matrix P, P[s, s'] = p(s' | s)."""
        n_ctx, b = self.next_words.shape
        rows = np.repeat(np.arange(n_ctx), b)
        cols = self.shift(rows, self.next_words.ravel())
        return csr_matrix((self.next_probs.ravel(), (rows, cols)), shape=(n_ctx, n_ctx))

    @cached_property
    def recurrent_states(self) -> np.ndarray:
        """The contexts the chain keeps visiting forever: the closed strongly-connected class.

        Contexts outside it are visited at most a few times and carry no stationary mass. With
        several closed classes we keep the largest one (and sample inside it).
        """
        edges = self.transition.tocoo()
        n, labels = connected_components(edges, directed=True, connection="strong")
        leaky = np.unique(labels[edges.row[labels[edges.row] != labels[edges.col]]])  # classes with a way out
        closed = np.setdiff1d(np.arange(n), leaky)
        largest = closed[np.argmax(np.bincount(labels, minlength=n)[closed])]
        return np.flatnonzero(labels == largest)

    @cached_property
    def stationary(self) -> np.ndarray:
        """pi over all contexts: solved on the recurrent class (core.lm.markov_matrix), zero outside it."""
        states = self.recurrent_states
        pi = np.zeros(self.transition.shape[0])
        pi[states] = stationary_distribution(self.transition[states][:, states].toarray())
        return pi

    @cached_property
    def entropy_rate(self) -> float:
        """Exact entropy rate in bits per token: sum_s pi(s) H(next | s)."""
        return float(self.stationary @ entropy(self.next_probs))  # H(next | s) for every context s at once

    @cached_property
    def entropy_rate_per_character(self) -> float:
        """The exact entropy rate of the TEXT, in bits per character (spaces included): the floor for
        character- and byte-level models (every word is ASCII, so a character is a byte).

        `sample` writes the words separated by spaces, a code that reads back unambiguously, so the
        characters carry exactly the words' information: H divided by the expected characters per
        word, len(word) + 1 for its space, under the stationary distribution of the latest word.
        """
        latest_word = np.arange(len(self.stationary)) % self.config.vocab_size  # a context's last word
        chars = np.array([len(w) + 1 for w in self.words])[latest_word]
        return self.entropy_rate / float(self.stationary @ chars)

    def sample_ids(self, n_tokens: int, seed: int = 0) -> np.ndarray:
        """n_tokens word ids from the stationary process (the first k are the starting context)."""
        rng = np.random.default_rng(seed)
        k = self.config.order
        ctx = int(rng.choice(len(self.stationary), p=self.stationary))
        out = np.empty(max(n_tokens, k), dtype=np.int64)
        out[:k] = self.context_ids(ctx)
        cum = np.cumsum(self.next_probs, axis=1)
        u = rng.random(len(out))
        for t in range(k, len(out)):
            word = self.next_words[ctx, np.searchsorted(cum[ctx], u[t] * cum[ctx, -1])]
            out[t] = word
            ctx = self.shift(ctx, word)
        return out[:n_tokens]

    def sample(self, n_tokens: int, seed: int = 0) -> str:
        """n_tokens words of text, space-separated."""
        return " ".join(self.words[i] for i in self.sample_ids(n_tokens, seed))

