"""Our attention against torch's: F.scaled_dot_product_attention and nn.MultiheadAttention, to 1e-6."""

import pytest
import torch
import torch.nn.functional as F

from core.infra import models
from core.transformers.attention import MultiHeadAttention, attention_steps, merge_heads, scaled_dot_product_attention, split_heads

TOL = dict(atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def minilm():
    return models.load("minilm")


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(2, 3, 7, 16, generator=g, dtype=torch.float64) for _ in range(3)]


def padding_mask(lengths, n):
    """(B, 1, 1, L) boolean: True on real tokens, False on padding keys."""
    return (torch.arange(n)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch_sdpa(qkv, causal):
    q, k, v = qkv
    ours, w = scaled_dot_product_attention(q, k, v, causal=causal)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, is_causal=causal), **TOL)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 7, dtype=torch.float64), **TOL)
    if causal:
        assert (w.triu(1) == 0).all()


def test_matches_torch_sdpa_with_padding_masks(qkv):
    q, k, v = qkv
    mask = padding_mask([4, 7], 7)
    ours, w = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **TOL)
    assert (w[0, ..., 4:] == 0).all()
    # padding and causal together (torch takes the causal part as an explicit mask here)
    both = mask & torch.ones(7, 7, dtype=torch.bool).tril()
    ours, _ = scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=both), **TOL)


def test_fully_blocked_rows_give_zeros_like_torch(qkv):
    """A query with nothing it may look at: torch gives zero weights and a zero output, not NaN."""
    q, k, v = qkv
    # padded queries AND keys, (B, 1, L, L): the padded rows of sequence 0 see no key at all
    real = torch.arange(7)[None, :] < torch.tensor([4, 7])[:, None]
    both = (real[:, :, None] & real[:, None, :])[:, None]
    ours, w = scaled_dot_product_attention(q, k, v, mask=both)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=both), **TOL)
    assert (ours[0, :, 4:] == 0).all() and (w[0, :, 4:] == 0).all() and not w.isnan().any()
    torch.testing.assert_close(w[1].sum(-1), torch.ones(3, 7, dtype=torch.float64), **TOL)
    # left padding + causal: the first queries of a left-padded sequence may only see padding
    left = (torch.arange(7)[None, :] >= 7 - torch.tensor([4, 7])[:, None])[:, None, None, :]
    ours, w = scaled_dot_product_attention(q, k, v, mask=left, causal=True)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=left & torch.ones(7, 7, dtype=torch.bool).tril())
    torch.testing.assert_close(ours, ref, **TOL)
    assert (w[0, :, :3] == 0).all() and not w.isnan().any()


def test_matches_torch_sdpa_float_mask_scale_and_cross_lengths(qkv):
    q, k, v = qkv
    bias = torch.randn(7, 7, dtype=torch.float64)
    ours, _ = scaled_dot_product_attention(q, k, v, mask=bias, scale=1.0)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0), **TOL)
    ours, _ = scaled_dot_product_attention(q[..., :3, :], k, v, causal=True)  # 3 queries, 7 keys
    ref = F.scaled_dot_product_attention(q[..., :3, :], k, v, attn_mask=torch.ones(3, 7, dtype=torch.bool).tril(4))
    torch.testing.assert_close(ours, ref, **TOL)


def torch_weights(q, k, **kwargs):
    """torch's attention weights: F.sdpa with V = the identity returns the weights themselves."""
    return F.scaled_dot_product_attention(q, k, torch.eye(k.shape[-2], dtype=k.dtype), **kwargs)


def test_every_step_matches_an_independent_reference(qkv):
    q, k, v = qkv
    s = attention_steps(q, k, v, causal=True, scale=0.5)
    torch.testing.assert_close(s.scores, torch.einsum("bhid,bhjd->bhij", q, k), **TOL)
    # the scaled scores, before the mask: their softmax is torch's unmasked attention at scale 0.5
    torch.testing.assert_close(torch.softmax(s.scaled, -1), torch_weights(q, k, scale=0.5), **TOL)
    blocked = ~torch.ones(7, 7, dtype=torch.bool).tril()
    assert torch.equal(torch.isneginf(s.masked), blocked.expand_as(s.masked))
    torch.testing.assert_close(torch.softmax(s.masked, -1), torch_weights(q, k, scale=0.5, is_causal=True), **TOL)
    torch.testing.assert_close(s.weights, torch_weights(q, k, scale=0.5, is_causal=True), **TOL)
    torch.testing.assert_close(s.output, F.scaled_dot_product_attention(q, k, v, scale=0.5, is_causal=True), **TOL)


def test_without_scaling_softmax_saturates():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 20, 256, generator=g) for _ in range(3))
    _, scaled = scaled_dot_product_attention(q, k, v)
    _, raw = scaled_dot_product_attention(q, k, v, scale=1.0)
    assert raw.amax(-1).mean() > 0.9 > scaled.amax(-1).mean()


def test_split_and_merge_heads_are_inverse():
    x = torch.randn(2, 5, 12)
    assert split_heads(x, 3).shape == (2, 3, 5, 4)
    torch.testing.assert_close(merge_heads(split_heads(x, 3)), x)


def copy_from_torch(ref: torch.nn.MultiheadAttention, d: int, heads: int) -> MultiHeadAttention:
    ours = MultiHeadAttention(d, heads).double()
    wq, wk, wv = ref.in_proj_weight.chunk(3)
    bq, bk, bv = ref.in_proj_bias.chunk(3)
    with torch.no_grad():
        for lin, w, b in [(ours.q_proj, wq, bq), (ours.k_proj, wk, bk), (ours.v_proj, wv, bv),
                          (ours.out_proj, ref.out_proj.weight, ref.out_proj.bias)]:
            lin.weight.copy_(w)
            lin.bias.copy_(b)
    return ours


@pytest.mark.parametrize("case", ["plain", "causal", "padding", "cross"])
def test_multihead_matches_torch(case):
    torch.manual_seed(0)
    d, heads, n = 24, 4, 6
    ref = torch.nn.MultiheadAttention(d, heads, batch_first=True).double().eval()
    ours = copy_from_torch(ref, d, heads).eval()
    x = torch.randn(2, n, d, dtype=torch.float64)
    kv = torch.randn(2, n + 3, d, dtype=torch.float64) if case == "cross" else x
    kwargs, ref_kwargs = {}, {}
    if case == "causal":
        kwargs = {"causal": True}
        ref_kwargs = {"attn_mask": torch.ones(n, n, dtype=torch.bool).triu(1), "is_causal": True}  # torch: True = blocked
    if case == "padding":
        keep = padding_mask([4, 6], n)
        kwargs = {"mask": keep}
        ref_kwargs = {"key_padding_mask": ~keep[:, 0, 0]}
    out, w = ours(x, kv, **kwargs)
    ref_out, ref_w = ref(x, kv, kv, need_weights=True, average_attn_weights=False, **ref_kwargs)
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(w, ref_w, **TOL)


@pytest.mark.slow
def test_pretrained_layers_attention_reproduced(minilm):
    """Each MiniLM layer's own Q/K/V, fed that layer's input, gives the weights transformers reports (eager)."""
    from core.transformers.attention_demo import layer_attention

    batch = minilm.tokenizer(["Attention is all you need.", "Short one"], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = minilm.model(**batch, output_attentions=True, output_hidden_states=True)
        keep = batch["attention_mask"].bool()[:, None, None, :]
        for i, ref in enumerate(out.attentions):
            _, w = layer_attention(minilm, i)(out.hidden_states[i], mask=keep)
            torch.testing.assert_close(w, ref, atol=1e-6, rtol=0)
