"""Markov chains against references: nltk's n-gram counts, scipy's eigenvectors, long simulation."""

import numpy as np
import pytest
import scipy.linalg
from nltk import ConditionalFreqDist
from nltk.util import ngrams

from core import data
from core.errors import LabError
from core.markov_chain import (LETTERS, MarkovChain, fit_chain, letter_chain, letter_ids, simulate, stationary_distribution, tokenize,
                               transition_matrix)


@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_next_token_distributions_match_nltk_counts(level, order):
    tokens = tokenize(data.load_text("python-docs")[:20_000], level)
    chain = MarkovChain(order).fit(tokens)
    ref = ConditionalFreqDist((g[:-1], g[-1]) for g in ngrams(list(tokens), order + 1))
    assert chain.n_contexts == len(ref.conditions())
    assert chain.sparsity()["seen once"] == pytest.approx(np.mean([ref[c].N() == 1 for c in ref.conditions()]), abs=1e-12)
    rng = np.random.default_rng(order)
    conditions = ref.conditions()
    for i in rng.choice(len(conditions), 200):
        context = conditions[i]
        expected = {t: n / ref[context].N() for t, n in ref[context].items()}
        got = chain.next_distribution(list(context))
        assert got.keys() == expected.keys()
        np.testing.assert_allclose([got[t] for t in expected], list(expected.values()), rtol=1e-12)


def test_unseen_context_and_unknown_token_have_no_distribution():
    chain = MarkovChain(2).fit("abracadabra")
    assert chain.next_distribution(list("zz")) == {}
    assert chain.next_distribution(list("ca")) == {"d": 1.0}
    assert chain.next_distribution(list("aa")) == {}


def test_samples_only_use_transitions_seen_in_training():
    tokens = tokenize(data.load_text("markov", n_tokens=3000), "word")
    chain = MarkovChain(2).fit(tokens)
    seen = set(ngrams(tokens, 3))
    sample = chain.sample(500, seed=1)
    jumps = sum(g not in seen for g in ngrams(sample, 3))
    assert jumps <= 4  # only where a dead end restarted the chain (the corpus's last context)


def test_order_one_sample_reproduces_the_transition_probabilities():
    # 2 states with P = [[0.9, 0.1], [0.4, 0.6]]: a long sample's transition counts must agree
    rng = np.random.default_rng(0)
    P = np.array([[0.9, 0.1], [0.4, 0.6]])
    states, s = [], 0
    for _ in range(20_000):
        s = int(rng.random() > P[s, 0])
        states.append("ab"[s])
    sample = MarkovChain(1).fit("".join(states)).sample(20_000, seed=3)
    ids = np.array([{"a": 0, "b": 1}[c] for c in sample])
    np.testing.assert_allclose(transition_matrix(ids, 2), P, atol=0.03)  # ~3 standard errors


def eigen_stationary(P):
    values, vectors = scipy.linalg.eig(P.T)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    return v / v.sum()


@pytest.mark.parametrize("seed", range(4))
def test_stationary_distribution_matches_eigenvector_and_simulation(seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(6, 0.7), size=6)
    pi = stationary_distribution(P)
    np.testing.assert_allclose(pi, eigen_stationary(P), atol=1e-12)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    np.testing.assert_allclose(simulate(P, steps=2000, chains=1000, seed=seed), pi, atol=0.005)


def test_letter_chain_of_real_english():
    chain = letter_chain(data.load_text("python-docs")[:100_000])
    np.testing.assert_allclose(chain.P.sum(axis=1), 1.0)
    np.testing.assert_allclose(chain.stationary, eigen_stationary(chain.P), atol=1e-10)
    # for a chain estimated from one text, the stationary distribution is the letter frequency
    np.testing.assert_allclose(chain.stationary, chain.observed, atol=1e-4)
    np.testing.assert_allclose(chain.simulated, chain.stationary, atol=0.01)
    assert chain.states[np.argmax(chain.stationary)] == " "


def test_bad_orders_and_tiny_corpora_are_clear_errors():
    with pytest.raises(LabError, match="between 1 and"):
        MarkovChain(0)
    with pytest.raises(LabError, match="between 1 and"):
        MarkovChain(1000)
    with pytest.raises(LabError, match="needs more than 5 tokens"):
        MarkovChain(5).fit("abc")
    with pytest.raises(LabError, match="square"):
        stationary_distribution(np.array([[0.5, 0.6], [0.5, 0.5]]))


def test_high_order_on_a_long_corpus_keeps_memory_linear():
    text = tokenize(data.load_text("python-docs"), "char")
    chain = MarkovChain(12).fit(text)  # ~430k contexts: arrays of corpus length, no V**12 table
    assert chain.sparsity()["seen once"] > 0.5
    assert sum(a.nbytes for a in chain._level_keys) < 12 * 8 * len(text)


def test_letter_ids_keep_only_letters_and_single_spaces():
    ids = letter_ids(" Hi,\n\n  Bob! 42 é")
    assert "".join(LETTERS[i] for i in ids) == "hi bob "  # "42" and "é" dropped; runs of spaces become one


@pytest.mark.parametrize("level", ["char", "word"])
def test_chains_sharing_context_levels_equal_chains_fitted_alone(level):
    text = data.load_text("python-docs")[:30_000]
    for order in (1, 2, 3, 5, 8):  # 8 is deeper than the shared levels: fitted on its own
        shared, alone = fit_chain(text, level, order), MarkovChain(order).fit(tokenize(text, level))
        for name in ("next_ids", "next_counts", "indptr", "context_counts"):  # both in lexicographic context order
            np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name))
        assert shared.sample(200, seed=order) == alone.sample(200, seed=order)
