"""Why recurrent networks forget: the gradient reaching earlier steps, and a task with a distance you set.

1. The gradient reaching step t. A loss at the last step T learns about the input at step t only
   through ∂L/∂x_t, which passes back through T - t recurrent steps:

       ∂L/∂h_t = ∂L/∂h_T · ∏_{s=t+1..T} ∂h_s/∂h_{s-1},      RNN: ∂h_s/∂h_{s-1} = diag(1 - h_s²) W_hh

   A product of T - t such matrices shrinks geometrically when W_hh is small (vanishing: the loss
   cannot teach the network to use step t) and grows when it is large (exploding). The LSTM's cell
   state is carried by c_s = σ(f) ⊙ c_{s-1} + ..., so its backward factor is σ(f): a forget gate
   near 1 (a bias b_f > 0) passes the gradient through many steps. Clipping rescales the whole
   gradient to a maximum norm: it stops an exploding update, but it multiplies every step by the
   same factor, so a vanishing profile stays exactly as steep.

2. Copy a token seen d steps ago. Each sequence holds one signal token (one of a few symbols) at
   position L - 1 - d, random distractor tokens everywhere else, and a query token at the end; the
   model must answer the signal at the query. Chance is 1 / symbols. The vanilla RNN fails first
   as d grows; attention, which looks straight back at every earlier position, does not care.

>>> profile = gradient_flow(FlowConfig(kinds=("rnn",), seq_len=20, hidden=16))
>>> profile[0]["kind"], len(profile), profile[0]["distance"]        # step 0 is 19 steps before the loss
('RNN', 20, 19)
>>> x, y = copy_batch(np.random.default_rng(0), CopyConfig(seq_len=6, symbols=2, distractors=3), distance=4, batch=1)
>>> x.tolist(), y.tolist()        # the signal (0 or 1) 4 steps before the query (5); distractors 2-4 elsewhere
([[4, 0, 3, 2, 2, 5]], [0])
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from core.errors import LabError
from core.lm.neural_lm import Logits
from core.lm.rnn_lm import RNNLMConfig, build
from core.nn.recurrent import Recurrent
from core.training import OnStep, generators, run_steps
from core.transformers.gpt import GPT, GPTConfig

NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}
MAX_SEQ_LEN = 400
EXPLODED_NORM = 1e4  # a gradient norm above this (or inf/NaN) stops the run: it has exploded


# ----------------------------------------------------------------------------- 1. gradient flow at initialisation


@dataclass(frozen=True)
class FlowConfig:
    kinds: tuple[str, ...] = ("rnn", "gru", "lstm")
    seq_len: int = 60  # T: steps the loss at the end has to reach back through
    hidden: int = 32  # state size (and input size)
    scale: float = 1.0  # multiplies W_hh after torch's default initialisation U(-1/sqrt(H), 1/sqrt(H))
    keep_bias: float = 0.0  # added to the LSTM's forget-gate bias and the GRU's update-gate bias (> 0: keep more)
    nonlinearity: str = "tanh"  # the vanilla RNN's
    clip: float | None = None  # max gradient norm; None: no clipping
    batch: int = 16
    seed: int = 0


def _check_length(seq_len: int) -> None:
    if not 2 <= seq_len <= MAX_SEQ_LEN:
        raise LabError(f"the sequence length must be 2 to {MAX_SEQ_LEN} steps (got {seq_len})")


def gradient_flow(config: FlowConfig) -> list[dict]:
    """Per cell kind and step t: the norm of ∂L/∂x_t (mean over a batch) for a loss at the last step,
    before and after clipping the gradient of all the weights to `clip`.

    Rows: kind, step t, distance T-1-t, grad_norm, clipped_norm, weight_norm (the whole gradient's norm).
    """
    c = config
    _check_length(c.seq_len)
    rows = []
    for kind in c.kinds:
        _, g = generators(c.seed)
        layer = Recurrent(kind, c.hidden, c.hidden, nonlinearity=c.nonlinearity).double()  # float64: 1e-300 is still > 0
        layer.reset_parameters(g, c.scale)
        if kind in ("gru", "lstm"):  # gate 1 is the LSTM's forget gate f and the GRU's update gate z
            with torch.no_grad():
                layer.cells[0].bias_ih[c.hidden : 2 * c.hidden] += c.keep_bias
        readout = torch.randn(c.hidden, 10, generator=g, dtype=torch.float64) / math.sqrt(c.hidden)
        x = torch.randn(c.batch, c.seq_len, c.hidden, generator=g, dtype=torch.float64, requires_grad=True)
        target = torch.randint(0, 10, (c.batch,), generator=g)
        out, _ = layer(x)
        loss = nn.functional.cross_entropy(out[:, -1] @ readout, target)
        grads = torch.autograd.grad(loss, [x, *layer.parameters()])
        total = float(torch.sqrt(sum((p**2).sum() for p in grads[1:])))
        factor = min(1.0, c.clip / (total + 1e-6)) if c.clip and math.isfinite(total) else 1.0  # clip_grad_norm_'s rule
        norms = grads[0].norm(dim=-1).mean(0).numpy() * c.batch  # ∂(batch-mean loss)/∂x_t, per sequence
        for t, value in enumerate(norms):
            rows.append({"kind": NAMES[kind], "step": t, "distance": c.seq_len - 1 - t, "grad_norm": float(value),
                         "clipped_norm": float(value * factor), "weight_norm": total})
    return rows


def decay_per_step(rows: list[dict], kind: str) -> float:
    """The factor the gradient is multiplied by per step back (geometric fit over the profile).

    >>> decay_per_step([{"kind": "RNN", "distance": d, "grad_norm": 0.5**d} for d in range(10)], "RNN")
    0.5
    """
    pts = [(r["distance"], r["grad_norm"]) for r in rows if r["kind"] == kind and r["grad_norm"] > 0 and math.isfinite(r["grad_norm"])]
    if len(pts) < 2:
        return math.nan
    d, norm = np.array(pts).T
    return float(round(2 ** np.polyfit(d, np.log2(norm), 1)[0], 6))


# ----------------------------------------------------------------------------- 2. copy a token seen d steps ago


@dataclass(frozen=True)
class CopyConfig:
    kinds: tuple[str, ...] = ("RNN", "GRU", "LSTM", "attention")  # contenders, names in CONTENDERS
    distances: tuple[int, ...] = (2, 8, 16, 32)  # d: steps between the signal and the query
    seq_len: int = 33  # L: every sequence is this long, whatever d, so only the distance changes
    symbols: int = 4  # signal symbols (chance = 1 / symbols)
    distractors: int = 8  # other tokens that fill the sequence
    hidden: int = 32  # state size of the recurrent contenders (width of attention)
    steps: int = 300
    batch_size: int = 64
    lr: float = 0.01
    optimizer: str = "adam"  # adam | sgd (plain SGD steps in proportion to the gradient, so an exploding one throws it away)
    clip: float | None = 1.0  # max gradient norm (None: no clipping)
    scale: float = 1.0  # multiplies the recurrent weights W_hh at initialisation
    nonlinearity: str = "tanh"  # the vanilla RNN's: tanh | relu
    test_size: int = 512  # sequences the accuracy is measured on
    seed: int = 0
    extra: dict = field(default_factory=dict)  # settings a pluggable contender may read


def copy_batch(rng: np.random.Generator, config: CopyConfig, distance: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens (batch, L), signals (batch,)): ids 0..symbols-1 are signals, then distractors, the last id the query."""
    c = config
    check_copy(replace(c, distances=(distance,), kinds=()))
    x = rng.integers(c.symbols, c.symbols + c.distractors, (batch, c.seq_len))
    signal = rng.integers(0, c.symbols, batch)
    x[:, c.seq_len - 1 - distance] = signal
    x[:, -1] = c.symbols + c.distractors
    return torch.as_tensor(x), torch.as_tensor(signal)


MAX_DISTANCES = 8


def parse_distances(text: str) -> tuple[int, ...]:
    """'2, 8 16' -> (2, 8, 16): distances typed by a learner, sorted, each once.

    >>> parse_distances("16, 2 8,8")
    (2, 8, 16)
    """
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise LabError("type at least one distance, e.g. 2, 8, 16")
    try:
        distances = sorted({int(p) for p in parts})
    except ValueError:
        raise LabError(f"distances must be whole numbers separated by commas (got {text[:60]!r})") from None
    if len(distances) > MAX_DISTANCES:
        raise LabError(f"at most {MAX_DISTANCES} distances per sweep (got {len(distances)}): each one trains every contender")
    return tuple(distances)


def check_copy(config: CopyConfig) -> None:
    """Refuse a sweep that cannot run, before anything trains."""
    c = config
    if not 2 <= c.seq_len <= MAX_SEQ_LEN:
        raise LabError(f"the sequence length must be 2 to {MAX_SEQ_LEN} tokens (got {c.seq_len})")
    for d in c.distances:
        if not 1 <= d <= c.seq_len - 1:
            raise LabError(f"a distance of {d} does not fit in a sequence of {c.seq_len} tokens: the signal must come at "
                           f"least 1 and at most {c.seq_len - 1} steps before the query at the end. Lengthen the sequence.")
    unknown = [k for k in c.kinds if k not in CONTENDERS]
    if unknown:
        raise LabError(f"unknown contender(s) {', '.join(unknown)}; choose from {', '.join(CONTENDERS)}")


def verdicts(runs: list["CopyRun"], chance: float, learned: float = 0.9) -> list[str]:
    """One sentence per contender: up to which distance it learned the task (accuracy >= `learned`)."""
    out = []
    for kind in dict.fromkeys(r.kind for r in runs):
        mine = sorted((r for r in runs if r.kind == kind), key=lambda r: r.distance)
        ok = [r.distance for r in mine if r.accuracy >= learned]
        failed = [r.distance for r in mine if r.accuracy < learned]
        near_chance = [r.distance for r in mine if r.accuracy < chance + 0.1]
        if not failed:
            out.append(f"{kind} learned every distance (up to d = {mine[-1].distance})")
        elif not ok:
            out.append(f"{kind} learned none of them (already {mine[0].accuracy:.0%} at d = {mine[0].distance})")
        else:
            tail = f", at chance from d = {near_chance[0]}" if near_chance else ""
            out.append(f"{kind} learned up to d = {max(d for d in ok if d < failed[0]) if any(d < failed[0] for d in ok) else ok[0]}, "
                       f"failed at d = {failed[0]}{tail}")
    return out


def signal_gradients(runs: list["CopyRun"], seq_len: int) -> list[dict]:
    """For each run: the gradient reaching the signal's position and the query's own token, and their ratio."""
    rows = []
    for r in runs:
        if r.exploded:
            continue
        at_signal, at_query = float(r.gradients[seq_len - 1 - r.distance]), float(r.gradients[-1])
        rows.append({"kind": r.kind, "distance": r.distance, "at_signal": at_signal, "at_query": at_query,
                     "ratio": at_signal / at_query if at_query > 0 else math.nan, "accuracy": r.accuracy})
    return rows


def vocab_size(config: CopyConfig) -> int:
    return config.symbols + config.distractors + 1


def recurrent(kind: str) -> Callable[[CopyConfig, torch.Generator], nn.Module]:
    def make(config: CopyConfig, generator: torch.Generator) -> nn.Module:
        rnn = RNNLMConfig(kind=kind, embed=config.hidden, hidden=config.hidden, nonlinearity=config.nonlinearity)
        return build(rnn, vocab_size(config), generator, config.scale)
    return make


def attention(config: CopyConfig, generator: torch.Generator) -> nn.Module:
    """The lab's GPT (core.transformers.gpt) cut down to one block of causal self-attention: the query
    position looks at every earlier token at once, however far back."""
    width = max(4, config.hidden - config.hidden % 2)
    gpt = GPTConfig(vocab_size=vocab_size(config), context=config.seq_len, n_layer=1, n_head=2, n_embd=width)
    return Logits(GPT(gpt, generator))


# name -> make(config, generator) -> a module mapping tokens (B, L) to logits (B, L, V)
CONTENDERS: dict[str, Callable[[CopyConfig, torch.Generator], nn.Module]] = {
    "RNN": recurrent("rnn"), "GRU": recurrent("gru"), "LSTM": recurrent("lstm"), "attention": attention,
}


def input_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Mean norm of ∂L/∂e_t, the gradient reaching each position's token embedding, for the loss at the query."""
    embedding = next(m for m in model.modules() if isinstance(m, nn.Embedding))
    kept = []
    hook = embedding.register_forward_hook(lambda module, inputs, output: kept.append(output))
    try:
        loss = nn.functional.cross_entropy(model(x)[:, -1], y)
    finally:
        hook.remove()
    (grad,) = torch.autograd.grad(loss, kept[0])
    return (grad.norm(dim=-1).mean(0) * len(x)).detach().numpy()


@dataclass
class CopyRun:
    kind: str
    distance: int
    accuracy: float  # on config.test_size fresh sequences
    loss: float  # the last training loss (nats)
    steps: int  # steps run (fewer: solved early, stopped, or exploded)
    seconds: float
    gradients: np.ndarray  # input_gradients on test sequences after training, per position
    exploded: str = ""  # why the run stopped, when the gradient exploded
    grad_norms: list[float] = field(default_factory=list)  # the whole gradient's norm at each step, before clipping


def train_copy(kind: str, distance: int, config: CopyConfig, on_step: OnStep | None = None) -> CopyRun:
    """Train one contender at one distance on fresh batches (never the same sequence twice)."""
    c = config
    if kind not in CONTENDERS:
        raise LabError(f"unknown contender {kind!r}; choose from {', '.join(CONTENDERS)}")
    rng, g = generators(c.seed)
    test_x, test_y = copy_batch(np.random.default_rng(c.seed + 1_000_003), c, distance, c.test_size)  # its own stream
    model = CONTENDERS[kind](c, g)
    if c.optimizer not in ("adam", "sgd"):
        raise LabError(f"optimizer must be adam or sgd (got {c.optimizer!r})")
    optimizer = (torch.optim.Adam if c.optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=c.lr)
    why, norms, solved = [], [], [0]

    def step(i: int) -> dict[str, float]:
        x, y = copy_batch(rng, c, distance, c.batch_size)
        logits = model(x)[:, -1]
        loss = nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = float(nn.utils.clip_grad_norm_(model.parameters(), c.clip if c.clip else math.inf))
        norms.append(norm)
        if not math.isfinite(norm) or norm > EXPLODED_NORM:
            why.append(f"{kind} at distance {distance}: at step {i} the gradient norm reached {norm:.3g} (limit {EXPLODED_NORM:.0e}). "
                       "The gradient exploded: products of recurrent Jacobians larger than 1 grow geometrically with the "
                       "steps they pass through. " + ("Even clipped, the step leads nowhere: lower the learning rate or the weight scale."
                                                      if c.clip else "Clipping the gradient norm stops this, and so does a smaller scale."))
            return {"loss": math.nan, "grad_norm": norm}
        optimizer.step()
        accuracy = float((logits.argmax(-1) == y).float().mean())
        solved[0] = solved[0] + 1 if accuracy == 1.0 else 0
        return {"loss": loss.item(), "accuracy": accuracy, "grad_norm": norm}

    start = time.perf_counter()
    history = run_steps(step, c.steps, lambda i, m: (on_step(i, m) if on_step else None) is not False and solved[0] < 25)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(test_x)[:, -1].argmax(-1) == test_y).float().mean()) if not why else 1.0 / c.symbols
    gradients = input_gradients(model, test_x[:64], test_y[:64]) if not why else np.full(c.seq_len, np.nan)
    last = history.metrics["loss"][-1] if history.steps else math.nan
    return CopyRun(kind, distance, accuracy, last, history.steps[-1] if history.steps else 0, seconds, gradients,
                   why[0] if why else "", norms)


def distance_sweep(config: CopyConfig, on_step: OnStep | None = None) -> list[CopyRun]:
    """Every contender at every distance; on_step counts steps over the whole sweep (False stops it)."""
    c = config
    check_copy(c)  # refuse a distance that does not fit before training anything
    runs, stop = [], [False]
    for r, (kind, d) in enumerate((kind, d) for kind in c.kinds for d in sorted(c.distances)):
        def report(i: int, m: dict, base: int = r * c.steps) -> bool:  # a run solved early still counts its full share
            stop[0] = on_step is not None and on_step(base + i, m) is False
            return not stop[0]

        runs.append(train_copy(kind, d, c, report))
        if stop[0]:
            break
    return runs
