"""Training any neural language model on a token stream: the next-token loss, held-out bits, samples.

Every neural model of the ladder (the MLP, the recurrent ones, the GPT) is an nn.Module that maps
a window of token ids x (B, T) to logits (B, T, V): the logits at position t predict x[t+1] from
x[0..t] and nothing later. Training is the same for all of them:

    loss = -mean over positions of log softmax(logits_t)[x_{t+1}]       (nats; / ln 2 for bits)

on random windows of the training stream, with Adam and gradient-norm clipping.

Held-out scoring is the same for every rung too, so their numbers compare: every held-out token
after the first `warmup` is predicted once, from at least `warmup` and at most `block_size` tokens
before it (windows of the held-out stream that overlap by `warmup` tokens).

>>> corpus = make_corpus("a b c".split() * 300, unit="word", seed=0)    # 900 tokens: 20 blocks of 45, 2 held out
>>> corpus.vocab, len(corpus.train), len(corpus.heldout)
(('a', 'b', 'c', '<UNK>'), 810, 90)
>>> logits = torch.zeros(1, 2, 4)                     # a model that knows nothing: uniform over 4 tokens
>>> round(next_token_loss(logits, torch.tensor([[0, 1]])).item() / math.log(2), 3)   # = log2 4 bits
2.0
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core.errors import LabError
from core.foundations.cross_entropy_loss import log_softmax
from core.foundations.evaluation import split_indices
from core.lm.ngram import UNK
from core.training import History, OnStep, run_steps

MIN_TOKENS = 640  # a held-out tenth of 64 tokens: enough to score after a warm-up of 16
MIN_BLOCK = 32
EXPLODED_NORM = 1e4  # a gradient norm above this (or inf/NaN) stops training: the run has exploded


@dataclass(frozen=True)
class Corpus:
    """One text cut into a training stream and a held-out stream of token ids, over one vocabulary."""

    name: str
    unit: str  # "word" (tokens joined by spaces) or "char"
    vocab: tuple[str, ...]  # <UNK> last: every held-out token the training text did not make known
    train: np.ndarray
    heldout: np.ndarray
    entropy_rate: float | None = None  # bits per token, when the text comes from a source whose rate is known
    unknown_share: float = 0.0  # share of held-out tokens that are <UNK>

    def decode(self, ids: Sequence[int]) -> str:
        return self.join(self.vocab[int(i)] for i in ids)

    def join(self, tokens) -> str:
        return ("" if self.unit == "char" else " ").join(tokens)

    def tokens(self, ids: np.ndarray) -> list[str]:
        return [self.vocab[int(i)] for i in ids]


def make_corpus(tokens: Sequence[str], unit: str, name: str = "text", heldout_fraction: float = 0.1, block: int = 256,
                seed: int = 0, unk_cutoff: int = 2, entropy_rate: float | None = None) -> Corpus:
    """Cut `tokens` into blocks of `block` tokens (shorter for a short text: at least 20 blocks), hold
    out a share of the blocks (a seeded split, core.foundations.evaluation.split_indices), and number the tokens.

    The vocabulary is the training tokens seen at least `unk_cutoff` times; every other token (in
    training or held out) becomes <UNK>, so <UNK> has real training counts and held-out words never
    seen cost finite bits in every model.
    """
    block = max(MIN_BLOCK, min(block, len(tokens) // 20))  # a short text gets shorter blocks, so a tenth is still some blocks
    n_blocks = len(tokens) // block
    if n_blocks < 20 or len(tokens) < MIN_TOKENS:
        hint = ", or use characters instead of words." if unit == "word" else "."
        raise LabError(f"the text has {len(tokens):,} {unit} tokens; a training part and a held-out part need at least "
                       f"{max(MIN_TOKENS, 20 * MIN_BLOCK):,}. Add text{hint}")
    parts = split_indices(n_blocks, test_fraction=heldout_fraction, seed=seed)
    pick = lambda rows: [t for b in sorted(rows) for t in tokens[b * block : (b + 1) * block]]  # noqa: E731
    train, heldout = pick(parts.train), pick(parts.test)
    counts: dict[str, int] = {}
    for t in train:
        counts[t] = counts.get(t, 0) + 1
    vocab = tuple(sorted(t for t, c in counts.items() if c >= unk_cutoff and t != UNK)) + (UNK,)
    index = {t: i for i, t in enumerate(vocab)}
    encode = lambda ts: np.fromiter((index.get(t, len(vocab) - 1) for t in ts), dtype=np.int64, count=len(ts))  # noqa: E731
    held_ids = encode(heldout)
    return Corpus(name, unit, vocab, encode(train), held_ids, entropy_rate, float(np.mean(held_ids == len(vocab) - 1)))


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 400  # optimizer steps
    batch_size: int = 32  # windows per step
    block_size: int = 32  # tokens per window: the most context a model is trained (and scored) with
    lr: float = 1e-2  # Adam's learning rate at the start; it follows a cosine down to a tenth of it by the last step
    clip: float | None = 1.0  # rescale the gradient to at most this norm (None: no clipping)
    eval_every: int = 50  # steps between held-out checks for the curve
    eval_tokens: int = 4_000  # held-out tokens scored at each check (all of them at the end)
    warmup: int = 16  # held-out tokens that only serve as context before the first scored one
    sample_tokens: int = 40  # tokens written by the trained model
    seed: int = 0


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean -log q(target) in nats over every position: log-softmax (stable, core.foundations.cross_entropy_loss) then pick."""
    logq = log_softmax(logits.reshape(-1, logits.shape[-1]))
    return -logq.gather(1, targets.reshape(-1, 1)).mean()


def heldout_windows(n: int, block: int, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, mask): windows ids[s : s + block + 1] of a stream of n tokens, and which of each
    window's `block` targets to score, so that targets warmup..n-1 are each scored exactly once with
    at least `warmup` tokens of context (positions past the end are masked).

    >>> starts, mask = heldout_windows(10, block=4, warmup=2)
    >>> starts.tolist(), mask.astype(int).tolist()
    ([0, 3, 6], [[0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 0]])
    """
    if not 1 <= warmup <= block:
        raise LabError(f"the held-out warm-up ({warmup}) must be between 1 and the block size ({block})")
    if n <= warmup:
        raise LabError(f"{n} held-out tokens are too few to score after a warm-up of {warmup}")
    stride = block - warmup + 1
    starts = np.arange(0, n - warmup, stride)
    target = starts[:, None] + 1 + np.arange(block)[None, :]  # index of each window position's target
    mask = (np.arange(block)[None, :] >= warmup - 1) & (target < n)
    return starts, mask


@torch.no_grad()
def heldout_surprisals(model: nn.Module, ids: np.ndarray, block: int, warmup: int, batch: int = 512) -> np.ndarray:
    """-log2 q(token | context) for held-out tokens warmup..n-1, in order."""
    model.eval()
    starts, mask = heldout_windows(len(ids), block, warmup)
    padded = torch.as_tensor(np.concatenate([ids, np.zeros(block + 1, dtype=np.int64)]))
    out = []
    for lo in range(0, len(starts), batch):
        s = torch.as_tensor(starts[lo : lo + batch])
        windows = padded[s[:, None] + torch.arange(block + 1)]
        logq = log_softmax(model(windows[:, :-1]))
        bits = -logq.gather(2, windows[:, 1:, None])[..., 0] / math.log(2)
        out.append(bits[torch.as_tensor(mask[lo : lo + batch])].numpy())
    model.train()
    return np.concatenate(out)


@torch.no_grad()
def sample(model: nn.Module, start: Sequence[int], n_tokens: int, block: int, generator: torch.Generator,
           banned: Sequence[int] = ()) -> list[int]:
    """Write n_tokens, each drawn from softmax(logits) given the last `block` tokens (`banned` ids never drawn)."""
    model.eval()
    ids = list(start)
    for _ in range(n_tokens):
        logits = model(torch.tensor([ids[-block:]]))[0, -1]
        logits[list(banned)] = -math.inf
        ids.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)))
    model.train()
    return ids[len(start) :]


class Logits(nn.Module):
    """A model whose forward returns an object with .logits (the GPT's GPTOutput), as a plain ids -> logits module."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).logits


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass
class LMResult:
    """One trained language model (a rung of the ladder) and how it did on the held-out text."""

    name: str
    model: object  # an nn.Module, or an NGramLM
    history: History | None  # None for models fitted by counting
    heldout_bits: float  # on every held-out token after the warm-up
    n_parameters: int
    train_seconds: float  # time spent in training steps (held-out checks not counted)
    curve: list[dict] = field(default_factory=list)  # {step, seconds, heldout_bits} at each check
    sample: str = ""
    exploded: str = ""  # why training stopped, when the gradient exploded
    family: str = ""  # n-gram, MLP, RNN, GRU, LSTM, GPT: what the ladder colours by


def train_lm(name: str, model: nn.Module, corpus: Corpus, config: TrainConfig, rng: np.random.Generator, generator: torch.Generator,
             on_step: OnStep | None = None, family: str = "") -> LMResult:
    """Adam on random windows of the training stream; a held-out check every `eval_every` steps.

    Reports per step: loss (training bits/token), grad_norm (before clipping) and, at checks,
    heldout_bits. A gradient norm above EXPLODED_NORM, or inf/NaN, stops the run (the loss is
    reported as NaN, which run_steps treats as divergence) and `exploded` says why.
    """
    c = config
    if len(corpus.train) <= c.block_size + 1:
        raise LabError(f"the training text ({len(corpus.train):,} tokens) is shorter than one window of {c.block_size + 1}")
    train = torch.as_tensor(corpus.train)
    probe = corpus.heldout[: c.eval_tokens + c.warmup]
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(i / c.steps, 1.0))))
    curve, clock = [], {"train": 0.0}
    why: list[str] = []

    def step(i: int) -> dict[str, float]:
        start = time.perf_counter()
        starts = torch.as_tensor(rng.integers(0, len(train) - c.block_size - 1, c.batch_size))
        window = train[starts[:, None] + torch.arange(c.block_size + 1)]
        loss = next_token_loss(model(window[:, :-1]), window[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), c.clip if c.clip else math.inf))
        metrics = {"loss": loss.item() / math.log(2), "grad_norm": norm}
        if not math.isfinite(norm) or norm > EXPLODED_NORM:
            why.append(f"at step {i} the gradient norm reached {norm:.3g} (limit {EXPLODED_NORM:.0e}): the gradient exploded, "
                       "so the update would have thrown the weights far away. "
                       + ("Clipping rescales the step but the loss surface is too steep here; lower the learning rate."
                          if c.clip else "Turn on gradient clipping (or lower the learning rate)."))
            return metrics | {"loss": math.nan}
        optimizer.step()
        schedule.step()
        clock["train"] += time.perf_counter() - start
        if i % c.eval_every == 0 or i == c.steps:
            bits = float(np.mean(heldout_surprisals(model, probe, c.block_size, c.warmup)))
            curve.append({"step": i, "seconds": clock["train"], "heldout_bits": bits})
            metrics["heldout_bits"] = bits
        return metrics

    history = run_steps(step, c.steps, on_step, items_per_step=c.batch_size * c.block_size)
    bits = float(np.mean(heldout_surprisals(model, corpus.heldout, c.block_size, c.warmup))) if not why else math.nan
    text = ""
    if not why:
        text = corpus.decode(sample(model, corpus.heldout[: c.warmup], c.sample_tokens, c.block_size, generator,
                                    banned=[len(corpus.vocab) - 1]))
    return LMResult(name, model, history, bits, n_parameters(model), clock["train"], curve, text, why[0] if why else "", family)

