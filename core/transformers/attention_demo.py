"""Attention on the learner's own sentence, with real word vectors and real trained projections.

The words come in as MiniLM's token embeddings (384 numbers each, learned on a billion sentence
pairs), normalised by its embedding LayerNorm exactly as the model does, and Q, K, V come from
MiniLM's first layer, so the heatmaps show what a trained head does, computed by our own code.

>>> cfg = StepConfig(head=3, causal=True)
>>> cfg.layer, cfg.scaled
(0, True)
>>> enc = models.load("minilm")                         # doctest: +SKIP
>>> sent, steps = step_by_step(enc, "the cat sat", cfg) # doctest: +SKIP
>>> sent.tokens, tuple(steps.q.shape)                   # doctest: +SKIP
(['the', 'cat', 'sat'], (3, 32))
"""

from dataclasses import dataclass

import pandas as pd
import torch

from core.errors import LabError
from core.foundations import information
from core.transformers.attention import AttentionSteps, MultiHeadAttention, MultiHeadSteps, attention_steps
from core.transformers.attention_heads import token_ids

MAX_STEP_TOKENS = 24  # beyond this the step-by-step heatmaps stop being readable


@dataclass(frozen=True)
class StepConfig:
    layer: int = 0  # whose trained W_q, W_k, W_v we use (0 = the layer that really sees embeddings)
    head: int = 0  # which of the 12 heads (each has its own 32-wide slice of Q, K, V)
    positions: bool = False  # add MiniLM's learned position embeddings to the word vectors
    causal: bool = False  # GPT-style: a token may only look at itself and earlier tokens
    scaled: bool = True  # divide scores by √d_head; off shows softmax saturating
    max_tokens: int = MAX_STEP_TOKENS


@dataclass
class Sentence:
    tokens: list[str]
    ids: list[int]
    x: torch.Tensor  # (L, d_model): the vectors attention sees
    n_tokens: int  # before truncation
    truncated: bool


def word_piece_ids(encoder, text: str, max_tokens: int = MAX_STEP_TOKENS) -> tuple[list[int], int]:
    """Word-piece ids of `text` (no [CLS]/[SEP]), cut to max_tokens; also the untruncated count."""
    ids = token_ids(encoder.tokenizer, text, add_special_tokens=False)
    return ids[:max_tokens], len(ids)


def embed_ids(encoder, ids: list[int], positions: bool) -> torch.Tensor:
    """MiniLM's input vectors for these ids: word (+ position) + segment embedding, then its LayerNorm."""
    emb = encoder.model.embeddings
    idx = torch.tensor(ids)
    with torch.no_grad():
        x = emb.word_embeddings(idx) + emb.token_type_embeddings(torch.zeros_like(idx))
        if positions:
            x = x + emb.position_embeddings(torch.arange(len(ids)))
        return emb.LayerNorm(x)


def sentence(encoder, text: str, positions: bool = False, max_tokens: int = MAX_STEP_TOKENS) -> Sentence:
    ids, n = word_piece_ids(encoder, text, max_tokens)
    tokens = encoder.tokenizer.convert_ids_to_tokens(ids)
    return Sentence(tokens, ids, embed_ids(encoder, ids, positions), n, n > len(ids))


def layer_attention(encoder, layer: int) -> MultiHeadAttention:
    """Our MultiHeadAttention holding a copy of MiniLM layer `layer`'s trained weights."""
    layers = encoder.model.encoder.layer
    if not 0 <= layer < len(layers):
        raise LabError(f"layer must be between 0 and {len(layers) - 1}")
    return MultiHeadAttention.from_bert_layer(layers[layer])


def step_by_step(encoder, text: str, cfg: StepConfig) -> tuple[Sentence, AttentionSteps]:
    """One head's attention on the sentence, keeping Q, K, V, scores, scaling, mask, softmax, output."""
    sent = sentence(encoder, text, cfg.positions, cfg.max_tokens)
    mha = layer_attention(encoder, cfg.layer)
    with torch.no_grad():
        parts = mha.steps(sent.x[None])
        h = cfg.head % mha.n_heads
        steps = attention_steps(parts.q[0, h], parts.k[0, h], parts.v[0, h], causal=cfg.causal,
                                scale=None if cfg.scaled else 1.0)
    return sent, steps


def multi_head(encoder, text: str, cfg: StepConfig) -> tuple[Sentence, MultiHeadSteps]:
    """All heads of the layer at once: split, per-head attention, concatenation, output projection."""
    sent = sentence(encoder, text, cfg.positions, cfg.max_tokens)
    with torch.no_grad():
        steps = layer_attention(encoder, cfg.layer).steps(sent.x[None], causal=cfg.causal,
                                                          scale=None if cfg.scaled else 1.0)
    return sent, steps


def where_it_looks(weights: torch.Tensor, query: int, top: int = 3) -> list[tuple[int, float]]:
    """The `top` keys query row `query` gives most weight to, as (key position, weight), largest first.

    Its output is the weighted average of the values: output_q = Σ_k weights[q, k] · v_k, so these keys'
    values make most of it.

    >>> where_it_looks(torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]]), 1, top=2)
    [(1, 0.5), (2, 0.3)]
    """
    row = weights[query]
    values, keys = row.topk(min(top, len(row)))
    return [(int(k), round(float(v), 6)) for k, v in zip(keys, values)]


def scaling_effect(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> pd.DataFrame:
    """The same head with and without the 1/√d: spread of the scores, mean top weight, mean entropy (bits).

    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(6, 64, generator=g) for _ in range(3))
    >>> t = scaling_effect(q, k, v).set_index("")
    >>> bool(t.loc["without 1/√d", "mean largest weight"] > t.loc["with 1/√d", "mean largest weight"])
    True
    """
    rows = []
    for name, scale in (("with 1/√d", None), ("without 1/√d", 1.0)):
        s = attention_steps(q, k, v, causal=causal, scale=scale)
        w = s.weights
        entropy = information.entropy(w.double().numpy()).mean()  # bits, per query
        rows.append({"": name, "score spread (std)": s.masked[torch.isfinite(s.masked)].std(correction=0).item(),
                     "mean largest weight": w.amax(-1).mean().item(), "mean entropy (bits)": float(entropy)})
    return pd.DataFrame(rows)


@dataclass
class Equivariance:
    tokens: list[str]
    perm: list[int]  # the shuffle: new position i holds old token perm[i]
    gap_without: float  # max |MHA(shuffled) − shuffled(MHA)| with word vectors only (≈ 0)
    gap_with: float  # the same with position embeddings added (clearly > 0)
    per_token_with: list[float]  # that gap per token, with positions
    per_token_without: list[float]  # and without (≈ 0 for every token)


def equivariance(encoder, text: str, seed: int = 0, layer: int = 0, max_tokens: int = MAX_STEP_TOKENS) -> Equivariance:
    """Shuffle the tokens and compare: attention alone just shuffles its outputs the same way.

    Without positions a set of vectors has no order, so MHA(x[perm]) == MHA(x)[perm]; adding
    position embeddings (to the shuffled words, in their new slots) breaks that.
    """
    ids, _ = word_piece_ids(encoder, text, max_tokens)
    n = len(ids)
    if n < 2:  # the only "shuffle" of one token changes nothing, with or without positions
        raise LabError("One token cannot be shuffled: type at least two words to see the shuffle test.")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    if torch.equal(perm, torch.arange(n)):
        perm = perm.roll(1)  # a shuffle that changes nothing would prove nothing
    shuffled = [ids[i] for i in perm.tolist()]
    mha = layer_attention(encoder, layer)
    gaps = []
    with torch.no_grad():
        for positions in (False, True):
            out, _ = mha(embed_ids(encoder, ids, positions)[None])
            out_shuffled, _ = mha(embed_ids(encoder, shuffled, positions)[None])
            gaps.append((out_shuffled[0] - out[0][perm]).abs().amax(dim=-1))
    return Equivariance(encoder.tokenizer.convert_ids_to_tokens(shuffled), perm.tolist(), gaps[0].max().item(),
                        gaps[1].max().item(), gaps[1].tolist(), gaps[0].tolist())
