"""core.lm.cooccurrence: counts against a plain double loop, PPMI worked by hand, the SVD against scikit-learn's TruncatedSVD."""

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.infra import data
from core.lm import cooccurrence as co
from core.lm.word_corpus import Vocabulary, tokenized_sentences
from core.lm.word_vectors import WordVectors

MANUAL = tokenized_sentences(data.python_docs_text())


def random_corpus(seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(12)]
    return [list(rng.choice(words, rng.integers(1, 9), p=np.arange(12, 0, -1) / 78)) for _ in range(60)]


def loop_counts(sentences, vocab: Vocabulary, window: int, harmonic: bool) -> np.ndarray:
    """The definition, one pair at a time: dropped words leave the sentence first, then every pair within the window counts."""
    index = vocab.index
    counts = np.zeros((len(vocab), len(vocab)))
    for sentence in sentences:
        kept = [index[w] for w in sentence if w in index]
        for i, a in enumerate(kept):
            for j, b in enumerate(kept):
                if i != j and abs(i - j) <= window:
                    counts[a, b] += 1 / abs(i - j) if harmonic else 1
    return counts


@pytest.mark.parametrize("window", [1, 2, 5])
@pytest.mark.parametrize("weighting", ["uniform", "harmonic"])
def test_counts_equal_the_double_loop(window, weighting):
    sentences = random_corpus(window)
    vocab = Vocabulary.build(sentences, min_count=8)  # some words dropped: windows reach past them
    assert len(vocab) < 12
    counts = co.cooccurrence(*vocab.encode(sentences), len(vocab), window, weighting)
    np.testing.assert_allclose(counts.toarray(), loop_counts(sentences, vocab, window, weighting == "harmonic"), atol=1e-12)


def test_ppmi_by_hand():
    counts = np.array([[0, 4, 1], [4, 0, 0], [1, 0, 2]], dtype=float)
    total, rows, cols = counts.sum(), counts.sum(1), counts.sum(0)
    for alpha in (1.0, 0.75):
        got = co.ppmi(co.sparse.csr_matrix(counts), alpha).toarray()
        p_context = cols**alpha / (cols**alpha).sum()
        for w, c in [(0, 1), (0, 2), (2, 2), (1, 0)]:
            expected = max(np.log((counts[w, c] / total) / (rows[w] / total * p_context[c])), 0)
            assert got[w, c] == pytest.approx(expected, abs=1e-12)
        assert got[1, 2] == 0 and got[0, 0] == 0  # never seen together: PMI = −∞, PPMI = 0
    # word 1 occurs only beside word 0: P(1, 0) = 4/12, P(1) = 4/12, P(0) = 5/12, so PMI = log((4/12) / (4/12 · 5/12)) = log(12/5)
    assert co.ppmi(co.sparse.csr_matrix(counts), 1.0)[1, 0] == pytest.approx(np.log(12 / 5), abs=1e-12)


@pytest.mark.parametrize("k", [2, 10, 50])
def test_svd_vectors_equal_truncated_svd_up_to_sign(k):
    result = co.fit(co.CountVectorsConfig(dim=k, max_vocab=400), MANUAL)
    ref = TruncatedSVD(n_components=k, algorithm="arpack", random_state=0)
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: BLAS threads only fight on a shared machine
        expected = ref.fit_transform(result.ppmi)
        s = np.linalg.svd(result.ppmi.toarray(), compute_uv=False)
    np.testing.assert_allclose(result.singular_values, ref.singular_values_, rtol=1e-10)
    signs = np.sign((result.vectors * expected).sum(0))  # each direction may be flipped as a whole, nothing more
    np.testing.assert_allclose(result.vectors, expected * signs, atol=1e-9)
    # and against the exact SVD of the dense matrix
    np.testing.assert_allclose(result.singular_values, s[:k], rtol=1e-9)
    assert result.energy_kept == pytest.approx((s[:k] ** 2).sum() / (s**2).sum(), rel=1e-9)


def test_svd_signs_follow_scikit_learns_rule():
    _, _, vt = co.truncated_svd(co.fit(co.CountVectorsConfig(dim=5, max_vocab=300), MANUAL).ppmi, 5)
    assert (vt[np.arange(5), np.abs(vt).argmax(1)] > 0).all()


def test_matrix_cells_are_the_matrices_entries():
    result = co.fit(co.CountVectorsConfig(), MANUAL)
    cells = co.matrix_cells(result, ["list", "function"], n_contexts=6)
    index = result.vocab.index
    assert len(cells) == 12
    for r in cells.itertuples():
        assert r.count == result.counts[index[r.word], index[r.context]]
        assert r.ppmi == result.ppmi[index[r.word], index[r.context]]


def test_similar_words_end_up_close_in_the_manual():
    result = co.fit(co.CountVectorsConfig(), MANUAL)
    vectors = WordVectors("PPMI + SVD", result.vocab.words, result.vectors)
    assert vectors.similarity("list", "tuple") > vectors.similarity("list", "exception")
    assert "tuple" in vectors.neighbours("list", k=5).word.tolist()


def test_bad_input_says_what_to_change():
    with pytest.raises(LabError, match="lower the dimension"):
        co.fit(co.CountVectorsConfig(dim=20, min_count=1), [["one", "two", "three"], ["three", "four"]])
    with pytest.raises(LabError, match="at least 1 word"):
        co.fit(co.CountVectorsConfig(window=0), MANUAL)
    with pytest.raises(LabError, match="lower the minimum count"):
        co.fit(co.CountVectorsConfig(min_count=10**6), MANUAL)
    with pytest.raises(LabError, match="no two of the"):  # every sentence a single kept word
        co.fit(co.CountVectorsConfig(min_count=1, dim=1), [["alpha"], ["beta"], ["gamma"]])
    with pytest.raises(LabError, match="smoothing exponent"):
        co.fit(co.CountVectorsConfig(alpha=0.0), MANUAL)
