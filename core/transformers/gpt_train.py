"""Training the GPT of core/transformers/gpt.py on a text, and the lines it has to beat.

One step: pick `batch_size` random windows of `context + 1` tokens from the training part, ask the
model to predict each window's next tokens from the ones before, and move every weight against
its gradient (AdamW). The loss is the mean cross-entropy, in nats (÷ ln 2 for bits):

    L = -1/(B·T) Σ log p(x_{t+1} | x_{≤t})

The learning rate rises linearly for `warmup` steps, then follows a cosine down to lr × min_lr_ratio:

    lr(s) = lr · s / warmup                                              s ≤ warmup
    lr(s) = lr_min + (lr - lr_min) · ½ (1 + cos(π · (s - warmup) / (steps - warmup)))     after

The corpus is cut ONCE, the same way every run: the first 90 % of its characters to train on,
the last 10 % held out. The held-out cross-entropy is what every run, ablation and baseline is
judged by: the best add-k n-gram model (order and k chosen on the training part alone) is the
line to beat; on the lab's synthetic Markov text, its exact entropy rate is the floor no model
can go below.

Bits per token depend on the tokenizer (a BPE token holds several characters, so it carries more
bits than one character), so runs, the n-gram and the floor are compared per CHARACTER of the
held-out text, with that text's own count of tokens per character:

    bits per character = bits per token × (held-out tokens ÷ held-out characters)

>>> from core.lm.text_tokens import ByteTokenizer
>>> text = "the cat sat on the mat. " * 200
>>> run = fit(GPTConfig(context=16, n_layer=1, n_head=2, n_embd=16), TrainConfig(steps=30, batch_size=8, lr=1e-2, warmup=5,
...           eval_every=10), text, ByteTokenizer())
>>> run.step, run.history.metrics["val_bits"][-1] < 4.0       # from 8 bits (256 equally likely bytes) to a few
(30, True)
"""

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import pandas as pd
import torch

from core.errors import LabError
from core.llm.generation import Sampling, sample
from core.lm.ngram import NGramConfig, NGramLM
from core.lm.text_tokens import BPE_VOCAB, TOKENIZERS, train_bpe
from core.training import History, OnStep, generators, run_steps
from core.transformers.gpt import GPT, GPTConfig, count_parameters, flops_per_token

VAL_FRACTION = 0.1  # the last 10 % of the corpus is held out, every run
LN2 = math.log(2)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 300  # optimiser steps
    batch_size: int = 16  # windows of `context` tokens per step
    lr: float = 3e-3  # peak learning rate, reached after the warmup
    warmup: int = 30  # steps of linear warmup from 0 (large early steps from random weights blow up)
    min_lr_ratio: float = 0.1  # the cosine ends at lr × this
    weight_decay: float = 0.1  # AdamW's pull of every weight matrix towards 0 (not biases or LayerNorm gains)
    beta2: float = 0.99  # Adam's memory of squared gradients (nanoGPT's choice for small models)
    grad_clip: float = 1.0  # the gradient's norm is cut to this (0 = off)
    eval_every: int = 0  # steps between held-out evaluations and samples (0: ten per run)
    eval_tokens: int = 8192  # held-out tokens scored at each evaluation; the final score reads the whole split
    sample_tokens: int = 80  # length of the sample written at each evaluation
    seed: int = 0  # initial weights, batches, dropout and samples all come from this


def check_train_config(tc: TrainConfig) -> None:
    if tc.steps < 1 or tc.batch_size < 1 or tc.eval_every < 0:
        raise LabError(f"steps and batch size must be at least 1, the evaluation interval 0 (automatic) or more "
                       f"(got {tc.steps}, {tc.batch_size}, {tc.eval_every})")
    if not (tc.lr > 0 and math.isfinite(tc.lr)):
        raise LabError(f"the learning rate must be a positive number (got {tc.lr})")
    if tc.warmup < 0 or not 0 <= tc.min_lr_ratio <= 1:
        raise LabError("the warmup must be 0 steps or more, and the final learning rate a share of the peak in [0, 1]")


def eval_interval(tc: TrainConfig) -> int:
    """Steps between evaluations: tc.eval_every, or a tenth of the run (rounded up)."""
    return tc.eval_every or max(1, math.ceil(tc.steps / 10))


def learning_rate(step: int, tc: TrainConfig) -> float:
    """Linear warmup to tc.lr, then a cosine down to tc.lr × tc.min_lr_ratio at the last step.

    >>> [round(learning_rate(s, TrainConfig(lr=1.0, warmup=2, steps=6, min_lr_ratio=0.1)), 3) for s in range(1, 7)]
    [0.5, 1.0, 0.868, 0.55, 0.232, 0.1]
    """
    if step <= tc.warmup:
        return tc.lr * step / tc.warmup
    progress = (step - tc.warmup) / max(tc.steps - tc.warmup, 1)
    low = tc.lr * tc.min_lr_ratio
    return low + (tc.lr - low) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


# ----------------------------------------------------------------------------- data


@dataclass
class TokenSplit:
    """The corpus as token ids, cut once into its first 90 % (train) and last 10 % (held out)."""

    train: torch.Tensor  # int64 ids
    val: torch.Tensor
    val_chars: int  # characters of the held-out text: bits per token × tokens / chars = bits per character

    @property
    def tokens_per_char(self) -> float:
        """Held-out tokens per held-out character, counted: 1.0 for characters, ~0.4 for a BPE of English."""
        return len(self.val) / self.val_chars


def cut_point(text: str) -> int:
    """Where the held-out part starts: the first 90 % of the characters train, the rest is held out."""
    return int(len(text) * (1 - VAL_FRACTION))


def tokenizer_for(text: str, tokens: str, bpe_vocab: int = BPE_VOCAB):
    """The tokenizer of a run on `text`: tokens is a name of core.lm.text_tokens.TOKENIZERS.

    Characters and bytes are fixed alphabets, read off the whole text (a character seen only in the
    held-out part still needs a token). BPE is LEARNED from a text, so it sees only the training part:
    merges fitted to the held-out text would help the model on exactly the text it is judged on.
    """
    if tokens not in TOKENIZERS:
        raise LabError(f"unknown tokens '{tokens}': choose {', '.join(TOKENIZERS)}")
    if tokens == "BPE":
        return train_bpe(text[:cut_point(text)], bpe_vocab)
    return TOKENIZERS[tokens](text)


def split_tokens(text: str, tokenizer, context: int) -> TokenSplit:
    """Cut the TEXT at 90 % of its characters and encode each part, so every tokenizer holds out the same text."""
    if not text or not text.strip():
        raise LabError("the corpus is empty: pick or upload a text to train on")
    cut = cut_point(text)
    train, val = (torch.tensor(tokenizer.encode(part), dtype=torch.long) for part in (text[:cut], text[cut:]))
    if len(val) <= context or len(train) <= context:
        raise LabError(f"the corpus is {len(text):,} characters ({len(train) + len(val):,} tokens); its held-out 10 % "
                       f"({len(val):,} tokens) and the rest must each hold a window of the context ({context} tokens) plus one. "
                       "Use a longer text or a shorter context.")
    return TokenSplit(train, val, len(text) - cut)


def get_batch(ids: torch.Tensor, batch_size: int, context: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch_size` random windows: inputs x (B, T) and targets y = x shifted by one token."""
    windows = ids.unfold(0, context + 1, 1)  # every window, as a view: no copy
    rows = windows[torch.randint(len(windows), (batch_size,), generator=generator)]
    return rows[:, :-1], rows[:, 1:]


@torch.no_grad()
def evaluate(model: GPT, ids: torch.Tensor, max_tokens: int | None = None, batch_size: int = 64) -> float:
    """Mean cross-entropy (nats per token) over non-overlapping windows of `ids`: all of them, or
    about `max_tokens` worth spread evenly over the split (the same windows every time).

    A window's first tokens have little context, as they would at the start of any text; the
    n-gram baseline sees its full n - 1 tokens everywhere, so the comparison slightly favours it.
    """
    context = model.config.context
    n = (len(ids) - 1) // context
    if max_tokens is not None:
        n = min(n, max(1, max_tokens // context))
    starts = torch.linspace(0, len(ids) - 1 - context, n).long()
    was_training = model.training
    model.eval()
    total = 0.0
    for chunk in starts.split(batch_size):
        rows = torch.stack([ids[s:s + context + 1] for s in chunk.tolist()])
        total += model(rows[:, :-1], targets=rows[:, 1:]).loss.item() * len(chunk)
    model.train(was_training)
    return total / n


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    """Everything a training run needs to go on: `fit(..., resume_from=run)` continues it where it stopped."""

    config: GPTConfig
    train_config: TrainConfig
    tokenizer: object
    data: TokenSplit
    model: GPT
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    step: int = 0  # optimiser steps done
    history: History = field(default_factory=History)
    samples: list[tuple[int, str]] = field(default_factory=list)  # (step, text) written at each evaluation
    stop_reason: str | None = None  # why training stopped early on its own (divergence)
    seconds: float = 0.0  # time spent training so far
    val_loss: float | None = None  # nats per token on the WHOLE held-out split, once the run has finished

    @property
    def finished(self) -> bool:
        return self.step >= self.train_config.steps or self.stop_reason is not None

    @property
    def val_bits(self) -> float | None:
        return None if self.val_loss is None else self.val_loss / LN2

    @property
    def bits_per_char(self) -> float | None:
        return None if self.val_loss is None else self.val_bits * self.data.tokens_per_char


def start(config: GPTConfig, train_config: TrainConfig, text: str, tokenizer) -> Run:
    """A fresh run: the split, and the model and optimiser built from the run's own seed."""
    check_train_config(train_config)
    if tokenizer.vocab_size != config.vocab_size:
        raise LabError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model's vocabulary is {config.vocab_size}")
    data = split_tokens(text, tokenizer, config.context)
    _, g = generators(train_config.seed)
    model = GPT(config, g)
    decay = [p for p in model.parameters() if p.dim() >= 2]  # matrices and embeddings; not biases or LayerNorm gains
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": train_config.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=train_config.lr, betas=(0.9, train_config.beta2))
    return Run(config, train_config, tokenizer, data, model, optimizer, g, history=History(total_steps=train_config.steps))


def divergence(loss: float, step: int, lr: float, vocab_size: int) -> str | None:
    """Why a run must stop, or None: a loss that is not a number, or far above guessing uniformly (ln V nats)."""
    if not math.isfinite(loss):
        return f"the loss became {loss} at step {step}: the learning rate ({lr:.2g}) is too high for this model; lower it"
    if loss > math.log(vocab_size) + 1.0:
        return (f"the loss climbed to {loss:.2f} nats at step {step}, far above the {math.log(vocab_size):.2f} of guessing "
                f"uniformly among {vocab_size} tokens: the updates overshoot. Lower the learning rate (it was {lr:.2g})")
    return None


def write_sample(run: Run) -> str:
    """A sample from the model at this point of training: the held-out text's first tokens continued,
    at temperature 0.8 with the run's seed (the same draws every time, so only the model changes)."""
    prompt = run.data.val[: max(1, min(8, run.config.context // 4))].tolist()
    n = min(run.train_config.sample_tokens, run.config.context - len(prompt))
    run.model.eval()
    out = sample(run.model, prompt, n, Sampling(temperature=0.8), seed=run.train_config.seed)
    run.model.train()
    return run.tokenizer.decode(out.ids)


def fit(config: GPTConfig, train_config: TrainConfig, text: str, tokenizer, on_step: OnStep | None = None,
        resume_from: Run | None = None, lines: dict[str, float] | None = None,
        on_sample: Callable[[int, str], None] | None = None) -> Run:
    """Train a GPT on `text` (or go on with `resume_from`, a Run that stopped) up to train_config.steps.

    on_step(step, metrics) as core.training.run_steps calls it: loss and train_bits each step,
    val_loss and val_bits at each evaluation, both also as bits per character (train_bits_per_char,
    val_bits_per_char: × the held-out split's tokens per character), lr, tokens_per_s, and `lines`
    (constant reference lines such as {"n-gram (bits/char)": 2.4}) so a live chart draws them. on_sample(step, text) gets
    each sample. The Run is updated after every step, so a run interrupted from outside (a Stop
    click) holds the model of its last finished step and can be resumed.
    """
    run = resume_from if resume_from is not None else start(config, train_config, text, tokenizer)
    tc, model = run.train_config, run.model
    model.train()
    tokens_per_step = tc.batch_size * run.config.context
    per_char = run.data.tokens_per_char / LN2  # nats per token -> bits per character

    def one_step(_: int) -> dict[str, float]:
        step = run.step + 1
        lr = learning_rate(step, tc)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(run.data.train, tc.batch_size, run.config.context, run.generator)
        loss = model(x, targets=y).loss
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        run.optimizer.step()
        run.step = step
        metrics = {"loss": loss.item(), "train_bits": loss.item() / LN2, "train_bits_per_char": loss.item() * per_char, "lr": lr,
                   **(lines or {})}
        if (step % eval_interval(tc) == 0 or step == tc.steps) and math.isfinite(metrics["loss"]):
            val = evaluate(model, run.data.val, tc.eval_tokens)
            metrics |= {"val_loss": val, "val_bits": val / LN2, "val_bits_per_char": val * per_char}
            run.samples.append((step, write_sample(run)))
            if on_sample is not None:
                on_sample(step, run.samples[-1][1])
        return metrics

    started, seconds_before = time.perf_counter(), run.seconds

    def watch(_: int, metrics: dict[str, float]) -> bool:
        run.seconds = seconds_before + time.perf_counter() - started
        run.history.record(run.step, metrics)
        run.stop_reason = divergence(metrics["loss"], run.step, metrics["lr"], run.config.vocab_size)
        if run.stop_reason:
            return False
        return on_step is None or on_step(run.step, metrics) is not False

    run_steps(one_step, tc.steps - run.step, watch, items_per_step=tokens_per_step)
    run.history.stopped = not run.finished
    run.history.diverged = run.stop_reason is not None
    if run.step >= tc.steps and run.stop_reason is None:
        run.val_loss = evaluate(model, run.data.val)
    model.eval()
    return run


@dataclass(frozen=True)
class HeldOut:
    nats: float  # per token
    tokens_per_char: float  # of the held-out text

    @property
    def bits(self) -> float:
        return self.nats / LN2

    @property
    def bits_per_char(self) -> float:
        return self.bits * self.tokens_per_char


def held_out_loss(history: History, tokens_per_char: float, final: float | None = None) -> HeldOut | None:
    """The held-out loss to report: `final` (the whole split, once a run finished), else the last evaluation's."""
    if final is not None:
        return HeldOut(final, tokens_per_char)
    evals = [v for v in history.metrics.get("val_loss", []) if math.isfinite(v)]
    return HeldOut(evals[-1], tokens_per_char) if evals else None


def loss_curves(history: History, tokens_per_char: float) -> pd.DataFrame:
    """The train and held-out curves in bits per character (step, metric: train / held-out, value), for a chart
    beside lines in bits per character. Both use the held-out text's tokens per character.

    >>> h = History(steps=[1, 2], metrics={"train_bits": [3.0, 2.0], "val_bits": [float("nan"), 1.5]})
    >>> loss_curves(h, 0.5).values.tolist()
    [[1, 'train', 1.5], [2, 'train', 1.0], [2, 'held-out', 0.75]]
    """
    rows = [(step, name, bits * tokens_per_char) for metric, name in (("train_bits", "train"), ("val_bits", "held-out"))
            for step, bits in zip(history.steps, history.metrics.get(metric, [])) if math.isfinite(bits)]
    return pd.DataFrame(rows, columns=["step", "metric", "value"])


def summary(run: Run) -> dict[str, float | int | str | None]:
    """One row for a table of runs: size, cost and held-out loss (nats and bits per token, bits per character)."""
    h = run.history
    return {"parameters": count_parameters(run.model), "steps": run.step,
            "tokens seen": run.step * run.train_config.batch_size * run.config.context,
            "training FLOPs": flops_per_token(run.config) * run.step * run.train_config.batch_size * run.config.context,
            "val loss (nats)": run.val_loss, "val loss (bits)": run.val_bits, "bits per character": run.bits_per_char,
            "held-out tokens per character": run.data.tokens_per_char,
            "tokens/s": h.last("tokens_per_s") if h.steps else None, "seconds": run.seconds, "stopped because": run.stop_reason}


# ----------------------------------------------------------------------------- the lines to beat


@dataclass(frozen=True)
class NGramBaseline:
    order: int
    k: float
    val_bits: float  # bits per token on the held-out split
    bits_per_char: float
    train_tokens: int
    val_tokens: int
    tuning: list[dict] = field(default_factory=list)  # (order, k, bits) on the training part's own held-out tail


def best_ngram(data: TokenSplit, vocab_size: int, orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
               ks: tuple[float, ...] = (0.003, 0.03, 0.3)) -> NGramBaseline:
    """The add-k n-gram model (core/lm/ngram.py, over token ids) a GPT has to beat on the held-out split.

    Order and k are chosen without looking at the held-out split: each is fitted on the first
    90 % of the training part and scored on its last 10 %; the winner is refitted on the whole
    training part and scored once on the held-out split. Longer orders are tried until one does
    worse than the order before it (add-k smoothing only gets worse from there: sparser counts).
    """
    vocab = [str(i) for i in range(vocab_size)]
    train = [str(i) for i in data.train.tolist()]
    cut = int(len(train) * (1 - VAL_FRACTION))
    fit_part, tune_part = train[:cut], train[cut:]
    tuning = []
    for order in orders:
        if len(fit_part) < order or len(tune_part) < order:
            continue
        lm = NGramLM(NGramConfig(order, ks[0])).fit(fit_part, vocab)
        for k in ks:  # the counts do not depend on k: count once per order, score each k
            lm.config = NGramConfig(order, k)
            tuning.append({"order": order, "k": k, "bits": lm.cross_entropy(tune_part)})
        best = min(tuning, key=lambda row: row["bits"])
        if best["order"] < order:
            break
    lm = NGramLM(NGramConfig(best["order"], best["k"])).fit(train, vocab)
    bits = lm.cross_entropy([str(i) for i in data.val.tolist()])
    return NGramBaseline(best["order"], best["k"], bits, bits * len(data.val) / data.val_chars, len(data.train), len(data.val), tuning)


def ngram_baseline(text: str, tokens: str, bpe_vocab: int = BPE_VOCAB) -> NGramBaseline:
    """`best_ngram` for a corpus and a tokenizer name of core.lm.text_tokens.TOKENIZERS (what a page caches)."""
    tokenizer = tokenizer_for(text, tokens, bpe_vocab)
    return best_ngram(split_tokens(text, tokenizer, 1), tokenizer.vocab_size)


# ----------------------------------------------------------------------------- the command line


def main(argv: list[str] | None = None) -> Run:
    """python -m core.transformers.gpt_train --corpus python-docs --out checkpoints/gpt-manual (see --help)."""
    from core.infra import data
    from core.transformers import gpt_checkpoint

    d, t = GPTConfig(), TrainConfig()
    p = argparse.ArgumentParser(prog="python -m core.transformers.gpt_train", description="Train the lab's GPT on a corpus.")
    p.add_argument("--corpus", default="python-docs", help="a text corpus of core/infra/data.py (python-docs, markov, ...) or a .txt path")
    p.add_argument("--tokens", default="bytes", choices=list(TOKENIZERS))
    p.add_argument("--bpe-vocab", type=int, default=BPE_VOCAB, help="with --tokens BPE: the vocabulary (256 bytes + the merges)")
    for name, default in (("layers", d.n_layer), ("heads", d.n_head), ("width", d.n_embd), ("context", d.context)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--dropout", type=float, default=d.dropout)
    for name, default in asdict(t).items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default="", help="save the checkpoint in this folder")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    text = open(a.corpus, encoding="utf-8").read() if a.corpus.endswith(".txt") else data.load_text(a.corpus)
    tokenizer = tokenizer_for(text, a.tokens, a.bpe_vocab)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, context=a.context, n_layer=a.layers, n_head=a.heads, n_embd=a.width,
                       dropout=a.dropout)
    tc = TrainConfig(**{name: getattr(a, name) for name in asdict(t)})
    baseline = best_ngram(split_tokens(text, tokenizer, config.context), tokenizer.vocab_size)
    print(f"{count_parameters(GPT(config)):,} parameters · best n-gram on the held-out 10 %: order {baseline.order}, "
          f"k {baseline.k}: {baseline.val_bits:.3f} bits/token, {baseline.bits_per_char:.3f} bits/character", flush=True)

    def report(step: int, m: dict[str, float]) -> None:
        if "val_bits" in m:
            print(f"step {step:5d} · train {m['train_bits']:.3f} bits · val {m['val_bits']:.3f} bits · "
                  f"{m['tokens_per_s']:,.0f} tokens/s", flush=True)

    run = fit(config, tc, text, tokenizer, report, lines={"n-gram (bits/char)": baseline.bits_per_char})
    if run.stop_reason:
        print(f"stopped: {run.stop_reason}", file=sys.stderr)
        return run
    print(f"held-out: {run.val_bits:.3f} bits/token ({run.val_loss:.3f} nats), n-gram {baseline.val_bits:.3f} · "
          f"{run.seconds:.0f} s\n{run.samples[-1][1]}")
    if a.out:
        command = "python -m core.transformers.gpt_train " + " ".join(argv if argv is not None else sys.argv[1:])
        meta = {"corpus": a.corpus, "command": command, "train": asdict(tc),
                "results": {**summary(run), "ngram": asdict(baseline) | {"tuning": None}}}
        log = {"steps": run.history.steps, "metrics": run.history.metrics, "samples": run.samples}
        print(f"saved to {gpt_checkpoint.save(run.model, tokenizer, a.out, meta, log)}")
    return run


if __name__ == "__main__":
    main()
