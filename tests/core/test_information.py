"""core.foundations.information against scipy (entropy, KL, JS) and torch.nn.functional.cross_entropy (the loss)."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
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
    np.testing.assert_allclose(terms[:-1], -p[:-1] * np.log2(p[:-1]), rtol=1e-12)
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


# ----------------------------------------------------------------------------- Huffman


def is_prefix_free(codes):
    words = [c for c in codes if c is not None]
    return not any(a != b and b.startswith(a) for a in words for b in words)


def test_huffman_average_length_is_within_one_bit_of_entropy():
    rng = np.random.default_rng(1)
    for i in range(300):
        size = int(rng.choice([1, 2, 3, 4, 7, 20, 200]))
        p = rng.dirichlet([rng.choice([0.1, 1.0, 10.0])] * size)
        if i % 4 == 0:
            p[rng.random(size) < 0.3] = 0
            p = p if p.sum() > 0 else np.eye(size)[0]
        code = info.huffman_code(p)
        h, length = info.entropy(p), code.average_length(p)
        assert h - 1e-12 <= length < h + 1, (p, code.codes)
        assert is_prefix_free(code.codes)
        assert all((c is None) == (pi == 0) for c, pi in zip(code.codes, p))


def test_huffman_on_dyadic_distribution_is_exactly_optimal_and_kraft_tight():
    p = [0.5, 0.25, 0.125, 0.125]
    code = info.huffman_code(p)
    assert sorted(map(len, code.codes)) == [1, 2, 3, 3]
    assert code.average_length(p) == info.entropy(p) == 1.75
    assert sum(2.0 ** -len(c) for c in code.codes) == 1.0


def test_huffman_edge_cases():
    assert info.huffman_code([1.0]).codes == [""]  # one outcome: nothing to say
    assert info.huffman_code([0, 1, 0]).average_length([0, 1, 0]) == 0.0
    code_for_q = info.huffman_code([0.5, 0.5, 0])
    assert code_for_q.average_length([1 / 3] * 3) == np.inf  # data needs a codeword q's code never made
    big = info.huffman_code(np.ones(4096))
    assert big.average_length(np.ones(4096)) == 12.0
    dot = info.huffman_dot(info.huffman_code([0.5, 0.5]), [0.5, 0.5], ["a", 'b"'])
    assert dot.startswith("digraph") and dot.count("->") == 2


def shortest_prefix_code_length(p):
    """The least average length of ANY prefix code for p, by brute force over codeword lengths.

    By Kraft-McMillan a prefix code with lengths l exists iff sum 2^-l <= 1, and an optimal code
    for n outcomes needs no codeword longer than n - 1 bits, so trying every such l is exhaustive.
    """
    p = np.asarray(p, dtype=float)
    p = p[p > 0] / p.sum()
    if len(p) == 1:
        return 0.0
    lengths = np.array(list(itertools.product(range(1, len(p)), repeat=len(p))), dtype=float)
    return float((lengths[(2.0**-lengths).sum(1) <= 1] @ p).min())


def test_huffman_is_the_shortest_prefix_code_by_brute_force():
    rng = np.random.default_rng(2)
    cases = [[0.25] * 4, [0.2] * 5, [0.5, 0.25, 0.125, 0.0625, 0.0625], [0.4, 0.2, 0.2, 0.1, 0.1], [1e-6, 1e-6, 1.0], [0.3, 0.0, 0.7]]
    for _ in range(150):
        size = int(rng.integers(2, 7))
        p = rng.dirichlet([float(rng.choice([0.1, 1.0, 10.0]))] * size)
        cases.append(p.round(1) + 1e-3 if rng.random() < 0.3 else p)  # rounded: many ties between equal weights
    for p in cases:
        code = info.huffman_code(p)
        assert code.average_length(p) == pytest.approx(shortest_prefix_code_length(p), abs=1e-12), (p, code.codes)
        assert is_prefix_free(code.codes)


def test_a_code_built_for_q_never_beats_the_code_built_for_p():
    rng = np.random.default_rng(3)
    for _ in range(100):
        p, q = rng.dirichlet([1.0] * 6), rng.dirichlet([1.0] * 6)
        costs = info.code_costs(p, q)
        assert costs.huffman_q == pytest.approx(info.huffman_code(q).average_length(p), rel=1e-12)
        assert costs.huffman_extra >= -1e-12  # p's own Huffman code is optimal for data from p
        assert 0 <= costs.huffman_overhead < 1


def test_shannon_code_for_q_costs_between_kl_and_kl_plus_one_extra_bits():
    """Lengths ceil(-log2 q): on data from p they cost in [H(p,q), H(p,q)+1), i.e. [KL, KL+1) over H(p)."""
    rng = np.random.default_rng(4)
    gaps = []
    for i in range(500):
        size = int(rng.choice([1, 2, 3, 5, 10, 50, 300]))
        p, q = rng.dirichlet([float(rng.choice([0.1, 1.0, 10.0]))] * size), rng.dirichlet([float(rng.choice([0.1, 1.0, 10.0]))] * size)
        if i % 5 == 0 and size > 1:
            p[rng.random(size) < 0.3] = 0
            p = p if p.sum() > 0 else np.eye(size)[0]
        lengths = info.shannon_lengths(q)
        assert (2.0**-lengths).sum() <= 1 + 1e-12  # Kraft: a prefix code with these lengths exists
        costs = info.code_costs(p, q)
        h, ce, kl = info.entropy(p), info.cross_entropy(p, q), info.kl_divergence(p, q)
        assert costs.shannon == pytest.approx(info.expected_length(lengths, p), rel=1e-12)
        assert ce - 1e-12 <= costs.shannon < ce + 1, (p, q)
        assert kl - 1e-12 <= costs.shannon_extra < kl + 1, (p, q)
        assert costs.shannon_extra == pytest.approx(costs.shannon - h, abs=1e-12)
        gaps.append(costs.shannon - ce)
    assert max(gaps) > 0.9 and min(gaps) < 0.1  # the bound is tight at both ends, so a code off by a bit would fail


def test_shannon_code_on_powers_of_two_and_zeros():
    q = [0.5, 0.25, 0.125, 0.125, 0.0]
    assert info.shannon_lengths(q).tolist() == [1.0, 2.0, 3.0, 3.0, np.inf]  # exactly -log2 q: no rounding up
    assert info.code_costs([0.2, 0.2, 0.2, 0.4, 0.0], q).shannon == pytest.approx(info.cross_entropy([0.2, 0.2, 0.2, 0.4, 0.0], q))
    assert info.code_costs([0.2, 0.2, 0.2, 0.2, 0.2], q).shannon == np.inf  # q's code has no word for p's last outcome
    assert info.shannon_lengths([1.0]).tolist() == [0.0] and info.shannon_lengths([3, 1]).tolist() == [1.0, 2.0]
    tiny = 2.0**-np.arange(1, 60)  # every power of two gets exactly its exponent, however small
    np.testing.assert_array_equal(info.shannon_lengths(np.append(tiny, 1 - tiny.sum()))[:-1], np.arange(1, 60))


# ----------------------------------------------------------------------------- the loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_cross_entropy_loss_matches_torch_in_value_and_gradient(smoothing, scale):
    torch.manual_seed(0)
    logits = (torch.randn(16, 7, dtype=torch.float64) * scale).requires_grad_()
    target = torch.randint(0, 7, (16,))
    ours = info.cross_entropy_loss(logits, target, label_smoothing=smoothing)
    ref = F.cross_entropy(logits, target, label_smoothing=smoothing)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_ref,) = torch.autograd.grad(ref, logits)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-6, atol=1e-6)


def test_smoothed_target_and_one_prediction_breakdown_match_torch():
    y = info.smoothed_target(torch.tensor([2, 0]), 4, 0.2, torch.float64)
    torch.testing.assert_close(y, torch.tensor([[0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05]], dtype=torch.float64))
    torch.manual_seed(2)
    for eps in (0.0, 0.1, 1.0):
        for scale in (1.0, 100.0):
            logits = torch.randn(7) * scale
            b = info.loss_breakdown(logits, 3, eps)
            z = logits.double().unsqueeze(0).requires_grad_()
            ref = F.cross_entropy(z, torch.tensor([3]), label_smoothing=eps)
            (ref_grad,) = torch.autograd.grad(ref, z)
            assert b.loss == pytest.approx(ref.item(), rel=1e-12, abs=1e-12) and b.reference == ref.item()
            np.testing.assert_allclose(b.gradient, ref_grad[0].numpy(), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(b.q, torch.softmax(z.detach(), -1)[0].numpy(), rtol=1e-12)
            np.testing.assert_allclose(b.gradient, b.q - b.target, atol=1e-12)  # the gradient is q - y
            assert b.target.sum() == pytest.approx(1.0) and b.bits == pytest.approx(b.loss / np.log(2))
    with pytest.raises(LabError, match="right class"):
        info.loss_breakdown(torch.zeros(3), 3)


def test_parse_logits():
    torch.testing.assert_close(info.parse_logits("1, 2 -3", scale=10), torch.tensor([10.0, 20.0, -30.0]))
    for bad, message in (("1", "between 2 and 50"), ("a, b", "logits as numbers"), ("1e37, 0", "float32"), ("nan, 1", "NaN")):
        with pytest.raises(LabError, match=message):
            info.parse_logits(bad, scale=100)


def test_cross_entropy_loss_gradient_is_softmax_minus_target():
    torch.manual_seed(1)
    logits = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 3, 3, 1])
    (grad,) = torch.autograd.grad(info.cross_entropy_loss(logits, target, 0.2), logits)
    smoothed = 0.8 * F.one_hot(target, 5) + 0.2 / 5
    torch.testing.assert_close(grad, (torch.softmax(logits, -1) - smoothed) / 4)


def test_log_softmax_stable_matches_torch_where_naive_overflows():
    logits = torch.tensor([[1000.0, 999.0, 0.0], [1.0, 2.0, 3.0]])
    torch.testing.assert_close(info.log_softmax(logits), F.log_softmax(logits, -1))
    naive = info.log_softmax_naive(logits)
    assert not torch.isfinite(naive[0]).all()  # exp(1000) = inf in float32
    torch.testing.assert_close(naive[1], F.log_softmax(logits[1], -1))
    with pytest.raises(LabError):
        info.cross_entropy_loss(logits, torch.tensor([0, 1]), label_smoothing=1.5)


def test_presets_and_comparisons_are_valid_distributions():
    for name in info.PRESETS[:-1]:  # the language-model preset is tested on its page
        for n, bias in ((1, 0.0), (8, 0.5), (64, 1.0)):
            labels, p = info.preset(name, n, bias)
            assert len(labels) == len(p) and p.sum() == pytest.approx(1.0) and (p >= 0).all()
            for how in info.COMPARISONS:
                q = info.compare_with(p, how)
                assert q.shape == p.shape and q.sum() == pytest.approx(1.0)
    p = info.preset("loaded die")[1]
    assert info.kl_divergence(p, info.compare_with(p, "missing p's least likely outcome")) == np.inf
    assert info.entropy(info.preset("English letters")[1]) == pytest.approx(4.18, abs=0.01)  # Shannon's ~4.2 bits/letter
    with pytest.raises(LabError, match="unknown preset"):
        info.preset("nope")


def test_blend_path_goes_from_q_to_p():
    p, q = [0.7, 0.3, 0.0], [0.0, 0.5, 0.5]
    path = info.blend_path(p, q, steps=11)
    assert path["KL(p ‖ q_t)"][0] == np.inf and path["KL(p ‖ q_t)"][-1] == 0.0
    assert path["KL(q_t ‖ p)"][0] == info.kl_divergence(q, p) == np.inf
    assert all(np.isfinite(path["JS(p, q_t)"])) and path["JS(p, q_t)"][0] == pytest.approx(info.js_divergence(p, q))
    kl = path["KL(p ‖ q_t)"][1:]
    assert kl == sorted(kl, reverse=True)  # KL is convex in q, so it falls all the way along the straight path to p
