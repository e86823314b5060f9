"""core.foundations.cross_entropy_loss against torch.nn.functional.cross_entropy and log_softmax."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import LabError
from core.foundations import cross_entropy_loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_cross_entropy_loss_matches_torch_in_value_and_gradient(smoothing, scale):
    torch.manual_seed(0)
    logits = (torch.randn(16, 7, dtype=torch.float64) * scale).requires_grad_()
    target = torch.randint(0, 7, (16,))
    ours = cross_entropy_loss.cross_entropy_from_logits(logits, target, label_smoothing=smoothing)
    ref = F.cross_entropy(logits, target, label_smoothing=smoothing)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_ref,) = torch.autograd.grad(ref, logits)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-6, atol=1e-6)


def test_smoothed_target_and_one_prediction_breakdown_match_torch():
    y = cross_entropy_loss.smoothed_target(torch.tensor([2, 0]), 4, 0.2, torch.float64)
    torch.testing.assert_close(y, torch.tensor([[0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05]], dtype=torch.float64))
    torch.manual_seed(2)
    for eps in (0.0, 0.1, 1.0):
        for scale in (1.0, 100.0):
            logits = torch.randn(7) * scale
            b = cross_entropy_loss.loss_breakdown(logits, 3, eps)
            z = logits.double().unsqueeze(0).requires_grad_()
            ref = F.cross_entropy(z, torch.tensor([3]), label_smoothing=eps)
            (ref_grad,) = torch.autograd.grad(ref, z)
            assert b.loss == pytest.approx(ref.item(), rel=1e-12, abs=1e-12) and b.reference == ref.item()
            np.testing.assert_allclose(b.gradient, ref_grad[0].numpy(), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(b.q, torch.softmax(z.detach(), -1)[0].numpy(), rtol=1e-12)
            assert b.target.sum() == pytest.approx(1.0)
    with pytest.raises(LabError, match="right class"):
        cross_entropy_loss.loss_breakdown(torch.zeros(3), 3)


def test_parse_logits():
    torch.testing.assert_close(cross_entropy_loss.parse_logits("1, 2 -3", scale=10), torch.tensor([10.0, 20.0, -30.0]))
    for bad, message in (("1", "between 2 and 50"), ("a, b", "logits as numbers"), ("1e37, 0", "float32"), ("nan, 1", "NaN")):
        with pytest.raises(LabError, match=message):
            cross_entropy_loss.parse_logits(bad, scale=100)


def test_one_prediction_worked_by_hand():
    """Logits (0, ln 3): q = (1/4, 3/4). Right class 1: loss = -ln 3/4 nats, gradient q - y = (1/4, -1/4).
    With label smoothing 0.2 over two classes the target is (0.1, 0.9) and the gradient (0.15, -0.15)."""
    b = cross_entropy_loss.loss_breakdown(torch.tensor([0.0, np.log(3)]), 1)
    assert b.loss == pytest.approx(0.2876820724517809, rel=1e-7) and b.bits == pytest.approx(0.4150374992788438, rel=1e-7)
    np.testing.assert_allclose(b.q, [0.25, 0.75], rtol=1e-7)
    np.testing.assert_allclose(b.gradient, [0.25, -0.25], rtol=1e-6)
    smoothed = cross_entropy_loss.loss_breakdown(torch.tensor([0.0, np.log(3)]), 1, label_smoothing=0.2)
    np.testing.assert_allclose(smoothed.target, [0.1, 0.9])
    np.testing.assert_allclose(smoothed.gradient, [0.15, -0.15], rtol=1e-6)


def test_log_softmax_stable_matches_torch_where_naive_overflows():
    logits = torch.tensor([[1000.0, 999.0, 0.0], [1.0, 2.0, 3.0]])
    torch.testing.assert_close(cross_entropy_loss.log_softmax(logits), F.log_softmax(logits, -1))
    naive = cross_entropy_loss.log_softmax_naive(logits)
    assert not torch.isfinite(naive[0]).all()  # exp(1000) = inf in float32
    torch.testing.assert_close(naive[1], F.log_softmax(logits[1], -1))
    with pytest.raises(LabError):
        cross_entropy_loss.cross_entropy_from_logits(logits, torch.tensor([0, 1]), label_smoothing=1.5)
