"""Attention from scratch: scaled dot-product attention, one step at a time, and multi-head attention.

    Attention(Q, K, V) = softmax(Q Kᵀ / √d + mask) V

Every query row asks "which keys look like me?": its dot products with all keys (scores), scaled
by 1/√d so they don't grow with the width d, are turned into weights that sum to 1 (softmax), and
the output is that weighted average of the value rows. `attention_steps` keeps every intermediate
so the page can draw each one; `scaled_dot_product_attention` is the same computation returning
only what torch.nn.functional.scaled_dot_product_attention returns (plus the weights).

>>> q = k = v = torch.eye(2)
>>> out, w = scaled_dot_product_attention(q, k, v, causal=True)
>>> w
tensor([[1.0000, 0.0000],
        [0.3302, 0.6698]])
"""

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class AttentionSteps:
    """Every intermediate of one attention call; shapes (..., L_q, L_k) unless noted."""

    q: torch.Tensor  # (..., L_q, d)
    k: torch.Tensor  # (..., L_k, d)
    v: torch.Tensor  # (..., L_k, d_v)
    scores: torch.Tensor  # Q Kᵀ, before scaling
    scaled: torch.Tensor  # Q Kᵀ · scale
    masked: torch.Tensor  # scaled, with -inf where a query may not look
    weights: torch.Tensor  # softmax over keys: each row sums to 1
    output: torch.Tensor  # (..., L_q, d_v) = weights @ V
    scale: float


def causal_mask(n_q: int, n_k: int, device=None) -> torch.Tensor:
    """Boolean (n_q, n_k): True where query i may look at key j (j ≤ i, aligned to the end like torch).

    >>> causal_mask(3, 3).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
    """
    return torch.ones(n_q, n_k, dtype=torch.bool, device=device).tril(diagonal=n_k - n_q)


def attention_steps(q, k, v, mask=None, causal=False, scale=None) -> AttentionSteps:
    """Scaled dot-product attention, keeping every intermediate.

    mask: boolean (True = may attend) or float (added to the scores), broadcastable to
    (..., L_q, L_k) — the same convention as torch.nn.functional.scaled_dot_product_attention.
    scale: None means 1/√d; pass 1.0 to see what happens without it.
    """
    d = q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    scores = q @ k.transpose(-2, -1)
    scaled = scores * scale
    masked = scaled
    if causal:
        masked = masked.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), float("-inf"))
    if mask is not None:
        masked = masked.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else masked + mask
    # a query with nothing it may look at (a padded query, or left padding under the causal mask)
    # would get softmax's 0/0 = NaN; like torch's F.sdpa it gets zero weights and a zero output
    blocked = torch.isneginf(masked).all(dim=-1, keepdim=True)
    weights = torch.softmax(masked.masked_fill(blocked, 0.0), dim=-1).masked_fill(blocked, 0.0)
    return AttentionSteps(q, k, v, scores, scaled, masked, weights, weights @ v, scale)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None):
    """softmax(Q Kᵀ · scale + mask) V; returns (output, weights). Same conventions as torch's F.sdpa."""
    steps = attention_steps(q, k, v, mask=mask, causal=causal, scale=scale)
    return steps.output, steps.weights


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, L, d_model) → (B, heads, L, d_model / heads): each head gets its own slice of the features.

    >>> split_heads(torch.arange(8.).view(1, 2, 4), 2)[0, 1]
    tensor([[2., 3.],
            [6., 7.]])
    """
    b, n, d = x.shape
    return x.view(b, n, n_heads, d // n_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, L, d_head) → (B, L, heads · d_head): the heads' outputs side by side (concatenation)."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


@dataclass
class MultiHeadSteps:
    q: torch.Tensor  # (B, heads, L_q, d_head), after the split
    k: torch.Tensor
    v: torch.Tensor
    weights: torch.Tensor  # (B, heads, L_q, L_k)
    heads: torch.Tensor  # (B, heads, L_q, d_head): each head's own attention output
    concat: torch.Tensor  # (B, L_q, d_model): the heads side by side
    output: torch.Tensor  # (B, L_q, d_model): concat @ W_oᵀ + b_o


class MultiHeadAttention(nn.Module):
    """Project to Q, K, V, split into heads, attend in each head, concatenate, project back.

    >>> mha = MultiHeadAttention(d_model=8, n_heads=2)
    >>> out, w = mha(torch.randn(1, 5, 8))
    >>> tuple(out.shape), tuple(w.shape)
    ((1, 5, 8), (1, 2, 5, 5))
    """

    def __init__(self, d_model: int, n_heads: int, bias: bool = True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def steps(self, x, kv=None, mask=None, causal=False, scale=None) -> MultiHeadSteps:
        kv = x if kv is None else kv
        q = split_heads(self.q_proj(x), self.n_heads)
        k = split_heads(self.k_proj(kv), self.n_heads)
        v = split_heads(self.v_proj(kv), self.n_heads)
        heads, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, scale=scale)
        concat = merge_heads(heads)
        return MultiHeadSteps(q, k, v, weights, heads, concat, self.out_proj(concat))

    def forward(self, x, kv=None, mask=None, causal=False, scale=None):
        """x: (B, L, d_model); returns (output (B, L, d_model), weights (B, heads, L, L_kv))."""
        s = self.steps(x, kv, mask=mask, causal=causal, scale=scale)
        return s.output, s.weights

    @classmethod
    def from_bert_layer(cls, layer) -> "MultiHeadAttention":
        """A copy of a transformers BERT (or DistilBERT) layer's self-attention: Q, K, V and output projections."""
        n_heads, projections = bert_projections(layer)
        mha = cls(projections[0].in_features, n_heads)
        with torch.no_grad():
            for mine, theirs in zip((mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj), projections):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)
        return mha.eval().requires_grad_(False)


def bert_projections(layer) -> tuple[int, tuple[nn.Linear, nn.Linear, nn.Linear, nn.Linear]]:
    """(heads, (W_q, W_k, W_v, W_o)) of a transformers BERT-family layer, whichever names it uses.

    BERT, RoBERTa and MiniLM: attention.self.query/key/value and attention.output.dense;
    DistilBERT: attention.q_lin/k_lin/v_lin/out_lin.
    """
    a = layer.attention
    if hasattr(a, "q_lin"):
        return a.n_heads, (a.q_lin, a.k_lin, a.v_lin, a.out_lin)
    return a.self.num_attention_heads, (a.self.query, a.self.key, a.self.value, a.output.dense)
