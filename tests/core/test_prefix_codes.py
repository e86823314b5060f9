"""core.foundations.prefix_codes: Huffman against a brute-force search over all prefix codes, Shannon's code
against its bounds (the entropy and cross-entropy from core.foundations.information, tested against scipy)."""

import itertools
import re

import numpy as np
import pytest

from core.foundations import information as info
from core.foundations import prefix_codes


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
        code = prefix_codes.huffman_code(p)
        h, length = info.entropy(p), code.average_length(p)
        assert h - 1e-12 <= length < h + 1, (p, code.codes)
        assert is_prefix_free(code.codes)
        assert all((c is None) == (pi == 0) for c, pi in zip(code.codes, p))


def test_huffman_on_dyadic_distribution_is_exactly_optimal_and_kraft_tight():
    p = [0.5, 0.25, 0.125, 0.125]
    code = prefix_codes.huffman_code(p)
    assert sorted(map(len, code.codes)) == [1, 2, 3, 3]
    assert code.average_length(p) == info.entropy(p) == 1.75
    assert sum(2.0 ** -len(c) for c in code.codes) == 1.0


def test_huffman_edge_cases():
    assert prefix_codes.huffman_code([1.0]).codes == [""]  # one outcome: nothing to say
    assert prefix_codes.huffman_code([0, 1, 0]).average_length([0, 1, 0]) == 0.0
    code_for_q = prefix_codes.huffman_code([0.5, 0.5, 0])
    assert code_for_q.average_length([1 / 3] * 3) == np.inf  # data needs a codeword q's code never made
    big = prefix_codes.huffman_code(np.ones(4096))
    assert big.average_length(np.ones(4096)) == 12.0
    dot = prefix_codes.huffman_dot(prefix_codes.huffman_code([0.5, 0.5]), [0.5, 0.5], ["a", 'b"'])
    assert dot.startswith("digraph") and dot.count("->") == 2
    odd = prefix_codes.huffman_dot(prefix_codes.huffman_code([0.5, 0.5]), [0.5, 0.5], ["a\x00b\nc", "d\\"])
    assert "\x00" not in odd and "\n" not in odd.split("];")[1] and 'd\\\\' in odd  # NUL and a line break become spaces


def test_a_wide_tree_is_laid_out_left_to_right_so_its_labels_keep_their_size():
    from core.foundations.information_demo import preset

    letters = prefix_codes.huffman_code(preset("English letters")[1])  # 26 leaves, 9 levels deep
    assert prefix_codes.tree_direction(letters) == "LR" and "rankdir=LR" in prefix_codes.huffman_dot(letters, preset("English letters")[1],
                                                                                                          preset("English letters")[0])
    chain = prefix_codes.huffman_code(preset("peaked", 27, 0.5)[1])  # 27 leaves but 26 levels deep: narrow from the top
    assert prefix_codes.tree_direction(chain) == "TB"


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
        code = prefix_codes.huffman_code(p)
        assert code.average_length(p) == pytest.approx(shortest_prefix_code_length(p), abs=1e-12), (p, code.codes)
        assert is_prefix_free(code.codes)


def test_a_code_built_for_q_never_beats_the_code_built_for_p():
    rng = np.random.default_rng(3)
    for _ in range(100):
        p, q = rng.dirichlet([1.0] * 6), rng.dirichlet([1.0] * 6)
        costs = prefix_codes.code_costs(p, q)
        assert costs.huffman_q == pytest.approx(prefix_codes.huffman_code(q).average_length(p), rel=1e-12)
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
        lengths = prefix_codes.shannon_lengths(q)
        assert (2.0**-lengths).sum() <= 1 + 1e-12  # Kraft: a prefix code with these lengths exists
        costs = prefix_codes.code_costs(p, q)
        h, ce, kl = info.entropy(p), info.cross_entropy(p, q), info.kl_divergence(p, q)
        assert costs.shannon == pytest.approx(prefix_codes.expected_length(lengths, p), rel=1e-12)
        assert ce - 1e-12 <= costs.shannon < ce + 1, (p, q)
        assert kl - 1e-12 <= costs.shannon_extra < kl + 1, (p, q)
        assert costs.shannon_extra == pytest.approx(costs.shannon - h, abs=1e-12)
        gaps.append(costs.shannon - ce)
    assert max(gaps) > 0.9 and min(gaps) < 0.1  # the bound is tight at both ends, so a code off by a bit would fail


def test_shannon_code_on_powers_of_two_and_zeros():
    q = [0.5, 0.25, 0.125, 0.125, 0.0]
    assert prefix_codes.shannon_lengths(q).tolist() == [1.0, 2.0, 3.0, 3.0, np.inf]  # exactly -log2 q: no rounding up
    assert prefix_codes.code_costs([0.2, 0.2, 0.2, 0.4, 0.0], q).shannon == pytest.approx(info.cross_entropy([0.2, 0.2, 0.2, 0.4, 0.0], q))
    assert prefix_codes.code_costs([0.2, 0.2, 0.2, 0.2, 0.2], q).shannon == np.inf  # q's code has no word for p's last outcome
    assert prefix_codes.shannon_lengths([1.0]).tolist() == [0.0] and prefix_codes.shannon_lengths([3, 1]).tolist() == [1.0, 2.0]
    tiny = 2.0**-np.arange(1, 60)  # every power of two gets exactly its exponent, however small
    np.testing.assert_array_equal(prefix_codes.shannon_lengths(np.append(tiny, 1 - tiny.sum()))[:-1], np.arange(1, 60))


@pytest.mark.parametrize("p", [[0.5, 0.25, 0.25], [1 / 27] * 27])
def test_huffman_dot_separates_graph_statements_with_semicolons(p):
    # outside [attribute lists] and "strings", a comma is a DOT syntax error: the browser then draws no tree at all
    dot = prefix_codes.huffman_dot(prefix_codes.huffman_code(p), p, [str(i) for i in range(len(p))])
    bare = re.sub(r"\[[^\]]*\]", "", re.sub(r'"[^"]*"', '""', dot))
    assert "," not in bare, bare[:200]
