"""Our encoder and decoder layers (the GPT's blocks in their encoder-decoder roles) equal torch.nn's
TransformerEncoderLayer / TransformerDecoderLayer with the same weights, masks and norm placement."""

import pytest
import torch
import torch.nn.functional as F

from core.transformers.encoder_decoder import DecoderBlock, EncoderDecoder, EncoderDecoderConfig
from core.transformers.gpt import Block, GPTConfig

D, HEADS, S, T = 16, 4, 7, 5


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")  # the GPT's MLP activation; torch's layers take any callable


def copy_attention(ours, theirs):
    """Ours keeps Q, K, V in one (3d, d) Linear, row blocks q, k, v: exactly MultiheadAttention's in_proj."""
    theirs.in_proj_weight.copy_(ours.c_attn.weight)
    theirs.in_proj_bias.copy_(ours.c_attn.bias)
    theirs.out_proj.weight.copy_(ours.c_proj.weight)
    theirs.out_proj.bias.copy_(ours.c_proj.bias)


def copy_linear(ours, theirs):
    theirs.weight.copy_(ours.weight)
    theirs.bias.copy_(ours.bias)


def randomise(module, seed):
    """Every parameter random, LayerNorm gains and biases included, so a swapped norm would show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return module


def config():
    return GPTConfig(vocab_size=10, context=16, n_layer=1, n_head=HEADS, n_embd=D)


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, S, D, generator=g)
    y = torch.randn(3, T, D, generator=g)
    real = torch.ones(3, S, dtype=torch.bool)
    real[1, 4:] = False  # padding at the end of two sources
    real[2, 2:] = False
    return x, y, real


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_layer_equals_torch(norm_first):
    ours = randomise(Block(config(), torch.Generator().manual_seed(0), causal=False, norm_first=norm_first), 2).eval()
    theirs = torch.nn.TransformerEncoderLayer(D, HEADS, dim_feedforward=4 * D, dropout=0.0, activation=gelu_tanh, batch_first=True,
                                              norm_first=norm_first).eval()
    with torch.no_grad():
        copy_attention(ours.attn, theirs.self_attn)
        copy_linear(ours.mlp.c_fc, theirs.linear1)
        copy_linear(ours.mlp.c_proj, theirs.linear2)
        copy_linear(ours.ln_1, theirs.norm1)
        copy_linear(ours.ln_2, theirs.norm2)
        x, _, real = inputs()
        mine, _ = ours(x, mask=real[:, None, None, :])  # ours: True = may attend
        reference = theirs(x, src_key_padding_mask=~real)  # torch: True = padding, ignore
    # torch's layer returns zeros at padded positions on its fast path: compare the real ones (and all of them when it doesn't)
    assert torch.allclose(mine[real], reference[real], atol=1e-6), (mine[real] - reference[real]).abs().max()


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_layer_equals_torch(norm_first):
    ours = randomise(DecoderBlock(config(), torch.Generator().manual_seed(0), norm_first=norm_first), 3).eval()
    theirs = torch.nn.TransformerDecoderLayer(D, HEADS, dim_feedforward=4 * D, dropout=0.0, activation=gelu_tanh, batch_first=True,
                                              norm_first=norm_first).eval()
    with torch.no_grad():
        copy_attention(ours.attn, theirs.self_attn)
        copy_attention(ours.cross, theirs.multihead_attn)
        copy_linear(ours.mlp.c_fc, theirs.linear1)
        copy_linear(ours.mlp.c_proj, theirs.linear2)
        for mine, their in zip((ours.ln_1, ours.ln_2, ours.ln_3), (theirs.norm1, theirs.norm2, theirs.norm3)):
            copy_linear(mine, their)
        x, y, real = inputs()
        mine, weights = ours(y, x, memory_mask=real[:, None, None, :], need_weights=True)
        reference = theirs(y, x, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T), tgt_is_causal=True,
                           memory_key_padding_mask=~real)
    assert torch.allclose(mine, reference, atol=1e-6), (mine - reference).abs().max()
    assert weights.shape == (3, HEADS, T, S) and torch.all(weights[1, :, :, 4:] == 0)
    assert torch.allclose(weights.sum(-1), torch.ones(3, HEADS, T))


def test_the_fast_path_and_the_weights_path_agree():
    """Cross-attention through torch's fused kernel (training) and through the lab's (with weights) give the same output."""
    ours = randomise(DecoderBlock(config(), torch.Generator().manual_seed(0)), 4).eval()
    x, y, real = inputs(5)
    with torch.no_grad():
        fast, _ = ours(y, x, memory_mask=real[:, None, None, :])
        slow, _ = ours(y, x, memory_mask=real[:, None, None, :], need_weights=True)
    assert torch.allclose(fast, slow, atol=1e-6)


@pytest.mark.parametrize("norm_first", [True, False])
def test_whole_model_equals_torch_layers_stacked(norm_first):
    """The model: embeddings + sinusoids, then torch's layers in our order, then (pre-LN) the final norms and the head."""
    cfg = EncoderDecoderConfig(vocab_size=11, max_source=S, max_target=T, n_layer=2, n_head=HEADS, n_embd=D, norm_first=norm_first)
    model = randomise(EncoderDecoder(cfg, torch.Generator().manual_seed(0)), 6).eval()
    kw = dict(dim_feedforward=4 * D, dropout=0.0, activation=gelu_tanh, batch_first=True, norm_first=norm_first)
    enc = [torch.nn.TransformerEncoderLayer(D, HEADS, **kw).eval() for _ in range(2)]
    dec = [torch.nn.TransformerDecoderLayer(D, HEADS, **kw).eval() for _ in range(2)]
    src = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [3, 4, 5, 0, 0, 0, 0]])
    tgt = torch.tensor([[1, 5, 6, 7, 8], [1, 9, 9, 0, 0]])
    with torch.no_grad():
        for mine, their in zip(model.encoder, enc):
            copy_attention(mine.attn, their.self_attn)
            for a, b in ((mine.mlp.c_fc, their.linear1), (mine.mlp.c_proj, their.linear2), (mine.ln_1, their.norm1),
                         (mine.ln_2, their.norm2)):
                copy_linear(a, b)
        for mine, their in zip(model.decoder, dec):
            copy_attention(mine.attn, their.self_attn)
            copy_attention(mine.cross, their.multihead_attn)
            for a, b in ((mine.mlp.c_fc, their.linear1), (mine.mlp.c_proj, their.linear2), (mine.ln_1, their.norm1),
                         (mine.ln_2, their.norm2),
                         (mine.ln_3, their.norm3)):
                copy_linear(a, b)
        pad = src == 0
        h = model.src_embed(src) + model.positions(0, S)
        for layer in enc:
            h = layer(h, src_key_padding_mask=pad)
        h = model.ln_enc(h)
        y = model.tgt_embed(tgt) + model.positions(0, T)
        for layer in dec:
            y = layer(y, h, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T), tgt_is_causal=True,
                      memory_key_padding_mask=pad)
        reference = model.head(model.ln_dec(y))
        mine = model(src, tgt)
    assert torch.allclose(mine, reference, atol=1e-5), (mine - reference).abs().max()
