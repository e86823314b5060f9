"""core.lm.neural_lm, mlp_lm, rnn_lm: the loss against torch, the MLP against its formula, held-out scoring, training runs."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import LabError
from core.lm import mlp_lm, rnn_lm
from core.lm.neural_lm import (
    EXPLODED_NORM,
    TrainConfig,
    heldout_surprisals,
    heldout_windows,
    make_corpus,
    next_token_loss,
    sample,
    train_lm,
)
from core.lm.ngram import UNK
from core.training import generators

TOKENS = ("a b c d " * 100 + "a c b d " * 100).split()
TINY = TrainConfig(steps=5, batch_size=4, block_size=8, eval_every=2, eval_tokens=40, warmup=4, sample_tokens=6)


def test_next_token_loss_equals_torch_cross_entropy_and_its_gradient():
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(3, 5, 11, generator=g, dtype=torch.float64) * 4).requires_grad_()
    targets = torch.randint(0, 11, (3, 5), generator=g)
    ours = next_token_loss(logits, targets)
    ref = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1))
    assert ours.item() == pytest.approx(ref.item(), rel=1e-12)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_ref,) = torch.autograd.grad(ref, logits)
    torch.testing.assert_close(g_ours, g_ref, rtol=0, atol=1e-12)


def test_mlp_lm_equals_its_formula_position_by_position_and_its_loss_equals_torch():
    config = mlp_lm.MLPLMConfig(context=3, embed=4, hidden=6)
    model = mlp_lm.MLPLM(config, vocab_size=7).double()
    x = torch.tensor([[1, 5, 2, 6, 0, 3]])
    logits = model(x)
    pad = 7  # the extra embedding row stands for "before the window"
    for t in range(x.shape[1]):
        ids = [int(x[0, s]) if s >= 0 else pad for s in range(t - 2, t + 1)]  # the 3 tokens ending at t
        e = torch.cat([model.embedding.weight[i] for i in ids])
        expected = model.out.weight @ torch.tanh(model.hidden.weight @ e + model.hidden.bias) + model.out.bias
        torch.testing.assert_close(logits[0, t], expected, rtol=0, atol=1e-12)
    targets = torch.tensor([[5, 2, 6, 0, 3, 1]])
    assert next_token_loss(logits, targets).item() == pytest.approx(F.cross_entropy(logits[0], targets[0]).item(), rel=1e-12)


@pytest.mark.parametrize("n, block, warmup", [(10, 4, 2), (100, 32, 16), (33, 32, 16), (17, 16, 16), (50, 8, 1), (9, 4, 4)])
def test_heldout_windows_score_every_token_after_the_warmup_exactly_once(n, block, warmup):
    starts, mask = heldout_windows(n, block, warmup)
    targets = starts[:, None] + 1 + np.arange(block)[None, :]
    scored = targets[mask]
    assert sorted(scored.tolist()) == list(range(warmup, n))
    context = (targets - starts[:, None])[mask]  # tokens before the target inside its window
    assert context.min() >= warmup and context.max() <= block


def test_heldout_surprisals_equal_scoring_each_token_from_its_own_context():
    """An MLP sees exactly its last k tokens: scoring windowed equals scoring each target alone."""
    rng, g = generators(3)
    model = mlp_lm.MLPLM(mlp_lm.MLPLMConfig(context=3, embed=4, hidden=8), vocab_size=6)
    ids = rng.integers(0, 6, 90)
    bits = heldout_surprisals(model, ids, block=8, warmup=4, batch=5)
    with torch.no_grad():
        logq = [torch.log_softmax(model(torch.as_tensor(ids[None, t - 3 : t]))[0, -1], -1) for t in range(4, 90)]
    alone = [-q[ids[t]].item() / math.log(2) for q, t in zip(logq, range(4, 90))]
    np.testing.assert_allclose(bits, alone, rtol=1e-5)


def test_make_corpus_splits_blocks_and_reads_rare_tokens_as_unk():
    tokens = [f"w{i % 40}" for i in range(3000)] + ["once"]
    corpus = make_corpus(tokens, "word", block=100, seed=1)
    assert len(corpus.train) + len(corpus.heldout) == 3000  # the ragged tail past the last whole block is dropped
    assert len(corpus.heldout) == 300 and corpus.vocab[-1] == UNK and "once" not in corpus.vocab
    assert corpus.decode(corpus.train[:2]).count(" ") == 1
    with pytest.raises(LabError, match="need at least 640"):
        make_corpus(["a"] * 639, "word", block=64)
    assert len(make_corpus(["a", "b"] * 320, "word", block=256).heldout) == 64  # short text: blocks of 32, 2 of 20 held out
    chars = make_corpus(list("héllo wörld 😀 שלום " * 40), "char", block=50)
    assert "😀" in chars.vocab and "ש" in chars.vocab and chars.decode(chars.train[:5]).isprintable()


@pytest.mark.parametrize("fit, config", [(mlp_lm.fit, mlp_lm.MLPLMConfig(context=2, embed=4, hidden=8, train=TINY)),
                                         (rnn_lm.fit, rnn_lm.RNNLMConfig(kind="gru", embed=4, hidden=8, train=TINY))])
def test_training_is_repeatable_reports_its_metrics_and_never_samples_unk(fit, config):
    corpus = make_corpus(TOKENS, "word", block=40)
    a, b = fit(config, corpus), fit(config, corpus)
    assert a.history.metrics["loss"] == b.history.metrics["loss"] and a.heldout_bits == b.heldout_bits  # the run's own generators
    assert [c["step"] for c in a.curve] == [2, 4, 5] and a.history.steps == [1, 2, 3, 4, 5]
    assert {"loss", "grad_norm", "heldout_bits", "tokens_per_s"} <= set(a.history.metrics)
    assert len(a.sample.split()) == 6 and UNK not in a.sample.split()
    assert a.n_parameters == sum(p.numel() for p in a.model.parameters())


def test_training_lowers_the_heldout_loss_toward_the_structure_of_the_text():
    corpus = make_corpus(TOKENS, "word", block=40)
    config = rnn_lm.RNNLMConfig(kind="lstm", embed=8, hidden=16, train=TrainConfig(steps=60, batch_size=16, block_size=8, eval_every=20,
                                                                                     warmup=4, lr=0.03))
    result = rnn_lm.fit(config, corpus)
    assert result.curve[-1]["heldout_bits"] < result.curve[0]["heldout_bits"] < math.log2(len(corpus.vocab)) + 0.5
    assert result.heldout_bits < 1.5  # 'a' is followed by b or c, then d, a: about 1 bit every other token


def test_an_exploding_gradient_stops_training_with_an_explanation():
    corpus = make_corpus(TOKENS, "word", block=40)
    rng, g = generators(0)
    model = rnn_lm.build(rnn_lm.RNNLMConfig(kind="rnn", embed=4, hidden=16, nonlinearity="relu"), len(corpus.vocab), g, scale=30.0)
    result = train_lm("RNN", model, corpus, TrainConfig(steps=20, block_size=32, warmup=4, clip=None), rng, g)
    assert result.history.diverged and result.history.steps[-1] == 1
    assert "gradient exploded" in result.exploded and "clipping" in result.exploded and math.isnan(result.heldout_bits)
    assert result.history.metrics["grad_norm"][-1] > EXPLODED_NORM


def test_sample_never_draws_a_banned_token_and_refuses_bad_windows():
    model = mlp_lm.MLPLM(mlp_lm.MLPLMConfig(context=2, embed=3, hidden=4), vocab_size=3)
    out = sample(model, [0, 1], 50, block=4, generator=torch.Generator().manual_seed(0), banned=[2])
    assert len(out) == 50 and 2 not in out
    with pytest.raises(LabError, match="warm-up"):
        heldout_windows(10, block=4, warmup=5)
    with pytest.raises(LabError, match="too few"):
        heldout_windows(3, block=4, warmup=3)
    with pytest.raises(LabError, match="context must be"):
        mlp_lm.MLPLM(mlp_lm.MLPLMConfig(context=0), 5)
    with pytest.raises(LabError, match="shorter than one window"):
        mlp_lm.fit(mlp_lm.MLPLMConfig(train=TrainConfig(block_size=1000)), make_corpus(TOKENS, "word", block=100))
