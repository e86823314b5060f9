"""core.llm.lora.LoRALinear against peft's LoRA Linear: same A, B and scaling → same outputs, grads, merge."""

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from core.llm.lora import LoRALinear

IN, OUT = 48, 40


def pair(r: int, alpha: float, bias: bool = True, seed: int = 0):
    """Our layer and peft's, on copies of one base layer, with the same (non-zero) A and B."""
    torch.manual_seed(seed)
    base = nn.Linear(IN, OUT, bias=bias)
    ours = LoRALinear(copy.deepcopy(base), r=r, alpha=alpha, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ours.B.normal_()  # B is zero at init: make the update visible
    peft_model = get_peft_model(nn.Sequential(copy.deepcopy(base)), LoraConfig(r=r, lora_alpha=alpha, target_modules=["0"]))
    layer = peft_model.base_model.model[0]
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(ours.A)
        layer.lora_B["default"].weight.copy_(ours.B)
    assert layer.scaling["default"] == pytest.approx(ours.scaling)
    return ours, peft_model


@pytest.mark.parametrize("r,alpha,bias", [(1, 1.0, True), (4, 8.0, True), (8, 32.0, False), (16, 16.0, True)])
def test_output_and_grads_equal_peft(r, alpha, bias):
    ours, theirs = pair(r, alpha, bias)
    x = torch.randn(5, 7, IN)
    y_ours, y_theirs = ours(x), theirs(x)
    assert torch.allclose(y_ours, y_theirs, atol=1e-6, rtol=0)
    assert not torch.equal(y_ours, ours.base(x)), "the update must change the output, or this test proves nothing"
    y_ours.square().sum().backward()
    y_theirs.square().sum().backward()
    layer = theirs.base_model.model[0]
    assert torch.allclose(ours.A.grad, layer.lora_A["default"].weight.grad, atol=1e-4, rtol=1e-5)
    assert torch.allclose(ours.B.grad, layer.lora_B["default"].weight.grad, atol=1e-4, rtol=1e-5)
    assert ours.base.weight.grad is None  # the pretrained weight is frozen


@pytest.mark.parametrize("r,alpha", [(2, 4.0), (8, 16.0)])
def test_merge_equals_merge_and_unload(r, alpha):
    ours, theirs = pair(r, alpha)
    merged_ours = ours.merge()
    merged_theirs = theirs.merge_and_unload()[0]
    assert type(merged_ours) is nn.Linear and type(merged_theirs) is nn.Linear
    assert torch.allclose(merged_ours.weight, merged_theirs.weight, atol=1e-6, rtol=0)
    assert torch.equal(merged_ours.bias, merged_theirs.bias)
    x = torch.randn(9, IN)
    assert torch.allclose(merged_ours(x), ours(x), atol=1e-5, rtol=0)


def test_starts_as_the_base_layer_and_counts_only_a_and_b():
    base = nn.Linear(IN, OUT)
    layer = LoRALinear(base, r=4, alpha=8, generator=torch.Generator())
    x = torch.randn(3, IN)
    assert torch.equal(layer(x), base(x))  # B = 0
    assert torch.count_nonzero(layer.B) == 0 and torch.count_nonzero(layer.A) > 0
    trainable = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    assert trainable == layer.trainable_parameters() == 4 * (IN + OUT)


def test_update_has_rank_at_most_r():
    ours, _ = pair(r=3, alpha=3.0)
    singular = torch.linalg.svdvals(ours.delta_weight())
    assert singular[2] > 1e-3 and singular[3:].max() < 1e-4


def test_dropout_only_in_training_mode_and_drawn_from_the_generator():
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(IN, OUT), r=4, alpha=8, generator=torch.Generator().manual_seed(1), dropout=0.5)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(4, IN)
    assert not torch.allclose(layer.train()(x), layer.merge()(x))
    assert torch.allclose(layer.eval()(x), layer.merge()(x), atol=1e-5)


def test_a_and_the_dropout_masks_come_from_the_generator_alone():
    def run(global_seed: int) -> torch.Tensor:
        torch.manual_seed(global_seed)  # the process-wide generator must not matter
        layer = LoRALinear(nn.Linear(IN, OUT), r=4, alpha=8, generator=torch.Generator().manual_seed(7), dropout=0.5)
        with torch.no_grad():
            layer.B.fill_(1.0)
            layer.base.weight.zero_()
            layer.base.bias.zero_()
        return layer.train()(torch.ones(3, IN))

    assert torch.equal(run(0), run(1))


def test_rank_zero_is_refused():
    with pytest.raises(ValueError):
        LoRALinear(nn.Linear(4, 4), r=0, alpha=1, generator=torch.Generator())


def test_keeps_the_base_layers_dtype():
    torch.manual_seed(0)
    base = nn.Linear(IN, OUT).double()
    layer = LoRALinear(base, r=4, alpha=8, generator=torch.Generator())
    with torch.no_grad():
        layer.B.normal_()
    assert layer.A.dtype == layer.B.dtype == torch.float64
    merged = layer.merge()
    assert merged.weight.dtype == merged.bias.dtype == torch.float64
    assert merged.weight.device == base.weight.device
    x = torch.randn(6, IN, dtype=torch.float64)
    assert torch.allclose(merged(x), layer(x), atol=1e-12, rtol=0)  # float64 all the way: no float32 rounding
    assert not torch.equal(merged.weight, base.weight) and torch.equal(merged.bias, base.bias)
