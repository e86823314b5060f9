"""Decoding from scratch: how a causal LM turns next-token probabilities into text.

A causal LM gives, for a prefix, one logit per vocabulary entry for the next token. Decoding is
everything after that:

1. `penalise_repetition` makes tokens already in the text less likely (CTRL, Keskar et al. 2019);
2. `filter_logits` reshapes and cuts the distribution: temperature, then top-k, then top-p, then
   min-p -- the order transformers' `generate` applies them -- setting removed entries to -inf;
3. a strategy picks the token: `greedy` (the argmax), `sample` (a draw from what survives), or
   `beam_search` (keep the `num_beams` best partial texts by total log-probability).

Every loop uses the model's KV cache (`past_key_values`): after the prompt, each step feeds only
the newest token, so a step costs one token's worth of compute instead of the whole text's.

>>> import torch
>>> logits = torch.tensor([[2.0, 1.0, 0.5, -1.0]])
>>> filter_logits(logits, top_k=2)
tensor([[2., 1., -inf, -inf]])
>>> filter_logits(logits, temperature=0.0)   # temperature 0 means greedy: only the argmax survives
tensor([[2., -inf, -inf, -inf]])
>>> filter_logits(logits, top_p=0.9)         # the smallest set holding >= 90 % of the probability
tensor([[2.0000, 1.0000, 0.5000,   -inf]])
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F

from core.errors import LabError

NEG_INF = float("-inf")
DEAD = -1.0e9  # score of a beam that must never be chosen (finite, so sums stay finite, as in transformers)


@dataclass(frozen=True)
class Sampling:
    """The knobs between the model's logits and the token that gets picked."""

    temperature: float = 1.0  # divides the logits: < 1 sharpens, > 1 flattens, 0 means greedy
    top_k: int = 0  # keep only the k most likely tokens (0 = off)
    top_p: float = 1.0  # keep the smallest set of tokens holding this much probability (1 = off)
    min_p: float = 0.0  # drop tokens less likely than min_p x the most likely one (0 = off)
    repetition_penalty: float = 1.0  # > 1 makes tokens already in the text less likely (1 = off)


def check_sampling(s: Sampling) -> None:
    """Refuse values that have no meaning, with a sentence the learner can act on."""
    if not s.temperature >= 0:
        raise LabError(f"temperature must be 0 or more (got {s.temperature}); 0 means greedy")
    if s.top_k < 0:
        raise LabError(f"top-k must be 0 (off) or a positive number of tokens (got {s.top_k})")
    if not 0.0 <= s.top_p <= 1.0:
        raise LabError(f"top-p is a probability between 0 and 1 (got {s.top_p})")
    if not 0.0 <= s.min_p <= 1.0:
        raise LabError(f"min-p is a fraction between 0 and 1 (got {s.min_p})")
    if not s.repetition_penalty > 0:
        raise LabError(f"the repetition penalty must be positive (got {s.repetition_penalty}); 1 means off")


def penalise_repetition(logits: torch.Tensor, input_ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """Make every token already in `input_ids` less likely: divide its logit by `penalty` if
    positive, multiply it if negative (so both move down). logits (B, V), input_ids (B, T).

    >>> penalise_repetition(torch.tensor([[2.0, -2.0, 1.0]]), torch.tensor([[0, 1]]), 2.0)
    tensor([[ 1., -4.,  1.]])
    """
    if penalty == 1.0:
        return logits
    seen = torch.gather(logits, 1, input_ids)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    return logits.scatter(1, input_ids, seen)  # each seen token is penalised once, however often it occurs


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  min_p: float = 0.0) -> torch.Tensor:
    """Temperature, then top-k, then top-p, then min-p; removed tokens get -inf. logits (B, V).

    Ties follow transformers exactly: top-k keeps every token tied with the k-th; top-p walks the
    tokens in the order torch.sort gives, so which of two tied tokens falls out is torch's choice.
    """
    check_sampling(Sampling(temperature, top_k, top_p, min_p))
    if temperature == 0:  # the limit T -> 0 of softmax(logits / T): all probability on the argmax
        keep = F.one_hot(logits.argmax(-1), logits.shape[-1]).bool()
        return logits.masked_fill(~keep, NEG_INF)
    if temperature != 1.0:
        logits = logits / temperature
    if top_k > 0:
        kth_best = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth_best, NEG_INF)
    if top_p < 1.0:
        # ascending, so the cumulative sum counts the *unlikely* tail: drop the tail holding <= 1 - top_p
        sorted_logits, order = torch.sort(logits, descending=False)
        tail_mass = sorted_logits.softmax(-1).cumsum(-1)
        drop = tail_mass <= 1.0 - top_p
        drop[..., -1] = False  # the most likely token always survives: top_p = 0 keeps one of the tied maxima, like transformers
        logits = logits.masked_fill(drop.scatter(-1, order, drop), NEG_INF)
    if min_p > 0.0:
        probs = logits.softmax(-1)
        logits = logits.masked_fill(probs < min_p * probs.amax(-1, keepdim=True), NEG_INF)
    return logits


def process(logits: torch.Tensor, input_ids: torch.Tensor, s: Sampling) -> torch.Tensor:
    """The whole pipeline of `generate` for sampling: repetition penalty first, then the filters."""
    logits = penalise_repetition(logits, input_ids, s.repetition_penalty)
    return filter_logits(logits, s.temperature, s.top_k, s.top_p, s.min_p)


# ----------------------------------------------------------------------------- the model, one step


def context_window(model) -> int:
    """How many tokens the model can read at once (its learned or rotary position range)."""
    return int(getattr(model.config, "max_position_embeddings", 0) or 0) or 1_000_000


def check_prompt(model, n_prompt: int, max_new_tokens: int = 0) -> None:
    if n_prompt == 0:
        raise LabError("The prompt is empty: type a few words for the model to continue.")
    window = context_window(model)
    if n_prompt + max_new_tokens > window:
        raise LabError(f"The prompt has {n_prompt:,} tokens and {max_new_tokens} more were asked for, but this model "
                       f"reads at most {window:,} tokens (its context window). Shorten the prompt.")


def fit_prompt(model, ids: list[int], max_tokens: int | None = None, room: int = 0) -> list[int]:
    """The end of `ids` that fits: at most `max_tokens` tokens, and `room` new tokens still fit in
    the context window after them. A causal LM continues the end of its text, so a long prompt keeps
    its last tokens (as a chat keeps its latest turns), not its first."""
    limit = context_window(model) - room
    if max_tokens is not None:
        limit = min(limit, max_tokens)
    if limit < 1:
        raise LabError(f"No room for a prompt: the context window holds {context_window(model):,} tokens and "
                       f"{room} new ones were asked for.")
    return list(ids[-limit:])


@torch.no_grad()
def step(model, input_ids: torch.Tensor, cache=None) -> tuple[torch.Tensor, object]:
    """One forward pass: the next-token logits (B, V) for each row, and the updated KV cache.

    With a cache, `input_ids` holds only the tokens the cache has not seen (usually one per row).
    `logits_to_keep=1` skips the vocabulary projection for every position but the last.
    """
    out = model(input_ids=input_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return out.logits[:, -1, :].float(), out.past_key_values



@dataclass
class NextTokens:
    """The next-token distribution at one step, before and after the sampler's knobs."""

    table: pd.DataFrame  # the top tokens: id, p_model, cum_model (running total of p_model), p_shaped (penalty + T), p_sample, kept
    n_kept: int  # how many tokens of the whole vocabulary survive the filters
    kept_mass: float  # how much of the model's own probability the survivors hold
    vocab: int
    entropy_model: float = 0.0  # bits: how unsure the model itself is (the whole vocabulary, T = 1)
    entropy_sample: float = 0.0  # bits: how unsure the sampler is after penalty, T and filters (0 at T = 0: no choice left)


def next_tokens(logits: torch.Tensor, ids: list[int], s: Sampling, top_n: int = 20) -> NextTokens:
    """What the step view draws: the `top_n` likeliest tokens after the repetition penalty and
    temperature, and which of them the filters keep (the set the sampler draws from).

    The model's own distribution (T = 1) stays in the table at every temperature: at T = 0 the sampler has
    one token left, the model still spreads its probability, H(p) = −Σ p log₂ p bits.

    >>> view = next_tokens(torch.tensor([3.0, 2.0, 0.0, -1.0]), [0], Sampling(top_k=2), top_n=3)
    >>> view.table.id.tolist(), view.table.kept.tolist(), view.n_kept
    ([0, 1, 2], [True, True, False], 2)
    >>> greedy = next_tokens(torch.log(torch.tensor([0.5, 0.25, 0.25])), [0], Sampling(temperature=0.0))
    >>> round(greedy.entropy_model, 6), greedy.entropy_sample, greedy.table.cum_model.tolist()
    (1.5, 0.0, [0.5, 0.75, 1.0])
    """
    check_sampling(s)
    raw = logits[None].float()
    shaped = penalise_repetition(raw, torch.tensor([ids]), s.repetition_penalty)
    final = filter_logits(shaped, s.temperature, s.top_k, s.top_p, s.min_p)
    tempered = shaped / s.temperature if s.temperature > 0 else final  # T = 0: all mass on the argmax
    p_model, p_shaped, p_sample = raw.softmax(-1)[0], tempered.softmax(-1)[0], final.softmax(-1)[0]
    kept = torch.isfinite(final[0])
    top = shaped[0].topk(min(top_n, shaped.shape[-1])).indices  # rank by logit: at T = 0 the probabilities tie at 0
    table = pd.DataFrame({"rank": range(1, len(top) + 1), "id": top.tolist(), "p_model": p_model[top].tolist(),
                          "cum_model": p_model[top].cumsum(0).tolist(),
                          "p_shaped": p_shaped[top].tolist(), "p_sample": p_sample[top].tolist(), "kept": kept[top].tolist()})
    return NextTokens(table, int(kept.sum()), float(p_model[kept].sum()), int(p_model.shape[0]),
                      _bits(p_model), _bits(p_sample))


def _bits(p: torch.Tensor) -> float:
    """Entropy in bits of a distribution over the vocabulary (0·log 0 = 0)."""
    p = p.double()[p > 0]
    return max(0.0, float(-(p * p.log2()).sum()))


class Stepper:
    """Next-token logits for a text that grows one token at a time, as on the step-by-step page.

    It keeps the KV cache of the last text it saw: one token added costs one token's forward pass,
    one token removed (undo) crops the cache and re-reads just the new last token; anything else
    reads the whole text afresh.
    """

    def __init__(self, model):
        self.model, self.ids, self.cache, self.logits = model, [], None, None

    @torch.no_grad()
    def __call__(self, ids: list[int]) -> torch.Tensor:
        ids = list(ids)
        if self.logits is not None and ids == self.ids:
            return self.logits
        check_prompt(self.model, len(ids))
        seen = self.ids
        if self.cache is not None and len(ids) > len(seen) and ids[:len(seen)] == seen:
            logits, self.cache = step(self.model, torch.tensor([ids[len(seen):]]), self.cache)
        elif self.cache is not None and 1 < len(ids) < len(seen) and seen[:len(ids)] == ids:
            self.cache.crop(len(ids) - 1 - len(seen))  # forget the removed tokens (negative: how many), re-read the new last one
            logits, self.cache = step(self.model, torch.tensor([ids[-1:]]), self.cache)
        else:
            logits, self.cache = step(self.model, torch.tensor([ids]))
        self.ids, self.logits = ids, logits[0]
        return self.logits


# ----------------------------------------------------------------------------- greedy and sampling


@dataclass
class Generation:
    """A prompt, the tokens a strategy added, and how likely the unfiltered model finds each one."""

    prompt_ids: list[int]
    new_ids: list[int]
    logprobs: list[float]  # log p(token | all before it) under the model itself, in nats
    seconds: float = 0.0

    @property
    def ids(self) -> list[int]:
        return self.prompt_ids + self.new_ids

    @property
    def total_logprob(self) -> float:
        return float(sum(self.logprobs))

    @property
    def perplexity(self) -> float:
        """exp of the mean surprisal: 'as unsure as a fair choice among this many tokens'."""
        return math.exp(-self.total_logprob / len(self.logprobs)) if self.logprobs else float("nan")

    @property
    def tokens_per_s(self) -> float:
        return len(self.new_ids) / self.seconds if self.seconds > 0 else float("nan")


@torch.no_grad()
def _autoregress(model, prompt_ids: list[int], max_new_tokens: int, eos_token_id: int | None,
                 pick: Callable[[torch.Tensor, torch.Tensor], int]) -> Generation:
    """Feed the prompt once, then one token at a time through the KV cache; `pick` chooses each."""
    check_prompt(model, len(prompt_ids), max_new_tokens)
    start = time.perf_counter()
    ids = torch.tensor([prompt_ids])
    logits, cache = step(model, ids)
    new_ids, logprobs = [], []
    for i in range(max_new_tokens):
        token = pick(logits, ids)
        logprobs.append(logits[0].log_softmax(-1)[token].item())
        new_ids.append(token)
        ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
        if token == eos_token_id or i == max_new_tokens - 1:
            break  # no forward pass for a token nobody will read
        logits, cache = step(model, ids[:, -1:], cache)
    return Generation(list(prompt_ids), new_ids, logprobs, time.perf_counter() - start)


def greedy(model, prompt_ids: list[int], max_new_tokens: int, eos_token_id: int | None = None,
           repetition_penalty: float = 1.0) -> Generation:
    """Always the most likely next token (after the repetition penalty): `generate(do_sample=False)`."""
    return _autoregress(model, prompt_ids, max_new_tokens, eos_token_id,
                        lambda logits, ids: penalise_repetition(logits, ids, repetition_penalty).argmax(-1).item())


def draw_token(logits: torch.Tensor, ids: torch.Tensor, s: Sampling, generator: torch.Generator) -> int:
    """One token drawn from the filtered distribution. logits (1, V), ids (1, T)."""
    probs = process(logits, ids, s).softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).item()


def sampled_token(logits: torch.Tensor, ids: list[int], s: Sampling, seed: int, step: int) -> int:
    """The sampler's draw for the next token of a text written one step at a time (logits (V,)).

    Each (seed, step) pair seeds a generator of its own, so the same seed at the same step draws
    the same token, and each step draws a fresh number rather than the first one again.

    >>> sampled_token(torch.tensor([0.0, 0.0, 5.0]), [0], Sampling(top_k=1), seed=3, step=0)
    2
    """
    generator = torch.Generator().manual_seed(seed * 100_003 + step)  # a prime stride: no two (seed, step < 100,003) collide
    return draw_token(logits[None], torch.tensor([ids]), s, generator)


def sample_on(stepper: "Stepper", ids: list[int], n: int, s: Sampling, seed: int, first_step: int,
              eos_token_id: int | None = None) -> list[int]:
    """`n` more tokens drawn one at a time as the step-by-step view draws them (`sampled_token` at steps
    first_step, first_step + 1, …, so "generate 5" writes what five 🎲 clicks would); stops after EOS."""
    new: list[int] = []
    for i in range(n):
        token = sampled_token(stepper(ids + new), ids + new, s, seed, first_step + i)
        new.append(token)
        if token == eos_token_id:
            break
    return new


def sample(model, prompt_ids: list[int], max_new_tokens: int, s: Sampling, seed: int = 0,
           eos_token_id: int | None = None) -> Generation:
    """Draw each token from what survives `s`; the same seed draws the same text."""
    check_sampling(s)
    generator = torch.Generator().manual_seed(seed)
    return _autoregress(model, prompt_ids, max_new_tokens, eos_token_id, lambda logits, ids: draw_token(logits, ids, s, generator))


# ----------------------------------------------------------------------------- beam search


@dataclass
class BeamNode:
    """One candidate continuation considered by beam search: a node of the search tree."""

    id: int
    parent: int  # -1 for a child of the prompt
    token: int
    depth: int  # how many tokens after the prompt
    score: float  # total log-probability of the text up to here: what beams are ranked by
    logprob: float  # log p(this token | its prefix) under the unpenalised model
    status: str  # "kept" (a running beam), "finished" (a complete hypothesis) or "dropped"


@dataclass
class BeamSearch(Generation):
    nodes: list[BeamNode] = field(default_factory=list)
    best_path: list[int] = field(default_factory=list)  # node ids of the winning hypothesis, first token first


@torch.no_grad()
def beam_search(model, prompt_ids: list[int], max_new_tokens: int, num_beams: int = 4, length_penalty: float = 1.0,
                eos_token_id: int | None = None, repetition_penalty: float = 1.0) -> BeamSearch:
    """Keep the `num_beams` most likely partial texts; return the best complete one.

    Same rules as `generate(num_beams=..., do_sample=False)` (early_stopping=False):
    - each step scores beams x vocabulary continuations by total log-probability and looks at the
      best 2 x num_beams, so that num_beams survive even if num_beams of them just ended;
    - a continuation ending in EOS (or reaching max_new_tokens) among the best num_beams becomes
      a hypothesis, scored total / length ** length_penalty; the best num_beams hypotheses are kept;
    - the search stops when no running beam can beat the worst kept hypothesis any more.
    """
    if num_beams < 1:
        raise LabError(f"beam search needs at least one beam (got {num_beams})")
    if max_new_tokens < 1:
        raise LabError("beam search needs at least one new token")
    check_prompt(model, len(prompt_ids), max_new_tokens)
    start = time.perf_counter()
    n, width = num_beams, 2 * num_beams
    seqs = torch.tensor([prompt_ids]).repeat(n, 1)  # (n, T): every beam starts as the prompt
    scores = torch.zeros(n)
    scores[1:] = DEAD  # identical beams at first: let only the first one propose continuations
    beam_node = [-1] * n  # the tree node each running beam ends at
    nodes: list[BeamNode] = []
    hyps: list[tuple[float, list[int], int]] = []  # (score / length ** length_penalty, sequence, node)
    logits, cache = step(model, seqs)
    for depth in range(1, max_new_tokens + 1):
        raw = logits.log_softmax(-1)
        logp = penalise_repetition(raw, seqs, repetition_penalty)  # transformers penalises log-probs in beam search
        vocab = logp.shape[-1]
        top_scores, top_index = torch.topk((logp + scores[:, None]).view(-1), min(width, n * vocab))
        parent, token = top_index // vocab, top_index % vocab
        ends = torch.full_like(token, depth == max_new_tokens, dtype=torch.bool)
        if eos_token_id is not None:
            ends |= token == eos_token_id
        running_scores = top_scores + ends.float() * DEAD  # an ended text can't be continued
        survivors = torch.topk(running_scores, n).indices
        status = ["dropped"] * len(token)
        for rank in survivors.tolist():
            status[rank] = "kept"
        normaliser = depth ** length_penalty
        for rank in range(min(n, len(token))):  # only the best n may finish, as in transformers
            if ends[rank]:
                status[rank] = "finished"
                text = seqs[parent[rank]].tolist()[len(prompt_ids):] + [token[rank].item()]
                hyps.append(((top_scores[rank] / normaliser).item(), text, len(nodes) + rank))
        hyps = sorted(hyps, key=lambda h: -h[0])[:n]
        for rank in range(len(token)):
            p, t = parent[rank].item(), token[rank].item()
            nodes.append(BeamNode(len(nodes), beam_node[p], t, depth, top_scores[rank].item(), raw[p, t].item(), status[rank]))
        first = len(nodes) - len(token)
        beam_node = [first + r for r in survivors.tolist()]
        seqs = torch.cat([seqs[parent[survivors]], token[survivors, None]], dim=1)
        scores = running_scores[survivors]
        best_possible = (scores[0] / normaliser).item()
        if depth == max_new_tokens or (len(hyps) == n and best_possible <= min(h[0] for h in hyps)):
            break
        cache.reorder_cache(parent[survivors])  # each surviving beam takes its parent's keys and values
        logits, cache = step(model, seqs[:, -1:], cache)
    best_score, best_ids, best_node = hyps[0]
    path = []
    while best_node != -1:
        path.append(best_node)
        best_node = nodes[best_node].parent
    path.reverse()
    return BeamSearch(list(prompt_ids), best_ids, [nodes[i].logprob for i in path], time.perf_counter() - start,
                      nodes=nodes, best_path=path)


# ----------------------------------------------------------------------------- side by side


@dataclass(frozen=True)
class CompareConfig:
    """One prompt, one seed, five strategies."""

    max_new_tokens: int = 16  # per strategy; any of them may stop earlier at EOS
    num_beams: int = 3  # beam width: how many partial texts beam search keeps
    temperature: float = 0.8  # for plain temperature sampling
    top_k: int = 40  # for top-k sampling (temperature 1)
    top_p: float = 0.9  # for top-p (nucleus) sampling (temperature 1)
    seed: int = 0  # every sampler starts from this seed, so a rerun gives the same texts


def strategies(cfg: CompareConfig) -> dict[str, Callable[..., Generation]]:
    """Greedy, beam search, temperature, top-k and top-p sampling, each as run(model, prompt_ids, eos_token_id)."""
    n = cfg.max_new_tokens
    return {
        "greedy": lambda model, ids, eos: greedy(model, ids, n, eos),
        f"beam search, width {cfg.num_beams}": lambda model, ids, eos: beam_search(model, ids, n, cfg.num_beams, eos_token_id=eos),
        f"sampling, T = {cfg.temperature:g}":
            lambda model, ids, eos: sample(model, ids, n, Sampling(temperature=cfg.temperature), cfg.seed, eos),
        f"top-k, k = {cfg.top_k}": lambda model, ids, eos: sample(model, ids, n, Sampling(top_k=cfg.top_k), cfg.seed, eos),
        f"top-p, p = {cfg.top_p:g}": lambda model, ids, eos: sample(model, ids, n, Sampling(top_p=cfg.top_p), cfg.seed, eos),
    }


def run_strategy(model, tokenizer, prompt_ids: tuple[int, ...], cfg: CompareConfig, name: str) -> Generation:
    """The strategy called `name` in `strategies(cfg)` on one prompt; the tokenizer's EOS ends a text."""
    return strategies(cfg)[name](model, list(prompt_ids), tokenizer.eos_token_id)
