"""Corpus-scale Markov chains against references: nltk's n-gram counts, scipy's eigenvectors, long samples."""

from collections import Counter

import numpy as np
import pytest
from nltk import ConditionalFreqDist
from nltk.util import ngrams

from core.errors import LabError
from core.infra import data
from core.lm.markov_chain import MAX_STATES, MarkovChain, corpus_tokens, fit_chain
from core.lm.markov_matrix import simulate, transition_matrix
from tests.core.test_markov_matrix import eigen_stationary


@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_next_token_distributions_match_nltk_counts(level, order):
    tokens = corpus_tokens(data.load_text("python-docs")[:20_000], level)
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
    tokens = corpus_tokens(data.load_text("markov", n_tokens=3000), "word")
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


@pytest.mark.parametrize("level,order", [("word", 1), ("char", 1),
                                         *(pytest.param(*c, marks=pytest.mark.slow) for c in [("word", 2), ("char", 3)])])
def test_chain_transition_matrix_and_stationary_distribution(level, order):
    tokens = corpus_tokens(data.load_text("markov", n_tokens=2000), level)
    chain = MarkovChain(order).fit(tokens)
    states, P = chain.states(), chain.transition_matrix()
    index = {s: i for i, s in enumerate(states)}
    as_state = (lambda ctx: ctx[0]) if order == 1 else tuple
    assert list(index) == sorted(set(map(as_state, ngrams(list(tokens), order))))  # every context of the corpus, sorted
    for s, row in zip(states, P):  # each row is next_distribution, placed at the next states
        context = [s] if order == 1 else list(s)
        expected = np.zeros(len(states))
        for t, p in chain.next_distribution(context).items():
            expected[index[as_state(context[1:] + [t])]] = p
        if expected.any():  # (the corpus's last context may have no successor: tested below)
            np.testing.assert_allclose(row, expected, rtol=0, atol=1e-15)
    pi = chain.stationary_distribution()
    np.testing.assert_allclose(pi, eigen_stationary(P), rtol=0, atol=1e-12)
    np.testing.assert_allclose(pi @ P, pi, rtol=0, atol=1e-12)


@pytest.mark.slow  # 60,000 sampled tokens and a 2,000-step simulation each
@pytest.mark.parametrize("level,order", [("word", 1), ("char", 2)])
def test_a_long_sample_spends_the_stationary_share_of_its_time_in_each_state(level, order):
    chain = MarkovChain(order).fit(corpus_tokens(data.load_text("markov", n_tokens=2000), level))
    pi = chain.stationary_distribution()
    sample = chain.sample(60_000, seed=5)  # the chain's own sampler: pi describes what it does
    visits = Counter(sample) if order == 1 else Counter(ngrams(sample, order))
    shares = np.array([visits[s] for s in chain.states()]) / sum(visits.values())
    np.testing.assert_allclose(shares, pi, atol=0.005)  # measured ~0.002 (16 and 50 states, pi up to 0.09)
    np.testing.assert_allclose(simulate(chain.transition_matrix(), steps=2000, chains=1000, seed=order), pi, atol=0.0015)


@pytest.mark.parametrize("level,order", [("word", 1), ("word", 2), ("char", 4)])
def test_a_text_that_ends_where_it_starts_has_its_state_frequencies_as_pi(level, order):
    # every visit to a state is followed by one departure, so pi is exactly each state's share of the positions
    tokens = list(corpus_tokens(data.load_text("markov", n_tokens=1500), level))
    tokens += tokens[:order]  # end in the starting context
    chain = MarkovChain(order).fit(tokens)
    pi = dict(zip(chain.states(), chain.stationary_distribution()))
    counts = Counter(g[0] if order == 1 else g for g in ngrams(tokens[:-1], order))
    assert pi.keys() == counts.keys()
    np.testing.assert_allclose([pi[s] for s in counts], [n / (len(tokens) - order) for n in counts.values()], rtol=0, atol=1e-12)


def test_a_dead_end_restarts_like_the_sampler_and_big_state_spaces_are_refused():
    chain = MarkovChain(1).fit("abcabd")  # "d" ends the corpus and is followed by nothing
    assert chain.states() == list("abcd")
    np.testing.assert_allclose(chain.transition_matrix()[3], [2 / 5, 2 / 5, 1 / 5, 0])  # sample's restart: a uniform position of "abcab"
    P = chain.transition_matrix()
    np.testing.assert_allclose(chain.stationary_distribution(), eigen_stationary(P), atol=1e-12)
    sample = chain.sample(20_000, seed=2)
    after_d = Counter(b for a, b in zip(sample, sample[1:]) if a == "d")
    n = sum(after_d.values())  # ~1,700
    np.testing.assert_allclose([after_d[t] / n for t in "abcd"], [0.4, 0.4, 0.2, 0], atol=0.04)
    words = corpus_tokens(data.load_text("python-docs")[:200_000], "word")
    assert len(set(words)) > MAX_STATES
    with pytest.raises(LabError, match="states"):
        MarkovChain(1).fit(words).transition_matrix()


def test_bad_orders_and_tiny_corpora_are_clear_errors():
    with pytest.raises(LabError, match="between 1 and"):
        MarkovChain(0)
    with pytest.raises(LabError, match="between 1 and"):
        MarkovChain(1000)
    with pytest.raises(LabError, match="needs more than 5 tokens"):
        MarkovChain(5).fit("abc")


@pytest.mark.parametrize("level", ["char", "word"])
def test_chains_sharing_context_levels_equal_chains_fitted_alone(level):
    text = data.load_text("python-docs")[:30_000]
    for order in (1, 2, 3, 5, 8):  # 8 is deeper than the shared levels: fitted on its own
        shared, alone = fit_chain(text, level, order), MarkovChain(order).fit(corpus_tokens(text, level))
        for name in ("next_ids", "next_counts", "indptr", "context_counts"):  # both in lexicographic context order
            np.testing.assert_array_equal(getattr(shared, name), getattr(alone, name))
        assert shared.sample(200, seed=order) == alone.sample(200, seed=order)
