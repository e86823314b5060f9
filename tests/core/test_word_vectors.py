"""core.lm.word_vectors: neighbours and analogies against gensim's KeyedVectors holding the same vectors; maps; bad words."""

import numpy as np
import pytest
from gensim.models import KeyedVectors
from sklearn.decomposition import PCA

from core.errors import LabError
from core.lm.word_vectors import WordVectors, analogy_accuracy, neighbour_overlap, project

rng = np.random.default_rng(0)
WORDS = [f"w{i}" for i in range(300)]
VECTORS = WordVectors("random", WORDS, rng.normal(size=(300, 20)).astype(np.float32))


def keyed(vectors: WordVectors) -> KeyedVectors:
    kv = KeyedVectors(vector_size=vectors.vectors.shape[1])
    kv.add_vectors(vectors.words, vectors.vectors)
    return kv


@pytest.mark.parametrize("word", ["w0", "w17", "w299"])
def test_neighbours_equal_gensims_most_similar(word):
    ref = keyed(VECTORS).most_similar(word, topn=10)
    got = VECTORS.neighbours(word, k=10)
    assert got.word.tolist() == [w for w, _ in ref]
    np.testing.assert_allclose(got.cosine, [s for _, s in ref], atol=1e-6)


@pytest.mark.parametrize("a, b, c", [("w0", "w1", "w2"), ("w5", "w50", "w150"), ("w10", "w10", "w11")])
def test_analogy_equals_gensims_3cosadd_leaving_the_inputs_out(a, b, c):
    ref = keyed(VECTORS).most_similar(positive=[a, c], negative=[b], topn=5)
    got = VECTORS.analogy(a, b, c, k=5)
    assert got.word.tolist() == [w for w, _ in ref]
    np.testing.assert_allclose(got.cosine, [s for _, s in ref], atol=1e-6)
    assert not {a, b, c} & set(got.word)


def test_a_zero_vector_is_at_cosine_zero_to_everything():
    vectors = WordVectors("z", ["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]))
    assert vectors.similarity("a", "b") == 0.0
    assert vectors.neighbours("b", k=2).cosine.tolist() == [0.0, 0.0]


def test_unknown_empty_and_odd_words_are_refused_with_a_reason():
    for bad in ("zebra", "🙂", "\u202eabc", "<b>w1</b>", "w1\x00", "x" * 20_000):
        with pytest.raises(LabError, match="not in the vocabulary"):
            VECTORS.neighbours(bad)
    for blank in ("", "   "):
        with pytest.raises(LabError, match="type a word"):
            VECTORS.analogy("w1", blank, "w2")
    assert VECTORS.neighbours("  W3 ").word.iloc[0] != "w3"  # case and spaces ignored, the word itself left out


def test_pca_map_is_scikit_learns_pca_of_the_unit_vectors():
    words = WORDS[:40] + ["unknown"]
    got = project(VECTORS, words, "pca")
    assert got.word.tolist() == WORDS[:40]
    x = VECTORS.vectors[:40].astype(np.float64)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    ref = PCA(2, svd_solver="full").fit_transform(unit)
    np.testing.assert_allclose(np.abs(got[["x", "y"]].to_numpy()), np.abs(ref), atol=1e-9)


def test_tsne_map_is_seeded():
    a, b = project(VECTORS, WORDS[:30], "tsne", seed=3), project(VECTORS, WORDS[:30], "tsne", seed=3)
    np.testing.assert_array_equal(a[["x", "y"]], b[["x", "y"]])


def test_a_map_needs_three_known_words():
    with pytest.raises(LabError, match="at least 3 words"):
        project(VECTORS, ["w1", "nope"], "pca")


def test_overlap_and_accuracy():
    same = WordVectors("copy", WORDS, VECTORS.vectors * 2)
    assert neighbour_overlap(VECTORS, same, ["w1", "w2"], k=5) == 1.0
    toy = WordVectors("toy", ["king", "queen", "man", "woman"], np.array([[1.0, 1.0], [1.0, -1.0], [0.2, 1.0], [0.2, -1.0]]))
    accuracy, table = analogy_accuracy(toy, [("king", "man", "woman", "queen"), ("king", "man", "zebra", "queen")])
    assert accuracy == 0.5 and table.answer.iloc[0] == "queen" and table.answer.isna().iloc[1]
