"""core.information against scipy (entropy, KL, JS) and torch.nn.functional.cross_entropy (the loss)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

from core import information as info
from core.errors import LabError


def random_distributions(n_pairs=300, seed=0):
    """Pairs (p, q) of many sizes, unnormalised, a third with zeros in p, q or both."""
    rng = np.random.default_rng(seed)
    for i in range(n_pairs):
        size = int(rng.choice([1, 2, 3, 5, 10, 100, 3000]))
        p, q = rng.dirichlet([0.3] * size) * rng.uniform(0.1, 10), rng.random(size)
        if i % 3 == 1 and size > 1:
            p[rng.random(size) < 0.4] = 0
        if i % 3 == 2 and size > 1:
            q[rng.random(size) < 0.4] = 0
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
            assert ours == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert n_inf > 10  # the zeros really produced infinite cases, so that branch was tested


@pytest.mark.parametrize("base", BASES)
def test_cross_entropy_is_entropy_plus_kl(base):
    for p, q in PAIRS:
        ce, ref = info.cross_entropy(p, q, base), scipy_entropy(p, base=base) + scipy_entropy(p, q, base=base)
        assert ce == pytest.approx(ref, rel=1e-10, abs=1e-10) if np.isfinite(ref) else ce == np.inf


@pytest.mark.parametrize("base", BASES)
def test_js_matches_scipy_jensenshannon_squared(base):
    for p, q in PAIRS:
        ours = info.js_divergence(p, q, base)
        assert np.isfinite(ours) and ours == info.js_divergence(q, p, base)  # finite and symmetric
        assert ours == pytest.approx(jensenshannon(p, q, base=base) ** 2, rel=1e-9, abs=1e-12)


def test_kl_is_asymmetric_and_zero_only_for_equal_distributions():
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert info.kl_divergence(p, q) != pytest.approx(info.kl_divergence(q, p))
    assert info.kl_divergence(p, p) == 0.0
    assert info.kl_divergence([1, 1], [0, 1]) == np.inf and info.kl_divergence([0, 1], [1, 1]) == 1.0


def test_surprisal_and_units():
    assert info.surprisal([0.25, 0.75, 0]).tolist() == pytest.approx([2.0, -np.log2(0.75), np.inf])
    assert info.entropy([0.5, 0.5], base=np.e) == pytest.approx(np.log(2))


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


def test_mismatched_code_costs_about_kl_extra_bits():
    """A Huffman code built for q costs L_q(p) bits; the ideal cost is H(p) + KL(p||q)."""
    rng = np.random.default_rng(2)
    for _ in range(100):
        p, q = rng.dirichlet([1.0] * 6), rng.dirichlet([1.0] * 6)
        l_q = info.huffman_code(q).average_length(p)
        assert l_q >= info.huffman_code(p).average_length(p) - 1e-12  # p's own code is optimal for p
        assert l_q < info.cross_entropy(p, q) + 1 + info.kl_divergence(q, p) + 1  # loose sanity bound


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
