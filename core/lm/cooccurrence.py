"""Count-based word vectors: co-occurrence counts, PPMI, and a truncated SVD that makes them dense.

"You shall know a word by the company it keeps" (Firth, 1957). Count how often every pair of words
appears within `window` words of each other in a sentence; row w of that matrix describes w by its
neighbours. Raw counts are ruled by frequent words ("the" is near everything), so each cell is
reweighed by how much more often the pair occurs than chance would have it, keeping the positive part
(positive pointwise mutual information):

    PMI(w, c) = log( P(w, c) / (P(w) · P_α(c)) ),        PPMI(w, c) = max(PMI(w, c), 0)
    P(w, c) = #(w, c) / N,   P(w) = #(w, ·) / N,   P_α(c) = #(·, c)^α / Σ_c' #(·, c')^α

with N the sum of all counts and α = 0.75 smoothing the context distribution as word2vec's noise
does (Levy, Goldberg & Dagan, 2015); α = 1 is plain PPMI. A PPMI row is as long as the vocabulary
and mostly zeros. A truncated SVD keeps the k directions that hold the most of its energy:

    PPMI ≈ U_k Σ_k V_kᵀ,      vector(w) = row w of U_k Σ_k

which is scikit-learn's `TruncatedSVD(k).fit_transform(PPMI)` (tests/core/test_cooccurrence.py
compares the two up to the sign of each direction, which an SVD leaves free).

>>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]]
>>> vocab = Vocabulary.build(sentences)
>>> counts = cooccurrence(*vocab.encode(sentences), len(vocab), window=1)
>>> vocab.words, counts.toarray().astype(int).tolist()        # 'sat' follows 'cat' once and 'dog' once
(['the', 'sat', 'cat', 'dog'], [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]])
>>> round(float(ppmi(counts, alpha=1.0)[0, 2]), 3)              # log(1/8 / (2/8 · 2/8)) = log 2
0.693
"""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import svds
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.lm.word_corpus import Vocabulary


@dataclass(frozen=True)
class CountVectorsConfig:
    window: int = 4  # context words counted on each side of a word, within its sentence
    weighting: Literal["uniform", "harmonic"] = "uniform"  # harmonic: a word d steps away counts 1/d (as GloVe does)
    min_count: int = 5  # words seen fewer times are dropped before counting
    max_vocab: int = 2_000  # at most this many of the most frequent words (rows and columns of the matrix)
    alpha: float = 0.75  # context-distribution smoothing: 1 = plain PPMI, 0.75 = word2vec's choice
    dim: int = 50  # k, the length of the dense vectors the SVD keeps
    seed: int = 0  # ARPACK's random start vector (the result does not depend on it beyond rounding)


@dataclass
class CountVectors:
    config: CountVectorsConfig
    vocab: Vocabulary
    counts: sparse.csr_matrix = field(repr=False)  # (V, V) co-occurrence counts, symmetric
    ppmi: sparse.csr_matrix = field(repr=False)  # (V, V) positive PMI
    vectors: np.ndarray = field(repr=False)  # (V, dim) rows of U_k Σ_k
    singular_values: np.ndarray  # (dim,) largest first
    energy: float  # ‖PPMI‖²_F, the total the singular values squared add up to over all directions

    @property
    def energy_kept(self) -> float:
        """Share of PPMI's squared Frobenius norm the k directions keep: Σ_{i≤k} σ_i² / Σ_i σ_i²."""
        return float((self.singular_values**2).sum() / self.energy) if self.energy else 0.0


def cooccurrence(ids: np.ndarray, sentence_ids: np.ndarray, n_words: int, window: int,
                 weighting: Literal["uniform", "harmonic"] = "uniform") -> sparse.csr_matrix:
    """#(w, c): how often c appears within `window` tokens of w in the same sentence (symmetric).

    One pass per distance d = 1..window pairs every token with the one d places later.
    """
    if window < 1:
        raise LabError(f"the window must be at least 1 word (got {window})")
    counts = sparse.csr_matrix((n_words, n_words))
    for d in range(1, window + 1):  # one distance at a time: a 5 MB text never holds all its pairs at once
        same = sentence_ids[:-d] == sentence_ids[d:]
        left, right = ids[:-d][same], ids[d:][same]
        w = np.full(2 * len(left), 1.0 if weighting == "uniform" else 1.0 / d)
        counts += sparse.csr_matrix((w, (np.concatenate([left, right]), np.concatenate([right, left]))), shape=(n_words, n_words))
    return counts


def ppmi(counts: sparse.csr_matrix, alpha: float = 0.75) -> sparse.csr_matrix:
    """max(log(P(w, c) / (P(w) P_α(c))), 0) for every counted pair; uncounted pairs stay 0 (PMI = −∞)."""
    if not 0.0 < alpha <= 1.0:
        raise LabError(f"the smoothing exponent α must be in (0, 1] (got {alpha})")
    c = counts.tocoo()
    total = c.data.sum()
    p_word = np.asarray(counts.sum(axis=1)).ravel() / total
    context = np.asarray(counts.sum(axis=0)).ravel() ** alpha
    p_context = context / context.sum()
    pmi = np.log(c.data / total) - np.log(p_word[c.row]) - np.log(p_context[c.col])
    keep = pmi > 0
    return sparse.csr_matrix((pmi[keep], (c.row[keep], c.col[keep])), shape=counts.shape)


def truncated_svd(matrix: sparse.csr_matrix, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U_k Σ_k, σ, V_kᵀ) of the k largest singular values, largest first, by ARPACK (scipy's svds).

    Each direction's sign is fixed as scikit-learn fixes it: the largest |entry| of each row of V_kᵀ positive.
    """
    n = min(matrix.shape)
    if not 1 <= k < n:
        raise LabError(f"the SVD can keep 1 to {n - 1} dimensions for {n} words (asked for {k}): lower the dimension")
    v0 = np.random.default_rng(seed).uniform(-1, 1, n)  # the run's own start vector, as TruncatedSVD draws it
    with threadpool_limits(limits=1, user_api="blas"):  # ARPACK's small products: threads only fight (5x slower on 2 busy cores)
        u, s, vt = svds(matrix.astype(np.float64), k=k, v0=v0)
    u, s, vt = u[:, ::-1], s[::-1], vt[::-1]  # svds returns the smallest first
    signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt), axis=1)])
    return u * s * signs, s.copy(), vt * signs[:, None]


def count(config: CountVectorsConfig, sentences: list[list[str]]) -> tuple[Vocabulary, sparse.csr_matrix]:
    """Sentences → vocabulary → co-occurrence counts (uses window, weighting, min_count and max_vocab only)."""
    vocab = Vocabulary.build(sentences, config.min_count, config.max_vocab)
    ids, sentence_ids = vocab.encode(sentences)
    counts = cooccurrence(ids, sentence_ids, len(vocab), config.window, config.weighting)
    if counts.nnz == 0:
        raise LabError(f"no two of the {len(vocab)} kept words are within {config.window} words of each other in a sentence: "
                       "use a longer text, a wider window or a lower minimum count")
    return vocab, counts


def from_counts(config: CountVectorsConfig, vocab: Vocabulary, counts: sparse.csr_matrix) -> CountVectors:
    """Counts → PPMI → dense vectors (uses alpha, dim and seed only)."""
    weights = ppmi(counts, config.alpha)
    if weights.nnz == 0:
        raise LabError("every pair occurs as often as chance predicts (all PMI ≤ 0): use a longer text")
    vectors, s, _ = truncated_svd(weights, config.dim, config.seed)
    return CountVectors(config, vocab, counts, weights, vectors, s, float(weights.multiply(weights).sum()))


def fit(config: CountVectorsConfig, sentences: list[list[str]]) -> CountVectors:
    """Sentences → vocabulary → co-occurrence counts → PPMI → dense vectors."""
    return from_counts(config, *count(config, sentences))


def matrix_cells(result: CountVectors, words: list[str], n_contexts: int = 12) -> pd.DataFrame:
    """(word, context, count, ppmi) for the given words and the contexts with the largest PPMI among them."""
    index = result.vocab.index
    rows = [index[w] for w in words]
    strongest = np.asarray(result.ppmi[rows].max(axis=0).todense()).ravel()
    cols = [j for j in np.argsort(-strongest, kind="stable")[:n_contexts] if strongest[j] > 0]
    counts, weights = result.counts[rows][:, cols].toarray(), result.ppmi[rows][:, cols].toarray()
    contexts = [result.vocab.words[j] for j in cols]
    return pd.DataFrame({"word": np.repeat(words, len(cols)), "context": np.tile(contexts, len(rows)),
                         "count": counts.ravel(), "ppmi": weights.ravel()})
