"""What a fine-tuning run did, looked at afterwards: its mistakes, and the low-rank update LoRA learned.

- `confusion_table`: held-out counts of (true label, predicted label).
- `lora_update`: one adapted layer's ΔW = (alpha/r)·B·A, its singular values beside the pretrained
  weight's (at most r are non-zero), and the lab's from-scratch LoRALinear checked against peft's layer.
- `merge` / `merge_check`: B·A folded into the weights, a plain model with the same predictions.

>>> energy_rank(np.array([3.0, 1.0, 0.0]), 0.8)       # 9 of the 10 units of energy in one direction
1
"""

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from core.foundations.evaluation import confusion_matrix
from core.llm.finetune import FinetuneResult, probabilities


def confusion_table(result: FinetuneResult) -> pd.DataFrame:
    """Counts of (true label, predicted label) on the held-out rows, every pair present: rows the truth."""
    counts = confusion_matrix(result.test.label, result.test.predicted, result.labels)
    return pd.DataFrame(counts, index=pd.Index(result.labels, name="label"), columns=pd.Index(result.labels, name="predicted"))


def lora_layers(result: FinetuneResult) -> list[str]:
    """Names of the layers that carry a LoRA adapter (empty for probe / full)."""
    from peft.tuners.lora import LoraLayer

    return [name.removeprefix("base_model.model.") for name, m in result.model.named_modules() if isinstance(m, LoraLayer)]


def energy_rank(singular: np.ndarray, share: float = 0.9) -> int:
    """How many of the largest singular values hold `share` of the energy Σσ² (0 for a zero matrix):
    the smallest k whose best rank-k approximation leaves at most 1 − share of ‖M‖²_F out.

    >>> energy_rank(np.array([3.0, 1.0, 0.0]), 0.8), energy_rank(np.array([3.0, 1.0, 0.0]), 0.95)
    (1, 2)
    """
    energy = np.cumsum(np.asarray(singular, dtype=float) ** 2)
    if energy[-1] == 0:
        return 0
    return min(int(np.searchsorted(energy / energy[-1], share)) + 1, len(energy))


@dataclass
class LayerUpdate:
    """What LoRA did to one adapted layer, beside the pretrained weight W0 it left untouched."""

    layer: str
    delta: np.ndarray  # ΔW = (alpha/r)·B·A, out × in
    singular: np.ndarray  # ΔW's singular values, largest first: at most r are non-zero
    base_singular: np.ndarray  # W0's: a pretrained weight is full rank, its spectrum decays slowly
    relative_norm: float  # ‖ΔW‖_F / ‖W0‖_F: how far training moved the layer
    directions_90: int  # singular directions holding 90% of ΔW's energy (energy_rank)
    stored: int  # numbers the adapter keeps for it, r·(in + out), against in·out for a full ΔW
    gap_to_ours: float  # max |peft's layer(x) − core.llm.lora.LoRALinear(x)| on 8 random inputs


def lora_update(result: FinetuneResult, layer: str) -> LayerUpdate:
    """One adapted layer's effective update ΔW = (alpha/r)·B·A, its spectrum beside W0's, and the
    from-scratch `LoRALinear` rebuilt from it checked against peft's layer."""
    module = result.model.base_model.model.get_submodule(layer)
    a, b, w0 = module.lora_A["default"].weight, module.lora_B["default"].weight, module.base_layer.weight
    ours = as_lora_linear(result, layer)
    x = torch.randn(8, w0.shape[1], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        delta = module.scaling["default"] * b @ a
        gap = (ours(x) - module(x)).abs().max().item()  # result.model is in eval mode: no dropout
        singular = torch.linalg.svdvals(delta).numpy()
        return LayerUpdate(layer, delta.numpy(), singular, torch.linalg.svdvals(w0).numpy(),
                           (torch.linalg.norm(delta) / torch.linalg.norm(w0)).item(), energy_rank(singular),
                           a.numel() + b.numel(), gap)


def as_lora_linear(result: FinetuneResult, layer: str):
    """One adapted layer rebuilt as the lab's from-scratch `core.llm.lora.LoRALinear` (same W0, A, B, alpha/r)."""
    from core.llm.lora import LoRALinear

    module = result.model.base_model.model.get_submodule(layer)
    config = result.config
    ours = LoRALinear(copy.deepcopy(module.base_layer), config.r, config.alpha, torch.Generator()).eval()  # A, B copied below
    with torch.no_grad():
        ours.A.copy_(module.lora_A["default"].weight)
        ours.B.copy_(module.lora_B["default"].weight)
    return ours


def merge(result: FinetuneResult) -> nn.Module:
    """A copy of the LoRA classifier with every B·A folded into its weights: a plain model, no peft."""
    return copy.deepcopy(result.model).merge_and_unload().eval()


def merge_check(result: FinetuneResult, texts: list[str]) -> dict[str, float]:
    """Adapter vs merged model on `texts`: largest probability difference, fraction of equal predictions."""
    merged = merge(result)
    before, after = (probabilities(m, result.tokenizer, texts, result.config.max_length) for m in (result.model, merged))
    return {"max |Δp|": (before - after).abs().max().item(),
            "same prediction": (before.argmax(1) == after.argmax(1)).float().mean().item(),
            "parameters after merge": sum(p.numel() for p in merged.parameters())}
