"""Bayes' rule, Beta-Binomial updating and joint tables against closed forms, scipy and scikit-learn."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mutual_info_score

from core.errors import LabError
from core.foundations.bayes import (
    BetaPrior,
    DiagnosticTest,
    belief_path,
    coin_densities,
    coin_posterior,
    coin_trajectory,
    counted_positives,
    flip_coins,
    natural_frequencies,
    posterior,
)
from core.foundations.joint import count_pairs, joint_table, labels_from_text, verdict
from core.infra import data

TESTS = [DiagnosticTest(0.01, 0.9, 0.95), DiagnosticTest(0.3, 0.6, 0.99), DiagnosticTest(0.5, 0.5, 0.5),
         DiagnosticTest(1e-4, 0.999, 0.999), DiagnosticTest(0.0, 0.9, 0.9), DiagnosticTest(1.0, 0.9, 0.9)]


@pytest.mark.parametrize("test", TESTS)
def test_posterior_matches_counting_a_population(test):
    # the same question answered by counting a (fractional) population of 10^6 people
    ill, healthy = 1e6 * test.prior, 1e6 * (1 - test.prior)
    true_pos, false_pos = ill * test.sensitivity, healthy * (1 - test.specificity)
    false_neg, true_neg = ill * (1 - test.sensitivity), healthy * test.specificity
    assert posterior(test, True) == pytest.approx(true_pos / (true_pos + false_pos), abs=1e-12)
    assert posterior(test, False) == pytest.approx(false_neg / (false_neg + true_neg), abs=1e-12)


@pytest.mark.parametrize("test", TESTS[:4])
def test_repeated_tests_match_the_odds_form(test):
    # posterior odds = prior odds x product of likelihood ratios (closed form, no step-by-step updating)
    results = [True, True, False, True, False, False, True]
    lr = {True: test.sensitivity / (1 - test.specificity), False: (1 - test.sensitivity) / test.specificity}
    beliefs, stopped = belief_path(test, results)
    assert not stopped
    for n in range(len(results) + 1):
        odds = test.prior / (1 - test.prior) * np.prod([lr[r] for r in results[:n]])
        assert beliefs[n] == pytest.approx(odds / (1 + odds), rel=1e-10)


def test_certain_beliefs_and_impossible_results():
    assert belief_path(DiagnosticTest(0.0, 0.9, 0.9), [True] * 5)[0][-1] == 0.0  # prior 0 stays 0
    assert belief_path(DiagnosticTest(1.0, 0.9, 0.9), [False] * 5)[0][-1] == 1.0
    with pytest.raises(LabError, match="positive result has probability 0"):
        posterior(DiagnosticTest(0.2, 0.0, 1.0), positive=True)
    with pytest.raises(LabError, match="negative result has probability 0"):
        posterior(DiagnosticTest(1.0, 1.0, 0.3), positive=False)
    with pytest.raises(LabError, match="between 0 and 1"):
        DiagnosticTest(prior=1.5)


def test_an_impossible_result_stops_the_beliefs_where_it_happens():
    perfect = DiagnosticTest(0.5, 1.0, 1.0)  # after a positive, P(ill) = 1 and a negative can't happen
    beliefs, stopped = belief_path(perfect, [True, True, False, True])
    assert beliefs == [0.5, 1.0, 1.0]
    assert stopped.startswith("Test 3 (−) is impossible: the beliefs stop after test 2.") and "probability 0" in stopped
    beliefs, stopped = belief_path(DiagnosticTest(0.2, 0.0, 1.0), [True])  # a positive never happens
    assert beliefs == [0.2] and "stop at the prior" in stopped
    # by hand: + takes 0.3 to 0.18 / (0.18 + 0.7·0.01) = 0.9626, then − to 0.9626·0.4 / (0.9626·0.4 + 0.0374·0.99) = 0.9122
    beliefs, stopped = belief_path(DiagnosticTest(0.3, 0.6, 0.99), [True, False])
    assert stopped == "" and beliefs == pytest.approx([0.3, 0.9625668449197861, 0.912200684150513], rel=1e-12)


@pytest.mark.parametrize("test", TESTS)
def test_natural_frequencies_sum_to_the_population(test):
    counts = natural_frequencies(test, 1000)
    assert sum(counts.values()) == 1000
    exact = 1000 * test.prior * test.sensitivity
    assert abs(counts["ill, positive"] - exact) < 1
    positives = counted_positives(test, 1000)
    assert (positives.ill, positives.healthy) == (counts["ill, positive"], counts["healthy, positive"])
    assert positives.total == sum(v for k, v in counts.items() if k.endswith("positive"))
    if positives.total >= 50:  # the counted share approaches Bayes' rule (whole people: within a rounding per group)
        assert positives.share_ill == pytest.approx(posterior(test, True), abs=2 / positives.total)
    assert counted_positives(DiagnosticTest(0.5, 0.0, 1.0)).share_ill is None  # nobody tests positive


@pytest.mark.parametrize("heads,tails", [(0, 0), (7, 3), (0, 12), (40, 2), (500, 480)])
@pytest.mark.parametrize("prior", [BetaPrior(0.5, 2.0), BetaPrior(0.2, 10.0), BetaPrior(0.03, 0.5), BetaPrior(0.5, 0.0),
                                   BetaPrior(0.0, 4.0), BetaPrior(1.0, 3.0)])
@pytest.mark.parametrize("level", [0.5, 0.95])
def test_posterior_is_scipys_beta_of_a_plus_heads_and_b_plus_tails(heads, tails, prior, level):
    a, b = prior.mean * prior.strength + heads, (1 - prior.mean) * prior.strength + tails
    if a == 0 or b == 0:  # no proper posterior yet: a clear refusal
        with pytest.raises(LabError, match="not a proper distribution"):
            coin_posterior(heads, tails, prior, level)
        return
    belief, ref = coin_posterior(heads, tails, prior, level), stats.beta(a, b)
    assert (belief.a, belief.b) == (pytest.approx(a, abs=1e-12), pytest.approx(b, abs=1e-12))
    np.testing.assert_allclose([belief.mean, belief.low, belief.high], [ref.mean(), *ref.interval(level)], rtol=0, atol=1e-12)


def test_a_prior_guess_of_exactly_0_or_1_is_explained_until_the_data_disagree():
    with pytest.raises(LabError, match="exactly 0 says heads never happen.*after the first head; so far 0 heads, 5 tails"):
        coin_posterior(0, 5, BetaPrior(0.0, 4.0))
    with pytest.raises(LabError, match="exactly 1 says tails never happen.*after the first tail"):
        coin_posterior(3, 0, BetaPrior(1.0, 10.0))
    belief = coin_posterior(1, 5, BetaPrior(0.0, 4.0))  # one head: Beta(0 + 1, 4 + 5) is proper
    assert (belief.a, belief.b, belief.mean) == (1.0, 9.0, pytest.approx(0.1, abs=1e-15))
    path = coin_trajectory(np.array([0, 0, 1, 0]), BetaPrior(0.0, 4.0))
    assert np.isnan(path["mean"][:2]).all() and np.isnan(path["low"][:2]).all()
    np.testing.assert_allclose(path["mean"][2:], [1 / 7, 1 / 8], atol=1e-15)
    curves = coin_densities(belief, BetaPrior(0.0, 4.0))
    assert set(curves.curve) == {"posterior"}  # an improper prior has no density to draw


@pytest.mark.parametrize("heads,tails", [(0, 0), (7, 3), (0, 12), (40, 2), (500, 480)])
# a, b >= 1: densities a grid integrates well
@pytest.mark.parametrize("prior", [BetaPrior(0.5, 2.0), BetaPrior(0.2, 10.0), BetaPrior(0.75, 4.0)])
def test_conjugate_update_matches_a_grid_posterior(heads, tails, prior):
    # prior x likelihood on a fine grid, normalised numerically: no conjugacy assumed
    grid = np.linspace(1e-6, 1 - 1e-6, 200_001)
    log_post = stats.beta.logpdf(grid, prior.a, prior.b) + stats.binom.logpmf(heads, heads + tails, grid)
    post = np.exp(log_post - log_post.max())
    post /= np.trapezoid(post, grid)
    belief = coin_posterior(heads, tails, prior)
    assert np.trapezoid(grid * post, grid) == pytest.approx(belief.mean, abs=1e-5)
    cdf = np.cumsum(post) * (grid[1] - grid[0])
    assert np.interp(belief.low, grid, cdf) == pytest.approx(0.025, abs=2e-3)
    assert np.interp(belief.high, grid, cdf) == pytest.approx(0.975, abs=2e-3)


def test_trajectory_matches_one_posterior_per_prefix():
    flips = flip_coins(0.7, 60, seed=4)
    prior = BetaPrior(0.5, 4.0)
    path = coin_trajectory(flips, prior)
    for n in (1, 10, 60):
        h = int(flips[:n].sum())
        belief = coin_posterior(h, n - h, prior)
        assert path["mle"][n - 1] == belief.mle
        np.testing.assert_allclose([path["mean"][n - 1], path["low"][n - 1], path["high"][n - 1]],
                                   [belief.mean, belief.low, belief.high], rtol=1e-12)


def test_long_trajectory_is_thinned_but_ends_at_the_last_flip():
    flips = flip_coins(0.3, 1000, seed=2)
    path = coin_trajectory(flips, BetaPrior(0.5, 2.0), points=200)
    assert len(path["flips"]) == 200 and path["flips"][0] == 1 and path["flips"][-1] == 1000
    belief = coin_posterior(int(flips.sum()), 1000 - int(flips.sum()), BetaPrior(0.5, 2.0))
    assert (path["mean"][-1], path["low"][-1]) == (pytest.approx(belief.mean), pytest.approx(belief.low))


def test_flat_improper_prior_needs_both_outcomes():
    with pytest.raises(LabError, match="at least one head and one tail"):
        coin_posterior(5, 0, BetaPrior(0.5, 0.0))
    assert coin_posterior(5, 1, BetaPrior(0.5, 0.0)).mean == pytest.approx(5 / 6)  # prior-free: mean = MLE
    path = coin_trajectory(np.array([1, 1, 0]), BetaPrior(0.5, 0.0))
    assert np.isnan(path["mean"][:2]).all() and path["mean"][2] == pytest.approx(2 / 3)
    assert flip_coins(1.0, 5, 0).tolist() == [1] * 5 and flip_coins(0.0, 5, 0).tolist() == [0] * 5


def test_joint_table_against_scipy_and_sklearn():
    X, y, _, classes = data.sklearn_table("iris")
    petal = np.digitize(X[:, 2], [2.5, 5.0])  # petal length: short / medium / long
    counts, xs, ys = count_pairs(y, petal)
    t = joint_table(counts, xs, ys)
    chi2, p, dof, expected = stats.chi2_contingency(counts, correction=False)
    assert (t.chi2, t.p_value, t.dof) == (pytest.approx(chi2, rel=1e-12), pytest.approx(p, rel=1e-9), dof)
    np.testing.assert_allclose(t.independent * counts.sum(), expected, rtol=1e-12)
    assert t.mutual_information == pytest.approx(mutual_info_score(y, petal) / np.log(2), rel=1e-10)
    np.testing.assert_allclose(t.p_y_given_x.sum(axis=1), 1.0)
    np.testing.assert_allclose(t.p_x_given_y.sum(axis=0), 1.0)
    np.testing.assert_allclose(t.joint, t.p_y_given_x * t.p_x[:, None])  # the product rule


def test_independent_table_and_degenerate_tables():
    t = joint_table(np.outer([1, 2, 3], [4, 5]), list("abc"), list("xy"))
    assert t.mutual_information == pytest.approx(0, abs=1e-12) and t.p_value == pytest.approx(1.0)
    t = joint_table([[5, 0], [0, 0]], ["a", "b"], ["x", "y"])  # an empty row and column
    assert np.isnan(t.p_y_given_x[1]).all() and t.dof == 0
    for bad in ([[0, 0], [0, 0]], [[1, -1], [2, 2]], [[1, np.nan], [1, 1]]):
        with pytest.raises(LabError):
            joint_table(bad, ["a", "b"], ["x", "y"])
    with pytest.raises(LabError, match="row .*'a' appears more than once"):
        joint_table([[1, 2], [3, 4], [5, 6]], ["a", "b", "a"], ["x", "y"])
    with pytest.raises(LabError, match="column .*'1' appears more than once"):
        joint_table([[1, 2], [3, 4]], ["a", "b"], [1, "1"])  # the same label once written as text
    assert labels_from_text(" bus,bike , ,walk", "column") == ["bus", "bike", "walk"]
    with pytest.raises(LabError, match="at least one column"):
        labels_from_text(" , ", "column")


def test_verdict_states_the_cut_off_and_agrees_with_scipys_p_value():
    counts = np.array([[22, 10], [14, 16]])  # scipy's chi2_contingency (no correction): p ≈ 0.07
    t = joint_table(counts, ["a", "b"], ["x", "y"])
    p = stats.chi2_contingency(counts, correction=False).pvalue
    assert t.p_value == pytest.approx(p)
    for cutoff in (0.01, 0.05, 0.1):
        said = verdict(t, cutoff, "X", "Y")
        assert f"cut-off {cutoff:g}" in said
        assert said.startswith(f"p = {p:.2g} is {'below' if p < cutoff else 'not below'}")
    near = joint_table(np.array([[17, 8], [8, 17]]), ["a", "b"], ["x", "y"])  # p = 0.0109: "0.011" at 2 digits, the cut-off's own
    assert f"{near.p_value:.2g}" == "0.011" and verdict(near, 0.011).startswith("p = 0.0109 is below the cut-off 0.011")
    assert "can't be tested" in verdict(joint_table([[3, 4]], ["a"], ["x", "y"]))
    with pytest.raises(LabError):
        verdict(t, 0.0)
