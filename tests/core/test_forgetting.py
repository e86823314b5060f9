"""core.nn.forgetting: gradient profiles against torch's fused layers and clip_grad_norm_, the copy task, exploding runs."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from core.errors import LabError
from core.lm.rnn_lm import RNNLMConfig, build
from core.nn import forgetting
from core.nn.forgetting import CopyConfig, FlowConfig, copy_batch, gradient_flow, train_copy
from core.nn.recurrent import Recurrent
from core.training import generators


def torch_profile(kind: str, config: FlowConfig) -> tuple[np.ndarray, float]:
    """The same draws as gradient_flow, run through torch.nn.RNN/GRU/LSTM: per-step ‖∂L/∂x_t‖ and the whole gradient's norm."""
    c = config
    _, g = generators(c.seed)
    ours = Recurrent(kind, c.hidden, c.hidden, nonlinearity=c.nonlinearity).double()
    ours.reset_parameters(g, c.scale)
    if kind in ("gru", "lstm"):
        with torch.no_grad():
            ours.cells[0].bias_ih[c.hidden : 2 * c.hidden] += c.keep_bias
    ref = ours.torch_twin()
    readout = torch.randn(c.hidden, 10, generator=g, dtype=torch.float64) / math.sqrt(c.hidden)
    x = torch.randn(c.batch, c.seq_len, c.hidden, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 10, (c.batch,), generator=g)
    loss = nn.functional.cross_entropy(ref(x)[0][:, -1] @ readout, target)
    loss.backward()
    total = nn.utils.clip_grad_norm_(ref.parameters(), math.inf)
    return (x.grad.norm(dim=-1).mean(0) * c.batch).numpy(), float(total)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("config", [FlowConfig(seq_len=30, hidden=8, clip=0.5), FlowConfig(seq_len=12, hidden=16, scale=3.0, keep_bias=2.0),
                                    FlowConfig(seq_len=20, hidden=8, nonlinearity="relu", scale=2.0, clip=1.0)])
def test_gradient_profile_equals_torch_fused_layers_and_clip_grad_norm(kind, config):
    rows = [r for r in gradient_flow(replace_kinds(config, kind))]
    expected, total = torch_profile(kind, config)
    np.testing.assert_allclose([r["grad_norm"] for r in rows], expected, rtol=1e-9, atol=1e-300)
    assert rows[0]["weight_norm"] == pytest.approx(total, rel=1e-9)
    factor = min(1.0, config.clip / (total + 1e-6)) if config.clip else 1.0  # torch.nn.utils.clip_grad_norm_'s coefficient
    np.testing.assert_allclose([r["clipped_norm"] for r in rows], expected * factor, rtol=1e-9, atol=1e-300)
    assert [r["distance"] for r in rows] == list(range(config.seq_len - 1, -1, -1))


def replace_kinds(config: FlowConfig, kind: str) -> FlowConfig:
    out = copy.copy(config)
    object.__setattr__(out, "kinds", (kind,))
    return out


def test_rnn_gradient_vanishes_faster_than_gated_cells_with_an_open_keep_gate_and_explodes_when_scaled():
    rows = gradient_flow(FlowConfig(seq_len=80, keep_bias=3.0))
    decay = {k: forgetting.decay_per_step(rows, k) for k in ("RNN", "GRU", "LSTM")}
    assert decay["RNN"] < 0.6 < 0.9 < decay["LSTM"] and decay["GRU"] > 0.9
    exploding = gradient_flow(FlowConfig(kinds=("rnn",), seq_len=60, scale=4.0, nonlinearity="relu", clip=1.0))
    assert forgetting.decay_per_step(exploding, "RNN") > 1.0
    far = max(exploding, key=lambda r: r["distance"])
    assert far["grad_norm"] > 1e6 and far["clipped_norm"] < far["grad_norm"] * 1e-5  # clipping rescales everything


def test_copy_batches_put_one_signal_d_steps_before_the_query():
    c = CopyConfig(seq_len=12, symbols=3, distractors=5)
    x, y = copy_batch(np.random.default_rng(1), c, distance=7, batch=200)
    assert x.shape == (200, 12) and (x[:, -1] == 8).all()
    assert torch.equal(x[:, 12 - 1 - 7], y) and ((y >= 0) & (y < 3)).all()
    others = torch.cat([x[:, : 12 - 8], x[:, 12 - 7 : -1]], 1)
    assert ((others >= 3) & (others < 8)).all()  # only distractors elsewhere: the signal is the one token of its kind
    assert len(set(y.tolist())) == 3


@pytest.mark.parametrize("typed, message", [("", "at least one"), ("x", "whole numbers"), ("1,2,3,4,5,6,7,8,9", "at most")])
def test_distances_typed_by_hand(typed, message):
    with pytest.raises(LabError, match=message):
        forgetting.parse_distances(typed)


def test_a_distance_larger_than_the_sequence_and_other_bad_sweeps_are_refused():
    with pytest.raises(LabError, match="does not fit in a sequence of 33"):
        forgetting.distance_sweep(CopyConfig(distances=(2, 40)))
    with pytest.raises(LabError, match="does not fit"):
        copy_batch(np.random.default_rng(0), CopyConfig(seq_len=5), distance=0, batch=1)
    with pytest.raises(LabError, match="unknown contender"):
        forgetting.check_copy(CopyConfig(kinds=("Transformer-XL",)))
    with pytest.raises(LabError, match="optimizer"):
        train_copy("RNN", 2, CopyConfig(optimizer="lbfgs", steps=1))
    with pytest.raises(LabError, match="sequence length"):
        gradient_flow(FlowConfig(seq_len=1))


def test_input_gradients_equal_autograd_on_the_embedding_output():
    c = CopyConfig(seq_len=10, hidden=8)
    model = build(RNNLMConfig(kind="lstm", embed=8, hidden=8), forgetting.vocab_size(c), torch.Generator().manual_seed(0))
    x, y = copy_batch(np.random.default_rng(0), c, 4, 6)
    e = model.embedding(x).detach().requires_grad_()
    h, _ = model.rnn(e)
    loss = nn.functional.cross_entropy(model.out(h)[:, -1], y)
    (grad,) = torch.autograd.grad(loss, e)
    np.testing.assert_allclose(forgetting.input_gradients(model, x, y), (grad.norm(dim=-1).mean(0) * 6).numpy(), rtol=1e-6)


@pytest.mark.slow  # trains several small networks
def test_rnn_learns_a_short_distance_and_fails_a_long_one_that_the_gru_learns():
    c = CopyConfig(seq_len=25, steps=200)
    short, long = train_copy("RNN", 2, c), train_copy("RNN", 24, c)
    assert short.accuracy > 0.95 and short.steps < 200  # solved, and stopped early
    assert long.accuracy < 0.4 and long.steps == 200
    assert long.gradients[0] < 1e-3 * long.gradients[-1]  # nothing reaches the signal 24 steps back
    gru = train_copy("GRU", 24, c)
    assert gru.accuracy > 0.95
    runs = [short, long, gru]
    signal = {r["kind"]: r for r in forgetting.signal_gradients([long, gru], 25)}
    assert signal["RNN"]["at_signal"] == long.gradients[0] and signal["GRU"]["ratio"] > 1e6 * signal["RNN"]["ratio"]
    assert forgetting.verdicts(runs, 0.25) == ["RNN learned up to d = 2, failed at d = 24, at chance from d = 24",
                                               "GRU learned every distance (up to d = 24)"]


def test_attention_finds_the_signal_at_any_distance():
    c = CopyConfig(seq_len=41, steps=150)
    far = train_copy("attention", 40, c)
    assert far.accuracy > 0.95 and far.steps < 150  # solved early, 40 steps back (the RNN is at chance from 24: above)
    model = forgetting.CONTENDERS["attention"](c, torch.Generator().manual_seed(0))
    assert model.model.config.n_layer == 1 and model.model.config.context == 41  # one block of the lab's GPT


@pytest.mark.slow  # trains several small networks
def test_exploding_without_clipping_stops_with_an_explanation_and_clipping_trains():
    c = CopyConfig(kinds=("RNN",), scale=3.0, nonlinearity="relu", optimizer="sgd", lr=0.1, clip=None, steps=40)
    run = train_copy("RNN", 8, c)
    assert run.exploded and "gradient exploded" in run.exploded and "Clipping" in run.exploded
    assert run.steps < 5 and not math.isfinite(run.grad_norms[-1]) or run.grad_norms[-1] > forgetting.EXPLODED_NORM
    clipped = train_copy("RNN", 8, CopyConfig(kinds=("RNN",), scale=3.0, nonlinearity="relu", optimizer="sgd", lr=0.1, clip=1.0, steps=40))
    assert not clipped.exploded and clipped.steps == 40 and max(clipped.grad_norms) > 1.0  # large gradients, rescaled


def test_a_sweep_reports_progress_over_all_runs_and_stops_when_told():
    seen = []
    runs = forgetting.distance_sweep(CopyConfig(kinds=("RNN", "GRU"), distances=(1, 3), seq_len=6, steps=4),
                                     on_step=lambda i, m: seen.append(i) or len(seen) < 10)
    assert [(r.kind, r.distance) for r in runs] == [("RNN", 1), ("RNN", 3), ("GRU", 1)]
    assert seen == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
