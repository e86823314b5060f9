"""Training the three translators on the number task, judging them, and translating the learner's input.

Every model sees the same batches, the same number of steps (or seconds), the same optimiser
(Adam, β = (0.9, 0.98), ε = 1e-9, as in the paper) and the same learning-rate schedule:

    lr(step) = f · d^-½ · min(step^-½, step · warmup^-1.5)          ("Attention Is All You Need", eq. 3)

a straight rise for `warmup` steps, then a decay ∝ 1/√step. We set it by its peak (reached at
step = warmup): f = peak · √(d · warmup), so d cancels and lr = peak · min(√(warmup/step), step/warmup).
Without warmup the first steps take the peak at once, then decay the same way.

The loss is the cross-entropy of each output character given the true ones before it (teacher
forcing), with optional label smoothing ε: the target is 1 - ε on the right character and ε
spread evenly over the whole vocabulary (F.cross_entropy's `label_smoothing`):

    L = -(1 - ε) log p_y - ε/V Σ_k log p_k

Exact match is judged with the same single forward pass: greedy decoding writes exactly the target
if and only if, along the true output, the most likely next character is the right one every
time (end token included); one wrong argmax and greedy would have left the true path there.

>>> from core.transformers.translation_task import TaskConfig, make_task
>>> task = make_task(TaskConfig(max_digits=2, train_max_chars=13, seed=0))
>>> run = fit(TrainConfig(model="transformer", steps=6, batch_size=8, n_embd=16, n_layer=1, n_head=2, eval_every=3, eval_pairs=8), task)
>>> run.history.steps[-1], run.stop_reason is None, run.history.metrics["loss"][-1] < run.history.metrics["loss"][0]
(6, True, True)
"""

import math
import time
from dataclasses import dataclass, field, replace  # noqa: F401 (replace: the doctest)
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from core.errors import LabError
from core.llm import generation
from core.training import History, OnStep, generators, run_steps
from core.transformers.encoder_decoder import PAD, EncoderDecoder, EncoderDecoderConfig
from core.transformers.rnn_seq2seq import RNNConfig, RNNSeq2Seq
from core.transformers.translation_task import BOS, EOS, Pair, Task, Vocab, batch, check_source, sample_batch

MODELS = ("fixed context", "additive attention", "transformer")
MAX_STEPS = 20_000
MAX_SECONDS = 600.0


@dataclass(frozen=True)
class TrainConfig:
    model: str = "transformer"  # one of MODELS
    steps: int = 300  # optimiser steps (the budget, unless `seconds` is set)
    seconds: float = 0.0  # > 0: train for this many seconds instead (an equal-time race); steps is then the upper limit
    batch_size: int = 32  # pairs per step
    peak_lr: float = 3e-3  # the learning rate at the end of the warmup
    warmup: int = 100  # steps of linear rise to the peak
    warmup_on: bool = True  # False: start at the peak (the same decay after `warmup` steps)
    label_smoothing: float = 0.0  # ε: share of the target spread evenly over the vocabulary
    grad_clip: float = 1.0  # the gradient's norm is cut to this (0 = off)
    hidden: int = 48  # the RNNs' state width H
    n_embd: int = 32  # the transformer's width d (d_model)
    n_layer: int = 2  # the transformer's encoder layers (and decoder layers)
    n_head: int = 4  # the transformer's heads per attention
    norm_first: bool = True  # the transformer's LayerNorm placement: pre-LN (True) or the paper's post-LN
    eval_every: int = 50  # steps between held-out exact-match checks
    eval_pairs: int = 200  # test pairs scored at each check (the final scores use all of them)
    seed: int = 0  # initial weights and batches: the same seed gives every model the same batches


def check_train_config(tc: TrainConfig) -> None:
    if tc.model not in MODELS:
        raise LabError(f"the model must be one of {', '.join(MODELS)} (got {tc.model!r})")
    if not 1 <= tc.steps <= MAX_STEPS or tc.batch_size < 1 or tc.eval_every < 1 or tc.warmup < 1:
        raise LabError(f"steps (1 to {MAX_STEPS:,}), batch size, warmup and evaluation interval must each be at least 1 "
                       f"(got {tc.steps}, {tc.batch_size}, {tc.warmup}, {tc.eval_every})")
    if not (tc.peak_lr > 0 and math.isfinite(tc.peak_lr)):
        raise LabError(f"the peak learning rate must be a positive number (got {tc.peak_lr})")
    if not 0.0 <= tc.label_smoothing < 1.0:
        raise LabError(f"label smoothing ε is a share in [0, 1) (got {tc.label_smoothing})")
    if not 0.0 <= tc.seconds <= MAX_SECONDS:
        raise LabError(f"a time budget is 0 (off) to {MAX_SECONDS:.0f} seconds (got {tc.seconds})")


# ----------------------------------------------------------------------------- schedule and loss


def noam_lr(step: int, d_model: int, warmup: int, factor: float = 1.0) -> float:
    """The paper's schedule: factor · d^-½ · min(step^-½, step · warmup^-1.5).

    >>> round(noam_lr(4000, 512, 4000), 6)      # the paper's peak: d = 512, 4,000 warmup steps
    0.000699
    """
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def learning_rate(step: int, tc: TrainConfig, d_model: int = 64) -> float:
    """noam_lr with its factor chosen so the peak is tc.peak_lr; without warmup, the peak from step 1.

    >>> tc = TrainConfig(peak_lr=1.0, warmup=4)
    >>> [learning_rate(s, tc) for s in (1, 2, 4, 16)], [learning_rate(s, replace(tc, warmup_on=False)) for s in (1, 2, 4, 16)]
    ([0.25, 0.5, 1.0, 0.5], [1.0, 1.0, 1.0, 0.5])
    """
    factor = tc.peak_lr * math.sqrt(d_model * tc.warmup)
    if tc.warmup_on:
        return noam_lr(step, d_model, tc.warmup, factor)
    return noam_lr(max(step, tc.warmup), d_model, tc.warmup, factor)


def smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, smoothing: float = 0.0, ignore_index: int = PAD) -> torch.Tensor:
    """Mean over the scored positions of -(1 - ε) log p_y - ε/V Σ_k log p_k. logits (N, V), targets (N,).

    >>> logits = torch.tensor([[0.0, 2.0, 0.0]])           # id 0 is padding: never the answer, still a class
    >>> round(smoothed_cross_entropy(logits, torch.tensor([1])).item(), 4), round(-math.log(math.e**2 / (math.e**2 + 2)), 4)
    (0.2395, 0.2395)
    >>> round(smoothed_cross_entropy(logits, torch.tensor([0])).item(), 4)       # a padded position scores nothing
    0.0
    """
    logp = logits.log_softmax(-1)
    scored = targets != ignore_index
    nll = -logp.gather(-1, targets.clamp(min=0)[:, None])[:, 0]
    uniform = -logp.mean(-1)  # the cross-entropy against the uniform distribution: ε's share
    loss = (1 - smoothing) * nll + smoothing * uniform
    return loss[scored].sum() / scored.sum().clamp(min=1)


# ----------------------------------------------------------------------------- models


def build_model(tc: TrainConfig, task: Task, generator: torch.Generator) -> torch.nn.Module:
    """The model `tc.model` names, sized for the task's longest source and target."""
    vocab, max_source, max_target = task.vocab.size, task.max_source, task.max_target + 2  # + start and end tokens
    if tc.model == "transformer":
        return EncoderDecoder(EncoderDecoderConfig(vocab, max_source, max_target, tc.n_layer, tc.n_head, tc.n_embd,
                                                   norm_first=tc.norm_first), generator)
    return RNNSeq2Seq(RNNConfig(vocab, max_source, max_target, tc.hidden, attention=tc.model == "additive attention"), generator)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- judging


def score_batch(model: torch.nn.Module, pairs: list[Pair], vocab: Vocab) -> pd.DataFrame:
    """One teacher-forced pass: per pair, exact match (= greedy decoding's), loss, confidence."""
    src, tgt = batch(pairs, vocab)
    logits = model(src, tgt[:, :-1]).float()
    gold = tgt[:, 1:]
    real = gold != PAD
    logp = logits.log_softmax(-1)
    p_max, guess = logp.exp().max(-1)
    nll = -logp.gather(-1, gold[..., None])[..., 0]
    right = (guess == gold) | ~real
    n = real.sum(1)
    return pd.DataFrame({"number": [p.number for p in pairs], "source": [p.source for p in pairs], "target": [p.target for p in pairs],
                         "length": [len(p.source) for p in pairs], "exact": right.all(1).numpy(),
                         "char_accuracy": (((guess == gold) & real).sum(1) / n).numpy(),
                         "loss": ((nll * real).sum(1) / n).numpy(), "confidence": ((p_max * real).sum(1) / n).numpy()})


@torch.no_grad()
def score(model: torch.nn.Module, pairs: list[Pair], vocab: Vocab, batch_size: int = 256) -> pd.DataFrame:
    """score_batch over all `pairs`, in batches; the model is put in eval mode (and back)."""
    if not pairs:
        return pd.DataFrame(columns=["number", "source", "target", "length", "exact", "char_accuracy", "loss", "confidence"])
    was_training = model.training
    model.eval()
    try:
        parts = [score_batch(model, pairs[i:i + batch_size], vocab) for i in range(0, len(pairs), batch_size)]
    finally:
        model.train(was_training)
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    """A trained model and how it got there."""

    config: TrainConfig
    model: torch.nn.Module
    history: History
    seconds: float = 0.0  # time spent training
    stop_reason: str | None = None  # why it stopped early on its own (divergence); None otherwise
    extra: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return self.history.steps[-1] if self.history.steps else 0


def divergence_reason(loss: float, step: int, lr: float, vocab_size: int) -> str | None:
    """Why a run must stop, or None: a loss that is not a number, or far above guessing uniformly (ln V nats)."""
    if not math.isfinite(loss):
        return f"the loss became {loss} at step {step}: the learning rate ({lr:.2g}) is too high; lower the peak learning rate"
    if step > 10 and loss > math.log(vocab_size) + 1.0:
        return (f"the loss climbed to {loss:.2f} nats at step {step}, far above the {math.log(vocab_size):.2f} of guessing "
                f"uniformly among {vocab_size} characters: the updates overshoot. Lower the peak learning rate (it was {lr:.2g})")
    return None


def fit(tc: TrainConfig, task: Task, on_step: OnStep | None = None) -> Run:
    """Train one model on `task` through core.training.run_steps; stop early on divergence or when asked."""
    check_train_config(tc)
    _, g = generators(tc.seed)
    model = build_model(tc, task, g)
    d_model = tc.n_embd
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate(1, tc, d_model), betas=(0.9, 0.98), eps=1e-9)
    watch = task.test[:tc.eval_pairs]
    run = Run(tc, model, History())
    start = time.perf_counter()

    def step(i: int) -> dict[str, float]:
        lr = learning_rate(i, tc, d_model)
        for group in optimizer.param_groups:
            group["lr"] = lr
        src, tgt = sample_batch(task, tc.batch_size, g)
        logits = model(src, tgt[:, :-1])
        loss = smoothed_cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), tc.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        optimizer.step()
        metrics = {"loss": loss.item(), "lr": lr}
        if i % tc.eval_every == 0 or i == tc.steps:
            metrics["test_exact"] = float(score(model, watch, task.vocab)["exact"].mean())
        return metrics

    def watch_step(i: int, metrics: dict[str, float]) -> bool:
        run.stop_reason = divergence_reason(metrics["loss"], i, metrics["lr"], task.vocab.size)
        if run.stop_reason is not None:
            return False
        if tc.seconds and time.perf_counter() - start >= tc.seconds:
            return False  # the time budget is spent: the run is complete, not stopped
        return True if on_step is None else on_step(i, metrics)

    model.train()
    run.history = run_steps(step, tc.steps, watch_step, items_per_step=tc.batch_size, item_name="pairs")
    run.seconds = time.perf_counter() - start
    if tc.seconds and run.stop_reason is None and run.history.stopped and run.seconds >= tc.seconds:
        run.history.stopped = False  # ended by the time budget, as planned
    model.eval()
    return run


# ----------------------------------------------------------------------------- what the page shows


def length_bins(max_source: int, n_bins: int = 8) -> int:
    """How many characters of source length each bar of the accuracy chart covers."""
    return max(1, math.ceil(max_source / n_bins))


def accuracy_by_length(scores: dict[str, pd.DataFrame], width: int, cap: int) -> pd.DataFrame:
    """Exact-match accuracy of each model per bin of `width` source characters: model, from, to, accuracy, pairs.

    The bins are cut at the training cap, so no bin mixes lengths seen in training with longer ones.

    >>> frame = pd.DataFrame({"length": [3, 4, 5, 6, 7], "exact": [True, True, False, True, False]})
    >>> accuracy_by_length({"m": frame}, 2, 5)[["from", "to", "accuracy"]].values.tolist()
    [[2.0, 3.0, 1.0], [4.0, 5.0, 0.5], [6.0, 7.0, 0.5]]
    """
    rows = []
    for name, frame in scores.items():
        bins = -((cap - frame.length) // width)  # ceil((length - cap) / width): bin b holds (cap + (b-1)·width, cap + b·width]
        for b, part in frame.groupby(bins):
            rows.append({"model": name, "from": int(cap + (b - 1) * width + 1), "to": int(cap + b * width),
                         "accuracy": float(part.exact.mean()), "pairs": len(part), "longer": bool(b > 0)})
    return pd.DataFrame(rows)


def score_runs(runs: dict[str, "Run"], task: Task) -> dict[str, pd.DataFrame]:
    """Every model's scores on the held-out pairs: the test set (lengths seen in training) and the longer set."""
    return {name: score(run.model, task.test + task.longer, task.vocab) for name, run in runs.items()}


def summary_table(runs: dict[str, "Run"], scores: dict[str, pd.DataFrame], cap: int) -> pd.DataFrame:
    """One row per model: size, budget spent, held-out exact match at trained lengths and beyond."""
    rows = []
    for name, run in runs.items():
        frame = scores[name]
        test, longer = frame[frame.length <= cap], frame[frame.length > cap]
        rows.append({"model": name, "parameters": count_parameters(run.model), "steps": run.steps, "seconds": run.seconds,
                     "test exact match": test.exact.mean() if len(test) else float("nan"),
                     "longer exact match": longer.exact.mean() if len(longer) else float("nan"),
                     "test loss (nats/char)": test.loss.mean() if len(test) else float("nan"),
                     "stopped": run.stop_reason or ""})
    return pd.DataFrame(rows)


def degradation(scores: dict[str, pd.DataFrame], train_max_chars: int) -> pd.DataFrame:
    """Per model: exact match on the shorter and the longer half of the test pairs (split at the median
    source length), and on the held-out longer-than-training pairs. What the caption reports."""
    rows = []
    for name, frame in scores.items():
        test = frame[frame.length <= train_max_chars]
        longer = frame[frame.length > train_max_chars]
        cut = test.length.median() if len(test) else 0
        short, long = test[test.length <= cut], test[test.length > cut]
        rows.append({"model": name, "short": short.exact.mean() if len(short) else float("nan"),
                     "long": long.exact.mean() if len(long) else float("nan"), "cut": cut,
                     "longer_than_training": longer.exact.mean() if len(longer) else float("nan")})
    table = pd.DataFrame(rows).set_index("model")
    table["drop"] = table.short - table.long
    return table


def describe_degradation(table: pd.DataFrame) -> str:
    """The caption of the accuracy-by-length chart, from the numbers of `degradation` (nothing hard-coded).

    >>> t = pd.DataFrame({"short": [1.0, 0.9], "long": [0.6, 0.9], "cut": [20, 20], "longer_than_training": [0.1, 0.8]},
    ...                  index=pd.Index(["fixed context", "transformer"], name="model"))
    >>> t["drop"] = t.short - t.long
    >>> print(describe_degradation(t).replace("; ", ";\\n"))
    From test sources of up to 20 characters to longer test sources, fixed context drops the most: 100% → 60% exact (40 points);
    transformer: 90% → 90%. On sources longer than any in training: fixed context 10%, transformer 80%.
    """
    known = table.dropna(subset=["drop"])
    if known.empty:
        return "Too few held-out pairs of different lengths to compare."
    worst = known["drop"].idxmax()
    cut = int(known.cut.iloc[0])
    others = "; ".join(f"{m}: {r.short:.0%} → {r.long:.0%}" for m, r in known.iterrows() if m != worst)
    w = known.loc[worst]
    verb = "drops the most" if w["drop"] > 0 else "drops no more than the others"
    text = (f"From test sources of up to {cut} characters to longer test sources, {worst} {verb}: {w.short:.0%} → {w.long:.0%} exact "
            f"({100 * w['drop']:.0f} points)" + (f"; {others}." if others else "."))
    beyond = table.longer_than_training.dropna()
    if len(beyond):
        text += " On sources longer than any in training: " + ", ".join(f"{m} {v:.0%}" for m, v in beyond.items()) + "."
    return text


def schedule_frame(tc: TrainConfig, d_model: int | None = None) -> pd.DataFrame:
    """lr at every step of the run, with and without warmup: step, lr, schedule."""
    d = d_model or tc.n_embd
    steps = np.unique(np.linspace(1, tc.steps, min(tc.steps, 400)).astype(int))
    return pd.concat([pd.DataFrame({"step": steps, "lr": [learning_rate(int(s), replace(tc, warmup_on=on), d) for s in steps],
                                    "schedule": f"warmup {tc.warmup} steps" if on else "no warmup"}) for on in (True, False)])


def alignment_table(translation: "Translation", vocab: Vocab) -> pd.DataFrame:
    """The alignment as a long table for a heatmap: layer, head, output (row label), source (column label), weight.

    Labels carry their position ("3 t") so a repeated character keeps its own row or column."""
    rows = [f"{i} {vocab.token(t)}" for i, t in enumerate(translation.ids)]
    cols = [f"{j} {'␣' if c == ' ' else c}" for j, c in enumerate(translation.source)]
    parts = []
    for layer, w in enumerate(translation.alignment):
        heads, n_rows, n_cols = w.shape
        parts.append(pd.DataFrame({"layer": layer + 1, "head": np.repeat(np.arange(1, heads + 1), n_rows * n_cols),
                                   "output": np.tile(np.repeat(rows, n_cols), heads), "source": np.tile(cols, heads * n_rows),
                                   "weight": w.ravel()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["layer", "head", "output", "source", "weight"])


def smoothing_table(runs: dict[str, "Run"], task: Task) -> pd.DataFrame:
    """Held-out loss, exact match and confidence of runs that differ in label smoothing (rows: ε)."""
    rows = []
    for run in runs.values():
        frame = score(run.model, task.test, task.vocab)
        rows.append({"label smoothing ε": run.config.label_smoothing, "test loss (nats/char)": frame.loss.mean(),
                     "exact match": frame.exact.mean(), "confidence": frame.confidence.mean(),
                     "confidence when wrong": frame[~frame.exact].confidence.mean() if (~frame.exact).any() else float("nan")})
    return pd.DataFrame(rows)


def example_pairs(task: Task, n_test: int = 6, n_longer: int = 4) -> list[Pair]:
    """A spread of held-out pairs for the page's picker: test pairs from shorter to the longest trained length, then longer ones."""
    ordered = sorted(task.test, key=lambda p: (len(p.source), p.number))
    picks = [ordered[round(i * (len(ordered) - 1) / max(n_test - 1, 1))] for i in range(n_test)] if ordered else []
    return list(dict.fromkeys(picks)) + task.longer[:n_longer]


def describe_pair(runs: dict[str, "Run"], task: Task) -> str:
    """A caption comparing runs of one model that differ in one setting: test exact match, loss at the end, divergence."""
    parts, exact = [], {}
    for name, run in runs.items():
        exact[name] = score(run.model, task.test, task.vocab).exact.mean()
        loss = run.history.metrics["loss"][-1] if run.history.steps else float("nan")
        note = f", stopped at step {run.steps:,} ({run.stop_reason})" if run.stop_reason else ""
        parts.append(f"{name}: {exact[name]:.0%} exact on the test pairs, final training loss {loss:.3f}{note}")
    best = max(exact, key=exact.get)
    tie = sum(v == exact[best] for v in exact.values()) > 1
    return "; ".join(parts) + (". The same exact match." if tie else f". Higher exact match: {best}.")


def describe_smoothing(table: pd.DataFrame) -> str:
    """What the smoothing table shows, in words (each claim from its numbers)."""
    if len(table) < 2:
        return ""
    low, high = table.sort_values("label smoothing ε").iloc[[0, -1]].itertuples(index=False)
    row = lambda r: dict(zip(table.columns, r))
    a, b = row(low), row(high)
    return (f"With ε = {b['label smoothing ε']:g} instead of {a['label smoothing ε']:g}: mean confidence {a['confidence']:.1%} → "
            f"{b['confidence']:.1%}, test cross-entropy {a['test loss (nats/char)']:.3f} → {b['test loss (nats/char)']:.3f} nats/char, "
            f"exact match {a['exact match']:.1%} → {b['exact match']:.1%}.")


class Translator(torch.nn.Module):
    """A seq2seq model's decoder with its source fixed: a causal LM over the output, as core/llm/generation.py calls one.

    The encoder reads the source once; every call then decodes `input_ids` (the output so far, or its
    newest tokens after a cache), so greedy, beam search and the samplers run on it unchanged.
    """

    def __init__(self, model: torch.nn.Module, source_ids: list[int]):
        super().__init__()
        self.model, self.config = model, model.config
        with torch.no_grad():
            self.memory = model.encode(torch.tensor([source_ids]))

    def forward(self, input_ids: torch.Tensor, past_key_values=None, use_cache: bool = False, logits_to_keep: int = 0):
        cache = past_key_values if past_key_values is not None else (self.model.new_cache() if use_cache else None)
        out = self.model.decode(input_ids, self.memory.expand(input_ids.shape[0]), cache)
        logits = out.logits[:, -logits_to_keep:] if logits_to_keep else out.logits
        return LMOutput(logits, cache)


class LMOutput(NamedTuple):
    """The two fields the decoding code reads from a causal LM's output."""

    logits: torch.Tensor  # (B, T or logits_to_keep, vocab)
    past_key_values: object  # the cache to continue from


@dataclass
class Translation:
    source: str
    output: str
    ids: list[int]  # the output ids, end token included if it was written
    logprob: float  # total log-probability of the output under the model, in nats
    alignment: list[np.ndarray]  # per layer: (heads, output positions, source characters); [] for the fixed-context model
    strategy: str


def translate(model: torch.nn.Module, vocab: Vocab, text: str, strategy: str = "greedy", num_beams: int = 4) -> Translation:
    """The learner's source text → the model's output, by greedy or beam search through core/llm/generation.py."""
    source_ids = check_source(text, vocab, model.config.max_source)
    translator = Translator(model.eval(), source_ids)
    max_new = model.config.max_target - 1
    if strategy == "greedy":
        gen = generation.greedy(translator, [BOS], max_new, eos_token_id=EOS)
    elif strategy == "beam":
        gen = generation.beam_search(translator, [BOS], max_new, num_beams=num_beams, eos_token_id=EOS)
    else:
        raise LabError(f"the strategy must be greedy or beam (got {strategy!r})")
    return Translation(text, vocab.decode(gen.new_ids), gen.new_ids, gen.total_logprob, alignment(model, source_ids, gen.new_ids), strategy)


@torch.no_grad()
def alignment(model: torch.nn.Module, source_ids: list[int], output_ids: list[int]) -> list[np.ndarray]:
    """Where each output position looked in the source while writing `output_ids`: the RNN's α, or the
    transformer's cross-attention per layer and head. Row t: the weights used to write output_ids[t]."""
    if not output_ids:
        return []
    memory = model.eval().encode(torch.tensor([source_ids]))
    out = model.decode(torch.tensor([[BOS] + list(output_ids[:-1])]), memory, need_weights=True)
    return [w[0].numpy() for w in out.cross_attention] if out.cross_attention else []
