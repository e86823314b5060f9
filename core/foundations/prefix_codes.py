"""Prefix codes: Huffman's optimal code and Shannon's code, and what each costs against the entropy.

A prefix code gives each outcome a bit string, none the start of another, so a stream of codewords
reads back without separators. Entropy (core.foundations.information) is the least average length
any code can reach; whole-bit codewords pay at most one bit more:

>>> huffman_code([0.5, 0.25, 0.25]).codes
['1', '01', '00']
>>> huffman_code([0.5, 0.25, 0.25]).average_length([0.5, 0.25, 0.25])    # = H(p): p is dyadic
1.5
"""

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import LabError
from core.foundations.information import check_distribution, check_pair, entropy, kl_divergence

Tree = int | tuple["Tree", "Tree"]  # a Huffman tree: a leaf is an outcome index


def expected_length(lengths: np.ndarray, p: Sequence[float]) -> float:
    """Expected bits per outcome of a code with these codeword lengths, when the outcomes come from p.

    inf if p can produce an outcome the code has no codeword for (length inf).

    >>> expected_length(np.array([1, 2, 2]), [0.5, 0.25, 0.25])
    1.5
    """
    p = check_distribution(p)[0]
    if p.shape != lengths.shape:
        raise LabError(f"the code has {lengths.size} codewords but p has {p.size} outcomes")
    nz = p > 0
    return float((p[nz] * lengths[nz]).sum())


@dataclass
class HuffmanCode:
    """A prefix code: codes[i] is the bit string for outcome i (None: the code can't send it)."""

    codes: list[str | None]
    tree: Tree  # a leaf is an outcome index; built from the outcomes with positive probability

    def lengths(self) -> np.ndarray:
        """Codeword lengths, inf for outcomes without a codeword."""
        return np.array([np.inf if c is None else len(c) for c in self.codes])

    def average_length(self, p: Sequence[float]) -> float:
        """Expected bits per outcome when the outcomes come from p (inf if p needs a missing codeword)."""
        return expected_length(self.lengths(), p)


def huffman_code(p: Sequence[float]) -> HuffmanCode:
    """The optimal prefix code for p: repeatedly merge the two least likely subtrees.

    Outcomes with p = 0 get no codeword: they never occur, and giving them one would only lengthen
    the others. A single possible outcome gets the empty codeword: there is nothing to say. With
    these two rules H(p) <= average length < H(p) + 1 holds for every p.

    >>> code = huffman_code([0.4, 0.3, 0.2, 0.1, 0.0])
    >>> code.codes
    ['1', '01', '000', '001', None]
    >>> round(code.average_length([0.4, 0.3, 0.2, 0.1, 0.0]), 2), round(entropy([0.4, 0.3, 0.2, 0.1]), 2)
    (1.9, 1.85)
    """
    p = check_distribution(p)[0]
    order = itertools.count()  # breaks ties between equal weights, so the code is deterministic
    heap = [(w, next(order), i) for i, w in enumerate(p.tolist()) if w > 0]  # Python floats compare ~10x faster than numpy's
    heapq.heapify(heap)
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)  # the least likely subtree goes on the 1 side
        w0, _, b = heapq.heappop(heap)
        heapq.heappush(heap, (w0 + w1, next(order), (b, a)))
    tree = heap[0][2]
    codes: list[str | None] = [None] * len(p)
    stack = [(tree, "")]
    while stack:  # walk the tree: left adds a 0, right adds a 1
        node, prefix = stack.pop()
        if isinstance(node, tuple):
            stack += [(node[0], prefix + "0"), (node[1], prefix + "1")]
        else:
            codes[node] = prefix
    return HuffmanCode(codes, tree)


def tree_direction(code: HuffmanCode) -> str:
    """How to lay the code tree out so its text stays legible: "TB" (root on top, the usual picture) unless the
    tree is much wider than deep, then "LR" (root on the left): 27 leaves side by side would shrink to fit.

    >>> tree_direction(huffman_code([0.5, 0.25, 0.25])), tree_direction(huffman_code([1 / 27] * 27))
    ('TB', 'LR')
    """
    leaves = sum(c is not None for c in code.codes)
    depth = max((len(c) for c in code.codes if c is not None), default=0)
    return "LR" if leaves > 12 and leaves > 1.5 * depth else "TB"


def huffman_dot(code: HuffmanCode, p: Sequence[float], labels: Sequence[str]) -> str:
    """The code tree in Graphviz DOT: internal nodes show their probability, leaves their codeword.
    Laid out as `tree_direction` says (a wide tree from left to right, so its labels keep their size)."""
    p = check_distribution(p)[0]
    direction = tree_direction(code)
    # graph attributes are statements, separated by ";" (a "," there is a DOT syntax error: nothing is drawn)
    spacing = "nodesep=0.08; ranksep=0.35" if direction == "LR" else "nodesep=0.25; ranksep=0.4"
    lines = [f'digraph {{ rankdir={direction}; ordering=out; {spacing}; node [fontname="Helvetica", fontsize=12, margin="0.05,0.02"]; '
             'edge [fontsize=11, arrowsize=0.6];']
    ids = itertools.count()

    def add_node(node: Tree) -> tuple[str, float]:
        name = f"n{next(ids)}"
        if isinstance(node, tuple):
            (left, wl), (right, wr) = add_node(node[0]), add_node(node[1])
            lines.append(f'{name} [shape=circle, width=0.4, fixedsize=false, label="{wl + wr:.3g}"];')
            lines.append(f'{name} -> {left} [label="0"]; {name} -> {right} [label="1"];')
            return name, wl + wr
        label = "".join(ch if ch.isprintable() else " " for ch in str(labels[node]))[:40]  # NUL, line breaks: a space
        label = label.replace("\\", "\\\\").replace('"', "'")
        lines.append(f'{name} [shape=box, style=rounded, height=0.3, label="{label}  {p[node]:.3g} · {code.codes[node] or "(empty)"}"];')
        return name, p[node]

    add_node(code.tree)
    return "\n".join(lines + ["}"])


def shannon_lengths(q: Sequence[float]) -> np.ndarray:
    """Shannon's code for q: codeword lengths ceil(-log2 q), whole bits at most one above the ideal.

    Since 2^-length <= q, the lengths satisfy Kraft's inequality, so a prefix code with them
    exists. Data from p then costs between H(p, q) and H(p, q) + 1 bits per outcome: between
    KL(p || q) and KL(p || q) + 1 more than H(p), for every p. (Huffman's code for q can cost more
    than that on data from p: it is optimal for q, not within a bit of H(p, q).) inf where q = 0.

    >>> shannon_lengths([0.5, 0.3, 0.2, 0])
    array([ 1.,  2.,  3., inf])
    """
    q = check_distribution(q, "q")[0]
    with np.errstate(divide="ignore"):  # np.log2 is exact at powers of two (log / log 2 is not: 2^-29 would get 30 bits)
        return np.ceil(-np.log2(q))


@dataclass(frozen=True)
class CodeCosts:
    """What coding data from p costs, in bits per outcome, with codes built for p and for q."""

    code_p: HuffmanCode
    code_q: HuffmanCode
    shannon_q: np.ndarray  # Shannon code lengths ceil(-log2 q)
    entropy: float  # H(p): no code beats it on average
    kl: float  # KL(p || q): what ideal (fractional) lengths -log2 q cost on top of H(p)
    huffman_p: float  # p's Huffman code: in [H(p), H(p) + 1)
    huffman_q: float  # q's Huffman code on data from p (inf if q calls an outcome of p impossible)
    shannon: float  # q's Shannon code on data from p: in [H(p, q), H(p, q) + 1)

    @property
    def huffman_overhead(self) -> float:
        """Bits p's own Huffman code pays above H(p) for whole-bit codewords: in [0, 1)."""
        return self.huffman_p - self.entropy

    @property
    def huffman_extra(self) -> float:
        """Extra bits paid for using q's Huffman code instead of p's: never negative."""
        return self.huffman_q - self.huffman_p

    @property
    def shannon_extra(self) -> float:
        """Bits q's Shannon code pays above H(p): in [KL(p || q), KL(p || q) + 1)."""
        return self.shannon - self.entropy


def code_costs(p: Sequence[float], q: Sequence[float]) -> CodeCosts:
    """Huffman codes for p and for q and Shannon's code for q, each used on data from p.

    >>> c = code_costs([0.5, 0.25, 0.25], [0.25, 0.25, 0.5])
    >>> c.huffman_p, c.huffman_q, c.shannon, c.kl
    (1.5, 1.75, 1.75, 0.25)
    """
    p, q = check_pair(p, q)
    code_p, code_q, shannon = huffman_code(p), huffman_code(q), shannon_lengths(q)
    return CodeCosts(code_p, code_q, shannon, entropy(p), kl_divergence(p, q),
                     code_p.average_length(p), code_q.average_length(p), expected_length(shannon, p))
