"""Exploring word vectors: nearest neighbours, analogies, and a 2-D map.

Whatever made them (PPMI + SVD, word2vec, or a transformer's input embedding table), word vectors
are compared by the cosine of the angle between them:

    cos(a, b) = a · b / (‖a‖ ‖b‖)

**Neighbours** of w: the words with the largest cosine to w. **Analogy** "a is to b as c is to ?",
written a − b + c (king − man + woman): the word closest to the sum of the unit vectors
â − b̂ + ĉ, the three input words left out, as gensim's `most_similar(positive=[a, c], negative=[b])`
computes it (3CosAdd, Mikolov et al. 2013). A **map**: the vectors squeezed to two dimensions by
PCA (the two directions of largest variance: distances far apart are kept) or t-SNE (neighbours
kept together, distances between clusters meaningless).

>>> wv = WordVectors("toy", ["king", "queen", "man", "woman"], np.array([[1.0, 1.0], [1.0, -1.0], [0.2, 1.0], [0.2, -1.0]]))
>>> wv.neighbours("king", k=2).word.tolist()
['man', 'queen']
>>> wv.analogy("king", "man", "woman", k=1).word.tolist()          # king − man + woman
['queen']
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core.errors import LabError

MAX_MAP_WORDS = 1_000  # t-SNE on more points takes longer than a learner should wait


@dataclass(frozen=True)
class WordVectors:
    name: str  # where they come from, for the page ("PPMI + SVD", "word2vec", ...)
    words: list[str]
    vectors: np.ndarray = field(repr=False)  # (V, d), row i belongs to words[i]

    @cached_property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    @cached_property
    def unit(self) -> np.ndarray:
        """Each row scaled to length 1 (an all-zero row stays zero: it is at angle 'undefined' to all, cosine 0)."""
        v = self.vectors.astype(np.float64)
        lengths = np.linalg.norm(v, axis=1, keepdims=True)
        return np.divide(v, lengths, out=np.zeros_like(v), where=lengths > 0)

    def row(self, word: str) -> int:
        """The row of `word` (case and surrounding spaces ignored), or a LabError saying why there is none."""
        key = word.strip().lower()
        if not key:
            raise LabError("type a word")
        if key not in self.index:
            raise LabError(f"'{word.strip()[:60]}' is not in the vocabulary of {self.name} ({len(self.words):,} words); "
                           "try another word, or a lower minimum count when training")
        return self.index[key]

    def _ranked(self, direction: np.ndarray, exclude: set[int], k: int) -> pd.DataFrame:
        with threadpool_limits(limits=1, user_api="blas"):  # one matrix-vector product: threads only wait on a busy machine
            sims = self.unit @ direction
        sims[list(exclude)] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        top = top[np.isfinite(sims[top])]
        return pd.DataFrame({"rank": range(1, len(top) + 1), "word": [self.words[i] for i in top], "cosine": sims[top]})

    def neighbours(self, word: str, k: int = 10) -> pd.DataFrame:
        """The k words with the largest cosine to `word` (itself left out)."""
        i = self.row(word)
        return self._ranked(self.unit[i], {i}, k)

    def analogy(self, a: str, b: str, c: str, k: int = 5) -> pd.DataFrame:
        """a − b + c: the k words nearest to unit(â − b̂ + ĉ), leaving a, b and c out (gensim's most_similar)."""
        ia, ib, ic = self.row(a), self.row(b), self.row(c)
        direction = (self.unit[ia] - self.unit[ib] + self.unit[ic]) / 3
        length = np.linalg.norm(direction)
        if length == 0:
            raise LabError(f"{a} − {b} + {c} is the zero vector here, so no word is nearest; try other words")
        return self._ranked(direction / length, {ia, ib, ic}, k)

    def similarity(self, a: str, b: str) -> float:
        return float(self.unit[self.row(a)] @ self.unit[self.row(b)])


def project(vectors: WordVectors, words: list[str], method: Literal["pca", "tsne"] = "pca", seed: int = 0) -> pd.DataFrame:
    """(word, x, y) for each of `words` (unknown ones skipped), by PCA or t-SNE of their unit vectors."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rows = list(dict.fromkeys(vectors.index[w] for w in (w.strip().lower() for w in words) if w in vectors.index))
    if len(rows) < 3:
        raise LabError("a map needs at least 3 words of the vocabulary")
    if len(rows) > MAX_MAP_WORDS:
        raise LabError(f"{len(rows):,} words are too many for one map; the limit is {MAX_MAP_WORDS:,}")
    x = vectors.unit[rows]
    with threadpool_limits(limits=1):  # BLAS and t-SNE's OpenMP: on a busy 2-core machine threads only wait (1.4 s vs 10-20 s)
        if method == "pca":
            xy = PCA(n_components=2, svd_solver="full").fit_transform(x)
        elif method == "tsne":
            xy = TSNE(n_components=2, perplexity=min(30.0, (len(rows) - 1) / 3), init="pca", metric="cosine",
                      random_state=seed, n_jobs=1).fit_transform(x)
        else:
            raise LabError(f"a map is made by 'pca' or 'tsne', not {method!r}")
    return pd.DataFrame({"word": [vectors.words[i] for i in rows], "x": xy[:, 0], "y": xy[:, 1]})


# ----------------------------------------------------------------------------- comparing two sets of vectors


def neighbour_overlap(a: WordVectors, b: WordVectors, probes: list[str], k: int = 10) -> float:
    """Mean share of the k nearest neighbours two sets of vectors agree on, over the probe words both know."""
    shared = [p for p in probes if p in a.index and p in b.index]
    if not shared:
        raise LabError("no probe word is in both vocabularies")
    return float(np.mean([len(set(a.neighbours(p, k).word) & set(b.neighbours(p, k).word)) / k for p in shared]))


def analogy_accuracy(vectors: WordVectors, analogies: list[tuple[str, str, str, str]]) -> tuple[float, pd.DataFrame]:
    """Share of analogies (a, b, c, d) whose top answer to a − b + c is d; ones with an unknown word count as wrong."""
    rows = []
    for a, b, c, d in analogies:
        try:
            answer = vectors.analogy(a, b, c, k=1).word.iloc[0]
        except (LabError, IndexError):
            answer = None
        rows.append({"analogy": f"{a} − {b} + {c}", "expected": d, "answer": answer, "correct": answer == d})
    table = pd.DataFrame(rows)
    return float(table.correct.mean()) if rows else 0.0, table


def encoder_input_vectors(encoder, name: str = "MiniLM's input embeddings") -> WordVectors:
    """A BERT-style encoder's token embedding table, keeping whole-word tokens (letters only, two or more).

    These are the vectors the encoder looks up before any attention: one per token, context-free,
    learned along with the whole model. Word pieces ("##ing") and special tokens are left out.
    """
    vocab = encoder.tokenizer.get_vocab()
    table = encoder.model.get_input_embeddings().weight.detach().cpu().numpy()
    kept = sorted((i, t) for t, i in vocab.items() if t.isalpha() and len(t) > 1 and t.isascii())
    return WordVectors(name, [t for _, t in kept], table[[i for i, _ in kept]].astype(np.float32))
