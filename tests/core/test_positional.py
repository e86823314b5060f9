"""Our positional encodings against the implementations inside transformers (DistilBERT, Llama, BLOOM)."""

import numpy as np
import pytest
import torch
from transformers import LlamaConfig
from transformers.models.bloom.modeling_bloom import build_alibi_tensor
from transformers.models.distilbert.modeling_distilbert import create_sinusoidal_embeddings
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

from core.transformers import positional
from core.transformers.attention import scaled_dot_product_attention


@pytest.mark.parametrize("n, d", [(50, 64), (7, 10)])
def test_sinusoidal_matches_distilbert(n, d):
    ref = torch.empty(n, d)
    create_sinusoidal_embeddings(n, d, ref)
    torch.testing.assert_close(positional.sinusoidal(n, d), ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("base", [10000.0, 500000.0])
def test_rope_matches_llama(base):
    heads, n, d = 2, 9, 16
    config = LlamaConfig(hidden_size=heads * d, num_attention_heads=heads, rope_theta=base, max_position_embeddings=64)
    config.rope_parameters = {"rope_type": "default", "rope_theta": base}
    rotary = LlamaRotaryEmbedding(config)
    g = torch.Generator().manual_seed(0)
    q, k = (torch.randn(1, heads, n, d, generator=g, dtype=torch.float64) for _ in range(2))
    positions = torch.arange(3, 3 + n)[None]
    cos, sin = rotary(q, positions)
    ref_q, ref_k = apply_rotary_pos_emb(q, k, cos, sin)
    # float64 in and out, but LlamaRotaryEmbedding always computes its angles and cos/sin in float32
    # (its forward casts to float) and only then casts to q's dtype: we agree to ~3e-7, not to float64's 1e-15
    torch.testing.assert_close(positional.rope(q, positions[0], base), ref_q, atol=1e-6, rtol=0)
    torch.testing.assert_close(positional.rope(k, positions[0], base), ref_k, atol=1e-6, rtol=0)


def test_rope_scores_depend_only_on_distance():
    q, k = torch.randn(1, 8), torch.randn(1, 8)
    at = lambda m, n: (positional.rope(q, torch.tensor([m])) @ positional.rope(k, torch.tensor([n])).T).item()
    assert at(10, 4) == pytest.approx(at(106, 100), abs=1e-4)
    assert at(10, 4) != pytest.approx(at(10, 5), abs=1e-3)


@pytest.mark.parametrize("heads", range(1, 17))  # every head count the page offers, powers of two or not
def test_alibi_matches_bloom(heads):
    n = 10
    ref = build_alibi_tensor(torch.ones(1, n), heads, torch.float32)  # (heads, 1, n): slope · key position
    torch.testing.assert_close(positional.alibi_slopes(heads), ref[:, 0, 1], atol=1e-7, rtol=0)
    bias = positional.alibi_bias(heads, n)
    assert torch.isneginf(bias).equal(~torch.ones(n, n, dtype=torch.bool).tril().expand(heads, n, n))  # future keys masked
    # BLOOM's bias differs from ours by a per-row constant, which softmax ignores: same weights
    q, k, v = torch.randn(3, heads, n, 4).unbind(0)
    _, ours = scaled_dot_product_attention(q, k, v, mask=positional.alibi_bias(heads, n), causal=True)
    _, theirs = scaled_dot_product_attention(q, k, v, mask=ref, causal=True)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_similarity_curves():
    sim = positional.cosine_matrix(positional.sinusoidal(64, 32))
    curve = positional.similarity_vs_distance(sim, 20)
    assert curve[0] == pytest.approx(1.0) and curve[1] < curve[0] and curve.shape == (21,)
    decay = positional.rope_score_vs_distance(64, 100)
    assert decay[0] == pytest.approx(1.0) and abs(decay[50]) < 0.5
    scores = positional.rope_scores(20, 16)
    torch.testing.assert_close(scores.diagonal(3), torch.full((17,), scores[3, 0].item()))  # Toeplitz: only distance counts
    factors = positional.alibi_factor_vs_distance(4, 10)
    assert factors.shape == (4, 11) and (factors[:, 0] == 1).all() and (np.diff(factors, axis=1) < 0).all()


def test_rope_decay_equals_sinusoidal_similarity():
    """Both are mean_i cos(k·θ_i): the page's claim that the two curves coincide."""
    sinus = positional.similarity_vs_distance(positional.cosine_matrix(positional.sinusoidal(300, 64)), 200)
    np.testing.assert_allclose(positional.rope_score_vs_distance(64, 200), sinus, atol=1e-5)
