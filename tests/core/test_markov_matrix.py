"""core.lm.markov_matrix against references: scipy's eigenvector for eigenvalue 1, long simulations, letter counts."""

import numpy as np
import pytest
import scipy.linalg

from core.errors import LabError
from core.infra import data
from core.lm.markov_matrix import LETTERS, letter_chain, letter_ids, simulate, stationary_distribution


def eigen_stationary(P):
    """pi as scipy finds it: the left eigenvector of P for the eigenvalue 1, scaled to sum 1."""
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


def test_letter_ids_keep_only_letters_and_single_spaces():
    ids = letter_ids(" Hi,\n\n  Bob! 42 é")
    assert "".join(LETTERS[i] for i in ids) == "hi bob "  # "42" and "é" dropped; runs of spaces become one


def test_chains_that_split_or_matrices_that_are_not_stochastic_are_refused():
    with pytest.raises(LabError, match="more than one stationary distribution"):
        stationary_distribution(np.eye(3))  # three states that never leave: any pi is stationary
    with pytest.raises(LabError, match="square"):
        stationary_distribution(np.array([[0.5, 0.6], [0.5, 0.5]]))
