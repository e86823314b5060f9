"""Positional encodings: four ways to tell attention where each token sits.

Attention treats its input as a set (shuffle the tokens and the outputs shuffle the same way), so
order must be added. Absolute encodings add a vector per position to the word vectors:
  - sinusoidal (Vaswani et al. 2017): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)
  - learned: a trained table, one row per position (BERT, GPT-2; MiniLM's is 512 × 384)
Relative encodings change the scores instead:
  - RoPE (Su et al. 2021, Llama): rotate each (x_i, x_{i+d/2}) pair of q and k by angle p·θ_i, so
    q_m · k_n depends only on m − n
  - ALiBi (Press et al. 2021, BLOOM): add −slope_h · (i − j) to head h's scores

>>> pe = sinusoidal(4, 6)
>>> pe[0].tolist()
[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
>>> alibi_slopes(4).tolist()
[0.25, 0.0625, 0.015625, 0.00390625]
"""

import math

import numpy as np
import torch


def angles(positions: int | torch.Tensor, d: int, base: float = 10000.0) -> torch.Tensor:
    """(L, ⌈d/2⌉) float64: p·θ_i with θ_i = base^(−2i/d), one clock per feature pair, at every position p.

    Both encodings below are built from these same clocks: sinusoidal writes down their sin and
    cos, RoPE rotates q and k by them. `positions` is a count L (positions 0 … L−1) or a tensor.

    >>> angles(2, 4, base=100.0).tolist()
    [[0.0, 0.0], [1.0, 0.1]]
    """
    p = torch.arange(positions) if isinstance(positions, int) else positions
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    return p.double()[:, None] * theta


def sinusoidal(n_positions: int, d: int, base: float = 10000.0) -> torch.Tensor:
    """(n_positions, d): sin on even features, cos on odd ones; wavelengths 2π … 2π·base."""
    a = angles(n_positions, d, base)
    pe = torch.zeros(n_positions, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(a)
    pe[:, 1::2] = torch.cos(a)[:, : d // 2]
    return pe.float()


def rope(x: torch.Tensor, positions: torch.Tensor | None = None, base: float = 10000.0) -> torch.Tensor:
    """Rotate x (..., L, d) pairwise by position (the "rotate half" layout Llama uses), in x's dtype.

    Feature i is paired with feature i + d/2; the pair turns by angle p·θ_i.

    >>> q = torch.ones(1, 4)
    >>> torch.allclose(rope(q, torch.tensor([3])) @ rope(q, torch.tensor([1])).T,
    ...                rope(q, torch.tensor([7])) @ rope(q, torch.tensor([5])).T)  # only m − n counts
    True
    """
    n, d = x.shape[-2], x.shape[-1]
    a = angles(n if positions is None else positions, d, base)
    cos = torch.cat([a.cos(), a.cos()], dim=-1).to(x.dtype)
    sin = torch.cat([a.sin(), a.sin()], dim=-1).to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    rotated_half = torch.cat([-x2, x1], dim=-1)
    return x * cos + rotated_half * sin


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """Head h's slope (h = 0 … H−1), the rule of the ALiBi paper and BLOOM's build_alibi_tensor.

    H a power of two: m_h = 2^(−8(h+1)/H). Otherwise: the n = 2^⌊log2 H⌋ slopes of n heads, then
    the first H − n odd-numbered slopes of 2n heads, 2^(−4(2k−1)/n) for k = 1 … H − n (they fall
    between the others).

    >>> alibi_slopes(3).tolist()
    [0.0625, 0.00390625, 0.25]
    """
    def powers(n):
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]

    closest = 2 ** math.floor(math.log2(n_heads))
    slopes = powers(closest)
    if closest < n_heads:  # the paper's recipe for other head counts: every other slope of 2·closest
        slopes += powers(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(slopes)


def alibi_bias(n_heads: int, n_positions: int) -> torch.Tensor:
    """(heads, L, L): −slope_h · (i − j) for keys j ≤ i, −inf for the future keys a causal model hides.

    >>> alibi_bias(1, 3)[0]
    tensor([[ 0.0000,    -inf,    -inf],
            [-0.0039,  0.0000,    -inf],
            [-0.0078, -0.0039,  0.0000]])
    """
    i = torch.arange(n_positions).float()
    ahead = i[None, :] - i[:, None]  # j − i: negative for the keys behind the query
    bias = alibi_slopes(n_heads)[:, None, None] * ahead
    return bias.masked_fill(ahead > 0, float("-inf"))


# ----------------------------------------------------------------------------- for the plots


def cosine_matrix(pe: torch.Tensor) -> torch.Tensor:
    """(L, L) cosine similarity between every two position vectors."""
    unit = pe / pe.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return unit @ unit.T


def similarity_vs_distance(sim: torch.Tensor, max_distance: int) -> np.ndarray:
    """Mean of sim[p, p + k] over p, for k = 0 … max_distance: how alike two positions k apart are."""
    n = sim.shape[0]
    return np.array([sim.diagonal(k).mean().item() for k in range(min(max_distance, n - 1) + 1)])


def rope_score_vs_distance(d: int, max_distance: int, base: float = 10000.0) -> np.ndarray:
    """q·k after RoPE for q = k = all ones, as a function of their distance (RoFormer's decay plot), / d."""
    ones = torch.ones(1, d)
    q = rope(ones, torch.tensor([0]), base)
    k = rope(ones.expand(max_distance + 1, d), torch.arange(max_distance + 1), base)
    return (k @ q.T)[:, 0].numpy() / d


def rope_scores(n_positions: int, d: int, base: float = 10000.0) -> torch.Tensor:
    """(L, L): q·k / d after RoPE for q = k = all ones at every pair of positions (a Toeplitz matrix)."""
    rotated = rope(torch.ones(n_positions, d), base=base)
    return rotated @ rotated.T / d


def alibi_factor_vs_distance(n_heads: int, max_distance: int) -> np.ndarray:
    """(heads, max_distance + 1): exp(bias), the factor ALiBi multiplies a key's softmax weight by at distance k."""
    return np.exp(-alibi_slopes(n_heads).numpy()[:, None] * np.arange(max_distance + 1))
