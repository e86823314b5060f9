"""The probability lab in one import: Bayes' rule, joint tables, naive Bayes, Markov chains.

Each piece lives in its own small module; this one only gathers them, so a notebook can write
`from core.probability import MultinomialNaiveBayes, MarkovChain, posterior`.

>>> from core.probability import GaussianNaiveBayes, MarkovChain, DiagnosticTest, posterior
>>> round(posterior(DiagnosticTest(prior=0.5, sensitivity=0.8, specificity=0.8), positive=True), 2)
0.8
>>> chain = MarkovChain(order=1).fit("abab")        # fit, sample, stationary distribution
>>> "".join(chain.sample(6, seed=0)), chain.states(), chain.stationary_distribution().tolist()
('ababab', ['a', 'b'], [0.5, 0.5])
"""

from core.bayes import (BetaPrior, CoinBelief, DiagnosticTest, coin_posterior, coin_trajectory, flip_coins,
                        natural_frequencies, posterior, sequential_posteriors)
from core.joint import JointTable, count_pairs, joint_table
from core.markov_chain import (MAX_ORDER, MAX_STATES, MarkovChain, SmallChain, compare_orders, detokenize, fit_chain, letter_chain,
                               simulate, small_chain, stationary_distribution, tokenize, transition_matrix)
from core.naive_bayes import GaussianNaiveBayes, MultinomialNaiveBayes, confusion_matrix

__all__ = [
    "BetaPrior", "CoinBelief", "DiagnosticTest", "coin_posterior", "coin_trajectory", "flip_coins",
    "natural_frequencies", "posterior", "sequential_posteriors",
    "JointTable", "count_pairs", "joint_table",
    "MAX_ORDER", "MAX_STATES", "MarkovChain", "SmallChain", "compare_orders", "detokenize", "fit_chain", "letter_chain",
    "simulate", "small_chain", "stationary_distribution", "tokenize", "transition_matrix",
    "GaussianNaiveBayes", "MultinomialNaiveBayes", "confusion_matrix",
]
