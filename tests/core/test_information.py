"""core.foundations.information against scipy (entropy, KL, JS)."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

from core.errors import LabError
from core.foundations import information as info


def random_distributions(n_pairs=400, seed=0):
    """Pairs (p, q) of many sizes, unnormalised; a quarter each with zeros in p, zeros in q, and
    zeros at the same places in both (every 0 * log(0 / 0) term must count as 0)."""
    rng = np.random.default_rng(seed)
    for i in range(n_pairs):
        size = int(rng.choice([1, 2, 3, 5, 10, 100, 3000]))
        p, q = rng.dirichlet([0.3] * size) * rng.uniform(0.1, 10), rng.random(size)
        zeros = rng.random(size) < 0.4
        if i % 4 == 1 and size > 1:
            p[zeros] = 0
        if i % 4 == 2 and size > 1:
            q[zeros] = 0
        if i % 4 == 3 and size > 1 and not zeros.all():
            p[zeros], q[zeros] = 0, 0
        if p.sum() == 0:
            p[0] = 1.0
        if q.sum() == 0:
            q[-1] = 1.0
        yield p, q


PAIRS = list(random_distributions())
BASES = [2, np.e, 10]


@pytest.mark.parametrize("base", BASES)
def test_entropy_matches_scipy(base):
    for p, _ in PAIRS:
        assert info.entropy(p, base) == pytest.approx(scipy_entropy(p, base=base), rel=1e-12, abs=1e-12)


def test_entropy_of_each_row_matches_scipy_over_the_last_axis():
    rng = np.random.default_rng(5)
    stack = rng.dirichlet([0.5] * 6, size=(3, 4)) * rng.uniform(0.1, 10, size=(3, 4, 1))
    stack[0, 0, :3] = 0  # zeros inside a row count as 0 · log 0 = 0
    np.testing.assert_allclose(info.entropy(stack), scipy_entropy(stack, base=2, axis=-1), rtol=1e-12)
    assert info.entropy(stack).shape == (3, 4)
    with pytest.raises(LabError, match="all zeros in some row"):
        info.entropy([[0.5, 0.5], [0.0, 0.0]])


@pytest.mark.parametrize("base", BASES)
def test_kl_matches_scipy_relative_entropy_including_infinite(base):
    n_inf = 0
    for p, q in PAIRS:
        ours, ref = info.kl_divergence(p, q, base), scipy_entropy(p, q, base=base)
        if np.isinf(ref):
            n_inf += 1
            assert ours == np.inf
        else:
            assert ours == pytest.approx(ref, rel=1e-12, abs=1e-12)
    assert n_inf > 10  # the zeros really produced infinite cases, so that branch was tested


@pytest.mark.parametrize("base", BASES)
def test_cross_entropy_is_entropy_plus_kl(base):
    for p, q in PAIRS:
        ce, ref = info.cross_entropy(p, q, base), scipy_entropy(p, base=base) + scipy_entropy(p, q, base=base)
        assert ce == pytest.approx(ref, rel=1e-12, abs=1e-12) if np.isfinite(ref) else ce == np.inf


@pytest.mark.parametrize("base", BASES)
def test_js_matches_scipy_jensenshannon_squared(base):
    for p, q in PAIRS:
        ours = info.js_divergence(p, q, base)
        assert np.isfinite(ours) and ours == info.js_divergence(q, p, base)  # finite and symmetric
        assert ours == pytest.approx(jensenshannon(p, q, base=base) ** 2, rel=1e-12, abs=1e-12)


def test_the_random_pairs_cover_shared_zeros():
    """0 * log(0 / 0) must count as 0 in KL and JS: pairs with zeros at the same places in p and q."""
    shared = [(p, q) for p, q in PAIRS if ((p == 0) & (q == 0)).any()]
    assert len(shared) > 50
    assert all(np.isfinite(info.kl_divergence(p, q)) for p, q in shared if not ((p > 0) & (q == 0)).any())


def test_kl_is_asymmetric_and_zero_only_for_equal_distributions():
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert info.kl_divergence(p, q) != pytest.approx(info.kl_divergence(q, p))
    assert info.kl_divergence(p, p) == 0.0
    assert info.kl_divergence([1, 1], [0, 1]) == np.inf and info.kl_divergence([0, 1], [1, 1]) == 1.0


def test_surprisal_and_units():
    assert info.surprisal([0.25, 0.75, 0]).tolist() == pytest.approx([2.0, -np.log2(0.75), np.inf])
    assert info.entropy([0.5, 0.5], base=np.e) == pytest.approx(np.log(2))


def test_entropy_terms_grouping_and_divergences_agree_with_scipy():
    p, q = np.array([0.1] * 5 + [0.5, 0.0]), np.array([0.2, 0.2, 0.1, 0.1, 0.1, 0.3, 0.0])
    terms = info.entropy_terms(p)
    assert terms[-1] == 0.0 and terms.sum() == pytest.approx(scipy_entropy(p, base=2), rel=1e-12)
    np.testing.assert_allclose(terms[:-1], [0.33219280948873625] * 5 + [0.5], rtol=1e-12)  # 0.1 · log2 10, 0.5 · log2 2
    assert info.grouped(p) == [(0.5, 1), (0.1, 5)]  # most likely first; the zero is left out
    d = info.divergences(p, q, base=np.e)
    assert d.kl_pq == pytest.approx(scipy_entropy(p, q), rel=1e-12) and d.kl_qp == pytest.approx(scipy_entropy(q, p), rel=1e-12)
    assert d.cross_pq == pytest.approx(scipy_entropy(p) + scipy_entropy(p, q), rel=1e-12)
    assert d.entropy_q == pytest.approx(scipy_entropy(q), rel=1e-12)
    assert d.js_distance == pytest.approx(jensenshannon(p, q), rel=1e-12)
    assert d.asymmetry == pytest.approx(abs(scipy_entropy(p, q) - scipy_entropy(q, p)), rel=1e-12)
    assert info.unsupported([0.5, 0.5, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]).tolist() == [1, 3]


def test_typed_numbers_and_table_cells():
    assert info.parse_numbers(" 5, 3 1,,1 ").tolist() == [5.0, 3.0, 1.0, 1.0]
    assert np.isnan(info.parse_numbers("1, nan")[1])  # read as typed; check_distribution refuses it
    with pytest.raises(LabError, match="weights as numbers"):
        info.parse_numbers("1, x", "weights")
    # a freshly added table row is blank (None, or NaN once pandas has the column): it weighs 0
    assert info.cell_weights([0.5, None, float("nan"), np.nan, "", " 2 "]).tolist() == [0.5, 0.0, 0.0, 0.0, 0.0, 2.0]
    with pytest.raises(LabError, match="as a number"):
        info.cell_weights([0.5, "lots"])
    with pytest.raises(LabError, match="negative"):
        info.check_distribution(info.cell_weights([0.5, -1.0, None]))


@pytest.mark.parametrize(
    "bad, message",
    [([0.5, -0.1, 0.6], "negative"), ([0.5, np.nan], "NaN"), ([0, 0, 0], "all zeros"), ([], "no outcomes"), ([np.inf, 1], "infinite")],
)
def test_bad_distributions_raise_a_lab_error(bad, message):
    with pytest.raises(LabError, match=message):
        info.entropy(bad)


def test_odd_but_valid_inputs():
    p, total = info.check_distribution([2, 2])
    assert p.tolist() == [0.5, 0.5] and total == 4.0  # not summing to one: normalised, total reported
    assert info.entropy([7]) == 0.0  # a single outcome carries no information
    assert info.entropy([1e308, 1e308]) == 1.0  # the sum overflows; the distribution does not
    assert info.entropy(np.ones(5000)) == pytest.approx(np.log2(5000))  # thousands of outcomes
    with pytest.raises(LabError, match="same outcomes"):
        info.kl_divergence([0.5, 0.5], [1, 0, 0])
    with pytest.raises(LabError, match="base"):
        info.entropy([0.5, 0.5], base=1)


def test_blend_path_goes_from_q_to_p():
    p, q = [0.7, 0.3, 0.0], [0.0, 0.5, 0.5]
    path = info.blend_path(p, q, steps=11)
    assert path["KL(p ‖ q_t)"][0] == np.inf and path["KL(p ‖ q_t)"][-1] == 0.0
    assert path["KL(q_t ‖ p)"][0] == info.kl_divergence(q, p) == np.inf
    assert all(np.isfinite(path["JS(p, q_t)"])) and path["JS(p, q_t)"][0] == pytest.approx(info.js_divergence(p, q))
    kl = path["KL(p ‖ q_t)"][1:]
    assert kl == sorted(kl, reverse=True)  # KL is convex in q, so it falls all the way along the straight path to p
