"""What each part of the GPT is for, and how the loss falls with size: ablations and a small sweep.

Every run here trains with the same TrainConfig (same steps, batch, learning rate, seed) on the
same split and is judged by the same number, the cross-entropy on the held-out 10 %. So a row of
the table differs from the full model in exactly one thing:

- no position embedding: attention is blind to order (only the causal mask says what came first);
- no residual connections: each sublayer must carry everything forward itself, and gradients
  must pass through every layer instead of around it;
- no LayerNorm: nothing keeps the activations' scale in check;
- one head instead of several (same width): one attention pattern per layer instead of many;
- deeper and narrower / shallower and wider: the same number of parameters spent differently.

>>> base = GPTConfig(vocab_size=256, context=64, n_layer=2, n_head=4, n_embd=64)
>>> deeper = ablation_config(base, "deeper and narrower")
>>> deeper.n_layer, deeper.n_embd, round(parameters(deeper) / parameters(base), 2)
(4, 48, 1.07)
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from core.errors import LabError
from core.training import OnStep
from core.transformers.gpt import GPTConfig, flops_per_token
from core.transformers.gpt_train import Run, TrainConfig, fit, summary

ABLATIONS: dict[str, Callable[[GPTConfig], GPTConfig]] = {
    "full model": lambda c: c,
    "no position embedding": lambda c: replace(c, position=False),
    "no residual connections": lambda c: replace(c, residual=False),
    "no LayerNorm": lambda c: replace(c, layer_norm=False),
    "one head": lambda c: replace(c, n_head=1),
    "deeper and narrower": lambda c: same_size(c, 2 * c.n_layer),
    "shallower and wider": lambda c: same_size(c, max(1, c.n_layer // 2)),
}

# (layers, width) of the sweep, smallest first; heads: 4 (width 16: 2)
SWEEP = ((1, 16), (1, 32), (2, 32), (2, 64), (4, 64), (4, 128))


def parameters(config: GPTConfig) -> int:
    """The parameter count of a config, without building it: per block 12·C² weights (Q, K, V and the
    output projection: 4·C²; the MLP's two layers: 8·C²), 9·C biases and two LayerNorms; then the
    token table V·C (also the output layer), the position table T·C and the final LayerNorm.

    >>> parameters(GPTConfig(vocab_size=10, context=8, n_layer=1, n_head=2, n_embd=8))  # as gpt.py's doctest counts
    1032
    """
    c = config
    norm = (2 if c.bias else 1) * c.n_embd if c.layer_norm else 0
    block = 12 * c.n_embd**2 + (9 * c.n_embd if c.bias else 0) + 2 * norm
    return c.n_layer * block + c.vocab_size * c.n_embd + (c.context * c.n_embd if c.position else 0) + norm


def same_size(config: GPTConfig, n_layer: int) -> GPTConfig:
    """`n_layer` blocks, with the width (a multiple of the head count) whose size comes closest to `config`'s."""
    target, h = parameters(config), config.n_head
    widths = range(h, 8 * config.n_embd + h, h)
    best = min(widths, key=lambda w: abs(parameters(replace(config, n_layer=n_layer, n_embd=w)) - target))
    return replace(config, n_layer=n_layer, n_embd=best)


def ablation_config(base: GPTConfig, name: str) -> GPTConfig:
    if name not in ABLATIONS:
        raise LabError(f"unknown ablation '{name}'; choose from {', '.join(ABLATIONS)}")
    return ABLATIONS[name](base)


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per run: name, layers, heads, width, parameters, FLOPs, held-out loss, speed
    runs: dict[str, Run]  # the trained runs by name (their histories hold the curves)


def _compare(configs: dict[str, GPTConfig], tc: TrainConfig, text: str, tokenizer, on_step: OnStep | None) -> Comparison:
    """Train each config with the same TrainConfig, one after the other; on_step sees one global step count."""
    runs, rows = {}, []
    for i, (name, config) in enumerate(configs.items()):
        offset = i * tc.steps
        watch = None if on_step is None else (lambda step, m, offset=offset: on_step(offset + step, m))
        run = fit(config, tc, text, tokenizer, watch)
        if not run.finished:  # stopped from outside: keep what finished
            break
        runs[name] = run
        rows.append({"run": name, "layers": config.n_layer, "heads": config.n_head, "width": config.n_embd, **summary(run)})
    return Comparison(pd.DataFrame(rows), runs)


def run_ablations(base: GPTConfig, tc: TrainConfig, text: str, tokenizer, names: list[str] | tuple[str, ...] = tuple(ABLATIONS),
                  on_step: OnStep | None = None) -> Comparison:
    """The full model and each ablation in `names`, same budget, same held-out split."""
    if not names:
        raise LabError("pick at least one variant to train")
    return _compare({name: ablation_config(base, name) for name in names}, tc, text, tokenizer, on_step)


def sweep_configs(base: GPTConfig, sizes: tuple[tuple[int, int], ...] = SWEEP) -> dict[str, GPTConfig]:
    """`base` at each (layers, width) of `sizes`, 4 heads (2 for a width below 32)."""
    return {f"{layers} × {width}": replace(base, n_layer=layers, n_embd=width, n_head=4 if width >= 32 else 2)
            for layers, width in sizes}


def run_sweep(base: GPTConfig, tc: TrainConfig, text: str, tokenizer, sizes: tuple[tuple[int, int], ...] = SWEEP,
              on_step: OnStep | None = None) -> Comparison:
    """Models of growing size on the same budget of steps: held-out loss against parameters and training FLOPs."""
    comparison = _compare(sweep_configs(base, sizes), tc, text, tokenizer, on_step)
    if len(comparison.table):
        per_token = [flops_per_token(r.config) for r in comparison.runs.values()]
        comparison.table["FLOPs per token"] = per_token
    return comparison
