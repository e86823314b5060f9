"""Entropy, cross-entropy, KL and Jensen-Shannon divergence, Huffman codes, and the cross-entropy loss.

All of information theory a language model needs fits in one idea: an outcome of probability p
carries a *surprisal* of -log p. Entropy is the average surprisal when the data comes from p;
cross-entropy is the average surprisal when the data comes from p but you *believe* q; their
difference is the KL divergence, the price of the wrong belief. In bits (log base 2), these are
code lengths: a good code spends -log2 p bits on an outcome of probability p.

>>> entropy([0.5, 0.5])                      # a fair coin: one bit
1.0
>>> entropy([0.5, 0.25, 0.25])
1.5
>>> cross_entropy([0.5, 0.5], [0.75, 0.25])  # believing a biased coin costs more
1.2075...
>>> kl_divergence([0.5, 0.5], [0.75, 0.25])  # ... exactly this much more
0.2075...
>>> huffman_code([0.5, 0.25, 0.25]).codes
['1', '01', '00']

Inputs are probability vectors. Like scipy.stats.entropy, entries that do not sum to 1 are
divided by their sum; negative, NaN or all-zero entries raise LabError with a plain reason.
"""

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import LabError

MAX_OUTCOMES = 1_000_000  # beyond this a page would only stall; nothing here needs more
Tree = Union[int, tuple["Tree", "Tree"]]  # a Huffman tree: a leaf is an outcome index


# ----------------------------------------------------------------------------- distributions


def parse_numbers(text: str, name: str = "numbers") -> np.ndarray:
    """Numbers typed with commas or spaces between them. "nan" and "inf" are read as typed: the
    caller decides whether they are allowed (check_distribution refuses them).

    >>> parse_numbers("5, 3 1,1").tolist()
    [5.0, 3.0, 1.0, 1.0]
    """
    try:
        return np.array([float(w) for w in text.replace(",", " ").split()], dtype=np.float64)
    except ValueError as e:
        raise LabError(f"could not read the {name} as numbers: {e}") from e


def _blank(cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, str):
        return not cell.strip()
    try:
        return bool(np.isnan(cell))  # pandas turns an empty number cell into NaN
    except TypeError:
        return False


def cell_weights(cells: Sequence) -> np.ndarray:
    """Weights from a column of an editable table, where a blank cell counts as 0.

    A row the learner has just added is blank until they type in it; reading it as "no weight
    yet" keeps the table usable. Text that is not a number is an error; so is a negative number
    (check_distribution refuses it, as it refuses NaN typed in a text box).

    >>> cell_weights([0.5, None, float("nan"), " ", "0.25"]).tolist()
    [0.5, 0.0, 0.0, 0.0, 0.25]
    """
    try:
        return np.array([0.0 if _blank(c) else float(c) for c in cells], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise LabError(f"could not read a weight in the table as a number: {e}") from e


def check_distribution(values: Sequence[float], name: str = "p") -> tuple[np.ndarray, float]:
    """(values / their sum, the sum), or LabError saying what is wrong with `values`.

    >>> check_distribution([2, 1, 1])
    (array([0.5 , 0.25, 0.25]), 4.0)
    """
    p = np.asarray(values, dtype=np.float64).ravel()
    if p.size == 0:
        raise LabError(f"{name} has no outcomes")
    if p.size > MAX_OUTCOMES:
        raise LabError(f"{name} has {p.size:,} outcomes; the limit is {MAX_OUTCOMES:,}")
    if not np.all(np.isfinite(p)):
        raise LabError(f"{name} has a missing, NaN or infinite entry; every probability must be a finite number")
    if np.any(p < 0):
        raise LabError(f"{name} has a negative entry ({p.min():g}); probabilities are never negative")
    with np.errstate(over="ignore"):  # an overflowing sum is handled below
        total = float(p.sum())
    if total <= 0:
        raise LabError(f"{name} is all zeros; at least one outcome needs some probability")
    if not np.isfinite(total):  # entries near 1e308 overflow the sum; shrink them first
        p = p / p.max()
        return p / p.sum(), total
    return p / total, total


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p, q = check_distribution(p, "p")[0], check_distribution(q, "q")[0]
    if p.shape != q.shape:
        raise LabError(f"p has {p.size} outcomes but q has {q.size}; they must describe the same outcomes")
    return p, q


def _log(x: np.ndarray, base: float) -> np.ndarray:
    if not base > 0 or base == 1:
        raise LabError(f"a logarithm base must be positive and not 1 (got {base})")
    with np.errstate(divide="ignore"):  # log 0 = -inf is the right answer here, not a warning
        return np.log(x) / np.log(base)


def surprisal(p: Sequence[float], base: float = 2) -> np.ndarray:
    """-log p for each outcome: how surprised you are to see it (inf for an impossible one).

    >>> surprisal([0.5, 0.25, 0.25, 0])
    array([ 1.,  2.,  2., inf])
    """
    return -_log(check_distribution(p)[0], base)


def entropy_terms(p: Sequence[float], base: float = 2) -> np.ndarray:
    """Each outcome's share of the entropy, p * -log p; they sum to H(p).

    Outcomes with p = 0 add nothing (p log p -> 0 as p -> 0), so zeros are fine.

    >>> entropy_terms([0.5, 0.25, 0.25, 0]).tolist()
    [0.5, 0.5, 0.5, 0.0]
    """
    p = check_distribution(p)[0]
    nz = p > 0
    terms = np.zeros_like(p)
    terms[nz] = -p[nz] * _log(p[nz], base)
    return terms


def entropy(p: Sequence[float], base: float = 2) -> float:
    """H(p) = -sum p log p: the average surprisal, in bits for base 2 and nats for base e.

    >>> entropy([1, 0, 0])
    0.0
    >>> round(entropy([1/6] * 6), 4)                  # a die: log2 6 bits
    2.585
    """
    return float(entropy_terms(p, base).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def grouped(p: Sequence[float], decimals: int = 4) -> list[tuple[float, int]]:
    """The distinct positive probabilities of p (rounded), most likely first, each with how many
    outcomes share it: entropy by hand is written -(0.5 log 0.5 + 5 x 0.1 log 0.1).

    >>> grouped([0.1] * 5 + [0.5, 0])
    [(0.5, 1), (0.1, 5)]
    """
    p = check_distribution(p)[0]
    values, counts = np.unique(p[p > 0].round(decimals), return_counts=True)
    return [(float(v), int(c)) for v, c in zip(values[::-1], counts[::-1])]


def cross_entropy(p: Sequence[float], q: Sequence[float], base: float = 2) -> float:
    """H(p, q) = -sum p log q: average surprisal of data from p under the belief q.

    Infinite when q gives zero probability to an outcome that p can produce.

    >>> cross_entropy([0.5, 0.5], [1, 0])
    inf
    """
    p, q = _pair(p, q)
    nz = p > 0
    return float(-(p[nz] * _log(q[nz], base)).sum()) + 0.0


def kl_divergence(p: Sequence[float], q: Sequence[float], base: float = 2) -> float:
    """KL(p || q) = sum p log(p / q) = H(p, q) - H(p): the extra surprisal of believing q.

    Never negative (Gibbs' inequality), zero only when p = q, not symmetric, infinite when q
    misses an outcome p has. Computed directly, not as a difference, so it stays accurate when small.

    >>> kl_divergence([0.5, 0.5], [0.9, 0.1]) == kl_divergence([0.9, 0.1], [0.5, 0.5])
    False
    """
    p, q = _pair(p, q)
    nz = p > 0
    with np.errstate(divide="ignore"):
        kl = float((p[nz] * _log(p[nz] / q[nz], base)).sum())
    return max(kl, 0.0)  # rounding can leave -1e-17 when p = q; the true value is never negative


def js_divergence(p: Sequence[float], q: Sequence[float], base: float = 2) -> float:
    """JS(p, q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2: symmetric, finite, at most 1 bit.

    m gives mass wherever p or q does, so neither KL can be infinite. (scipy's jensenshannon
    returns the square root of this, a true distance.)

    >>> js_divergence([1, 0], [0, 1])               # nothing in common: exactly one bit
    1.0
    """
    p, q = _pair(p, q)
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


def unsupported(p: Sequence[float], q: Sequence[float]) -> np.ndarray:
    """Indices of the outcomes p can produce but q calls impossible: each makes KL(p || q) infinite.

    >>> unsupported([0.5, 0.5, 0], [1, 0, 0]).tolist()
    [1]
    """
    p, q = _pair(p, q)
    return np.flatnonzero((p > 0) & (q == 0))


@dataclass(frozen=True)
class Divergences:
    """Every number that compares p with q, in both directions (bits unless another base was asked for)."""

    entropy_p: float
    entropy_q: float
    cross_pq: float  # H(p, q): data from p, model q
    cross_qp: float  # H(q, p)
    kl_pq: float  # KL(p || q) = H(p, q) - H(p)
    kl_qp: float
    js: float  # Jensen-Shannon: symmetric and finite

    @property
    def js_distance(self) -> float:
        """sqrt(JS): a true metric, and what scipy.spatial.distance.jensenshannon returns."""
        return math.sqrt(self.js)

    @property
    def asymmetry(self) -> float:
        """|KL(p || q) - KL(q || p)|: how far KL is from being a distance (nan when both are infinite)."""
        return abs(self.kl_pq - self.kl_qp)


def divergences(p: Sequence[float], q: Sequence[float], base: float = 2) -> Divergences:
    """Entropies, cross-entropies and KL of p and q both ways, and their Jensen-Shannon divergence.

    >>> d = divergences([0.5, 0.5], [0.9, 0.1])
    >>> round(d.kl_pq, 3), round(d.kl_qp, 3), round(d.asymmetry, 3)
    (0.737, 0.531, 0.206)
    """
    p, q = _pair(p, q)
    return Divergences(entropy(p, base), entropy(q, base), cross_entropy(p, q, base), cross_entropy(q, p, base),
                       kl_divergence(p, q, base), kl_divergence(q, p, base), js_divergence(p, q, base))


# ----------------------------------------------------------------------------- distributions to start from


PRESETS = ("fair coin", "biased coin", "fair die", "loaded die", "uniform", "peaked", "English letters", "next token of a language model")

# Letter frequencies of English text (per cent), the classic table cryptographers and Shannon used.
ENGLISH_LETTERS = dict(zip("etaoinshrdlcumwfgypbvkjxqz", [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8,
                                                       2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 0.98, 0.77, 0.15, 0.15, 0.095, 0.074]))


def preset(name: str, n: int = 8, bias: float = 0.8) -> tuple[list[str], np.ndarray]:
    """(outcome labels, probabilities) of a named starting distribution.

    `n` is the number of outcomes of "uniform" and "peaked"; `bias` is P(heads) of the biased
    coin, the loaded die's P(six), and the share of the most likely outcome of "peaked".

    >>> preset("biased coin", bias=0.9)
    (['heads', 'tails'], array([0.9, 0.1]))
    >>> labels, p = preset("peaked", n=4, bias=0.7); p.round(3).tolist()
    [0.7, 0.2, 0.073, 0.027]
    """
    if name == "fair coin":
        return ["heads", "tails"], np.array([0.5, 0.5])
    if name == "biased coin":
        return ["heads", "tails"], np.array([bias, 1 - bias])
    if name == "fair die":
        return [str(i) for i in range(1, 7)], np.full(6, 1 / 6)
    if name == "loaded die":
        return [str(i) for i in range(1, 7)], np.array([(1 - bias) / 5] * 5 + [bias])
    if name == "uniform":
        return [f"x{i + 1}" for i in range(n)], np.full(n, 1 / n)
    if name == "peaked":  # geometric-like tail: the top outcome gets `bias`, the rest decay
        tail = np.exp(-np.arange(1, n) * 1.0)
        p = np.concatenate([[bias], (1 - bias) * tail / tail.sum()]) if n > 1 else np.ones(1)
        return [f"x{i + 1}" for i in range(n)], p
    if name == "English letters":
        return list(ENGLISH_LETTERS), check_distribution(list(ENGLISH_LETTERS.values()))[0]
    raise LabError(f"unknown preset '{name}'; choose one of {', '.join(PRESETS[:-1])}")


def compare_with(p: np.ndarray, how: str) -> np.ndarray:
    """A second distribution q over the same outcomes, made from p in a named way (see COMPARISONS).

    >>> compare_with(np.array([0.5, 0.3, 0.2]), "missing p's least likely outcome").round(3).tolist()
    [0.625, 0.375, 0.0]
    """
    p = check_distribution(p)[0]
    if how == "uniform":
        return np.full_like(p, 1 / p.size)
    if how == "reversed":
        return p[::-1].copy()
    if how == "flatter (p^0.5)":
        return check_distribution(np.sqrt(p))[0]
    if how == "sharper (p^2)":
        return check_distribution(p**2)[0]
    if how == "missing p's least likely outcome":  # KL(p||q) becomes infinite
        q = p.copy()
        q[np.flatnonzero(p > 0)[np.argmin(p[p > 0])]] = 0
        return check_distribution(q)[0] if q.sum() > 0 else np.full_like(p, 1 / p.size)
    raise LabError(f"unknown comparison '{how}'; choose one of {', '.join(COMPARISONS)}")


COMPARISONS = ("uniform", "flatter (p^0.5)", "sharper (p^2)", "reversed", "missing p's least likely outcome")


def next_token_distribution(lm, prompt: str, top_k: int = 10) -> tuple[list[str], np.ndarray]:
    """A causal LM's next-token distribution after `prompt`: its top_k tokens plus one "(other)" bucket.

    `lm` is a core.infra.models.LoadedModel. The bucket holds the remaining probability of the other
    ~49,000 tokens, so the result is a complete distribution whose entropy is a lower bound
    on the model's full next-token entropy (merging outcomes can only lower entropy).
    """
    if not prompt.strip():
        raise LabError("type a prompt: the model needs some text to predict the next token of")
    ids = lm.tokenizer(prompt, return_tensors="pt").input_ids[:, -512:]  # the last 512 tokens are plenty
    with torch.no_grad():
        probs = torch.softmax(lm.model(ids).logits[0, -1].double(), -1)
    top = torch.topk(probs, min(top_k, probs.numel()))
    labels = [repr(lm.tokenizer.decode([int(i)]))[1:-1].replace(" ", "␣") or "(empty)" for i in top.indices]
    return labels + ["(other)"], np.append(top.values.numpy(), max(0.0, 1.0 - float(top.values.sum())))


def blend_path(p: Sequence[float], q: Sequence[float], steps: int = 41, base: float = 2) -> dict[str, list[float]]:
    """KL both ways and JS between p and q_t = (1 - t) q + t p, as t slides q over to p.

    Both KLs fall to 0 at t = 1, but along different curves: the asymmetry, seen whole.

    >>> path = blend_path([0.9, 0.1], [0.5, 0.5], steps=3)
    >>> [round(v, 3) for v in path["KL(p ‖ q_t)"]], [round(v, 3) for v in path["KL(q_t ‖ p)"]]
    ([0.531, 0.168, 0.0], [0.737, 0.222, 0.0])
    """
    p, q = _pair(p, q)
    out: dict[str, list[float]] = {"t": [], "KL(p ‖ q_t)": [], "KL(q_t ‖ p)": [], "JS(p, q_t)": []}
    for t in np.linspace(0, 1, steps):
        q_t = (1 - t) * q + t * p
        out["t"].append(float(t))
        out["KL(p ‖ q_t)"].append(kl_divergence(p, q_t, base))
        out["KL(q_t ‖ p)"].append(kl_divergence(q_t, p, base))
        out["JS(p, q_t)"].append(js_divergence(p, q_t, base))
    return out


# ----------------------------------------------------------------------------- Huffman coding


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


def huffman_dot(code: HuffmanCode, p: Sequence[float], labels: Sequence[str]) -> str:
    """The code tree in Graphviz DOT: internal nodes show their probability, leaves their codeword."""
    p = check_distribution(p)[0]
    lines = ['digraph { node [fontname="Helvetica", fontsize=10]; edge [fontsize=9];']
    ids = itertools.count()

    def draw(node: Tree) -> tuple[str, float]:
        name = f"n{next(ids)}"
        if isinstance(node, tuple):
            (left, wl), (right, wr) = draw(node[0]), draw(node[1])
            lines.append(f'{name} [shape=circle, label="{wl + wr:.3g}"];')
            lines.append(f'{name} -> {left} [label="0"]; {name} -> {right} [label="1"];')
            return name, wl + wr
        label = str(labels[node]).replace('"', "'")
        lines.append(f'{name} [shape=box, style=rounded, label="{label}\\n{p[node]:.3g} · {code.codes[node] or "(empty)"}"];')
        return name, p[node]

    draw(code.tree)
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
    p, q = _pair(p, q)
    code_p, code_q, shannon = huffman_code(p), huffman_code(q), shannon_lengths(q)
    return CodeCosts(code_p, code_q, shannon, entropy(p), kl_divergence(p, q),
                     code_p.average_length(p), code_q.average_length(p), expected_length(shannon, p))


# ----------------------------------------------------------------------------- the loss on logits


def parse_logits(text: str, scale: float = 1.0, max_classes: int = 50) -> torch.Tensor:
    """Typed logits times `scale`, as float32 (the precision whose overflow the loss page shows).

    >>> parse_logits("2, 1 0.5", scale=10)
    tensor([20., 10.,  5.])
    """
    values = parse_numbers(text, "logits")
    if not 2 <= len(values) <= max_classes:
        raise LabError(f"type between 2 and {max_classes} logits (got {len(values)})")
    z = torch.tensor(values, dtype=torch.float32) * scale
    if not torch.isfinite(z).all():
        raise LabError("a logit is NaN or beyond float32's range (±3.4·10³⁸); even the stable formula needs finite logits")
    return z


def log_softmax_naive(logits: torch.Tensor) -> torch.Tensor:
    """log(exp(z) / sum exp(z)) exactly as written: exp overflows to inf for logits above ~88 (float32).

    >>> log_softmax_naive(torch.tensor([1000.0, 0.0]))
    tensor([nan, -inf])
    """
    e = torch.exp(logits)
    return torch.log(e / e.sum(-1, keepdim=True))


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """The same value computed safely: z - max(z) - log sum exp(z - max(z)).

    Subtracting the largest logit changes nothing mathematically (it cancels in the ratio) but
    makes every exponent <= 0, so exp never overflows, and the sum is >= 1, so log never sees 0.

    >>> log_softmax(torch.tensor([1000.0, 0.0]))
    tensor([    0., -1000.])
    """
    shifted = logits - logits.max(-1, keepdim=True).values.detach()  # the shift's gradient cancels exactly
    return shifted - torch.log(torch.exp(shifted).sum(-1, keepdim=True))


def smoothed_target(target: torch.Tensor, classes: int, label_smoothing: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(1 - eps) * one_hot(target) + eps / C: the target distribution label smoothing trains toward.

    >>> smoothed_target(torch.tensor([1]), 4, 0.2)
    tensor([[0.0500, 0.8500, 0.0500, 0.0500]])
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise LabError(f"label smoothing must lie in [0, 1] (got {label_smoothing})")
    return (1 - label_smoothing) * F.one_hot(target, classes).to(dtype) + label_smoothing / classes


def cross_entropy_loss(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy between smoothed one-hot targets and softmax(logits), from scratch.

    logits: (batch, classes); target: (batch,) class indices. With y the smoothed target the loss is
        -sum_i y_i log q_i = (1 - eps) * (-log q[target]) + eps * mean over classes of (-log q)
    which is what torch.nn.functional.cross_entropy computes. Its gradient with respect to the
    logits is (q - y) / batch: never zero while the model is wrong.

    >>> cross_entropy_loss(torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0]))
    tensor(0.2395)
    """
    y = smoothed_target(target, logits.shape[-1], label_smoothing, logits.dtype)
    return -(y * log_softmax(logits)).sum(-1).mean()


@dataclass(frozen=True)
class LossBreakdown:
    """One prediction's loss and what it is made of; arrays run over the classes."""

    loss: float  # ours, in nats
    reference: float  # torch.nn.functional.cross_entropy on the same logits
    q: np.ndarray  # softmax(logits): the model's probabilities
    target: np.ndarray  # the smoothed target y
    gradient: np.ndarray  # dL/dlogits by autograd through our loss: equals q - y

    @property
    def bits(self) -> float:
        return self.loss / math.log(2)


def loss_breakdown(logits: torch.Tensor, target: int, label_smoothing: float = 0.0) -> LossBreakdown:
    """The loss of one prediction (1-D logits, the right class), in float64, beside torch's.

    >>> b = loss_breakdown(torch.tensor([2.0, 0.0]), 0)
    >>> round(b.loss, 4) == round(b.reference, 4), b.gradient.round(4).tolist()
    (True, [-0.1192, 0.1192])
    """
    z = logits.detach().double().reshape(1, -1).requires_grad_()
    if not 0 <= target < z.shape[-1]:
        raise LabError(f"the right class must be one of 0 … {z.shape[-1] - 1} (got {target})")
    y = torch.tensor([target])
    loss = cross_entropy_loss(z, y, label_smoothing)
    (grad,) = torch.autograd.grad(loss, z)
    z = z.detach()
    return LossBreakdown(loss.item(), F.cross_entropy(z, y, label_smoothing=label_smoothing).item(), torch.softmax(z, -1)[0].numpy(),
                         smoothed_target(y, z.shape[-1], label_smoothing, z.dtype)[0].numpy(), grad[0].numpy())
