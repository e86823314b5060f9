"""The heads of a real pretrained model: their attention, what kind of head each one is, and ablation.

Works on BERT-style encoders (MiniLM offline, BERT/RoBERTa/DistilBERT from the Hub) and GPT-2-style
causal LMs. The attention weights are recomputed by OUR `scaled_dot_product_attention` from each layer's
own input and its trained Q/K projections (tests/core check they equal what transformers reports
with eager attention), so this works whatever attention kernel the model was loaded with.

Head statistics follow Clark et al. 2019, "What does BERT look at?": for each head, the average
over query tokens of the attention entropy and of the share of attention going to [CLS] (or the
first token), [SEP], punctuation, the previous, the same and the next token. A simple rule turns
those numbers into a label.

>>> w = np.zeros((1, 1, 3, 3)); w[0, 0, 1, 0] = w[0, 0, 2, 1] = w[0, 0, 0, 0] = 1.0
>>> head_stats(Attentions(["a", "b", "c"], w, 3, False, False, [False] * 3))["label"].tolist()
['previous token']
"""

import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.errors import LabError
from core.foundations import information
from core.transformers.attention import bert_projections, scaled_dot_product_attention, split_heads

MAX_ATTENTION_TOKENS = 128  # BertViz and 72 heatmaps stay readable and fast up to here


@dataclass
class Attentions:
    tokens: list[str]
    weights: np.ndarray  # (layers, heads, L, L): row = query token, column = key token
    n_tokens: int  # before truncation
    truncated: bool
    causal: bool
    special: list[bool]  # which tokens are special ([CLS], [SEP], <|endoftext|>...)


# ----------------------------------------------------------------------------- model plumbing


def _blocks(model):
    """('bert', layers) for BERT-style encoders (DistilBERT too) or ('gpt2', blocks) for GPT-2-style LMs."""
    for owner in (model, getattr(model, "base_model", None)):
        for stack in (getattr(owner, "encoder", None), getattr(owner, "transformer", None)):  # BERT, DistilBERT
            layers = getattr(stack, "layer", None)
            attn = getattr(layers[0], "attention", None) if layers else None
            if hasattr(attn, "self") or hasattr(attn, "q_lin"):  # the two layouts bert_projections reads
                return "bert", list(layers)
        h = getattr(owner, "h", None) or getattr(getattr(owner, "transformer", None), "h", None)
        if h is not None and hasattr(h[0], "attn") and hasattr(h[0].attn, "c_attn"):
            return "gpt2", list(h)
    raise LabError(f"this page reads attention from BERT-style encoders (BERT, RoBERTa, DistilBERT) and "
                   f"GPT-2-style models, not {type(model).__name__}")


def shape(model) -> tuple[int, int]:
    """(layers, heads) of a supported model."""
    kind, blocks = _blocks(model)
    return len(blocks), (bert_projections(blocks[0])[0] if kind == "bert" else blocks[0].attn.num_heads)


def token_ids(tokenizer, text: str, **kwargs) -> list[int]:
    """The ids of `text` (kwargs go to the tokenizer), or a LabError the page shows when there is nothing to read."""
    if not text or not text.strip():
        raise LabError("Type a sentence first: attention needs at least one token.")
    ids = tokenizer(text, **kwargs)["input_ids"]
    if not ids:
        raise LabError("The tokenizer found no tokens in that text.")
    return ids


def model_inputs(lm, text: str, max_tokens: int = MAX_ATTENTION_TOKENS):
    """Tokenize `text` for the model (with its special tokens), truncated to what it (and we) allow."""
    n_full = len(token_ids(lm.tokenizer, text))
    config = lm.model.config
    limit = min(max_tokens, getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", max_tokens))
    return lm.tokenizer(text, return_tensors="pt", truncation=True, max_length=limit), n_full


def layer_weights(kind: str, block, hidden: torch.Tensor) -> torch.Tensor:
    """One layer's attention weights (B, heads, L, L), recomputed from its input with our attention."""
    if kind == "bert":  # the layer's own projections, straight into our attention (no module copy per call)
        heads, (w_q, w_k, w_v, _) = bert_projections(block)
        return scaled_dot_product_attention(*(split_heads(w(hidden), heads) for w in (w_q, w_k, w_v)))[1]
    a = block.attn
    q, k, v = a.c_attn(block.ln_1(hidden)).split(a.split_size, dim=2)
    # a.scaling is transformers' whole factor: 1/√d_head (if scale_attn_weights), and already divided
    # by layer + 1 when scale_attn_by_inverse_layer_idx is set
    _, w = scaled_dot_product_attention(*(split_heads(t, a.num_heads) for t in (q, k, v)), causal=True, scale=a.scaling)
    return w


def attentions(lm, text: str, max_tokens: int = MAX_ATTENTION_TOKENS) -> Attentions:
    """Every layer's and head's attention on `text`: one forward pass for the layer inputs, then ours.

    >>> enc = models.load("minilm")                       # doctest: +SKIP
    >>> attentions(enc, "Hello world.").weights.shape     # doctest: +SKIP
    (6, 12, 5, 5)
    """
    kind, blocks = _blocks(lm.model)
    batch, n_full = model_inputs(lm, text, max_tokens)
    with torch.no_grad():
        out = lm.model(**batch, output_hidden_states=True)
        weights = torch.cat([layer_weights(kind, b, h) for b, h in zip(blocks, out.hidden_states)])
    ids = batch["input_ids"][0].tolist()
    special = set(lm.tokenizer.all_special_ids)
    return Attentions(
        tokens=lm.tokenizer.convert_ids_to_tokens(ids),
        weights=weights.numpy(),
        n_tokens=n_full,
        truncated=n_full > len(ids),
        causal=kind == "gpt2",
        special=[i in special for i in ids],
    )


# ----------------------------------------------------------------------------- head statistics


def strip_markers(token: str) -> str:
    """A word piece without its tokenizer's markers (## for BERT, Ġ/Ċ for GPT-2)."""
    return token.removeprefix("##").replace("Ġ", "").replace("Ċ", "")


def is_punctuation(token: str) -> bool:
    t = strip_markers(token)
    return bool(t) and all(unicodedata.category(c).startswith("P") for c in t)


@dataclass(frozen=True)
class LabelRules:
    dominant: float = 0.5  # a head whose average share to one target exceeds this is named after it
    broad: float = 0.75  # entropy / log2(#visible keys) above this: the head spreads attention widely


STAT_LABELS = {"first": "[CLS] / first token", "sep": "[SEP]", "punct": "punctuation",
               "prev": "previous token", "self": "same token", "next": "next token"}


def head_stats(att: Attentions, rules: LabelRules = LabelRules()) -> pd.DataFrame:
    """One row per (layer, head): entropy (bits), shares of attention, and an automatic label."""
    w = att.weights  # (layers, heads, L, L)
    n = w.shape[-1]
    visible = np.tril(np.ones((n, n))) if att.causal else np.ones((n, n))
    max_entropy = np.log2(visible.sum(-1)).mean()  # a uniform head over the keys each query may see
    entropy = information.entropy(w).mean(-1)  # bits, per query, averaged over the queries
    sep = np.array([s and i > 0 for i, s in enumerate(att.special)])
    punct = np.array([is_punctuation(t) and not s for t, s in zip(att.tokens, att.special)])
    stats = {
        "first": w[..., 0].mean(-1),
        "sep": w[..., sep].sum(-1).mean(-1),
        "punct": w[..., punct].sum(-1).mean(-1),
        "prev": np.diagonal(w, offset=-1, axis1=-2, axis2=-1).mean(-1) if n > 1 else np.zeros(w.shape[:2]),
        "self": np.diagonal(w, axis1=-2, axis2=-1).mean(-1),
        "next": np.diagonal(w, offset=1, axis1=-2, axis2=-1).mean(-1) if n > 1 else np.zeros(w.shape[:2]),
    }
    layers, heads = np.meshgrid(np.arange(w.shape[0]), np.arange(w.shape[1]), indexing="ij")
    df = pd.DataFrame({"layer": layers.ravel(), "head": heads.ravel(), "entropy (bits)": entropy.ravel()})
    for key, value in stats.items():
        df[STAT_LABELS[key]] = value.ravel()
    shares = df[list(STAT_LABELS.values())]
    top = shares.idxmax(axis=1)
    broad = df["entropy (bits)"] > rules.broad * max_entropy if max_entropy > 0 else False
    df["label"] = np.where(shares.max(axis=1) > rules.dominant, top, np.where(broad, "broad", "mixed"))
    return df


# ----------------------------------------------------------------------------- ablation


def _out_projections(model):
    """The Linear (BERT) / Conv1D (GPT-2) that mixes the concatenated heads back, per layer."""
    kind, blocks = _blocks(model)
    return [bert_projections(b)[1][3] if kind == "bert" else b.attn.c_proj for b in blocks]


@contextmanager
def head_mask(model, mask: torch.Tensor):
    """Switch heads off: mask (layers, heads) or (batch, layers, heads) of 0/1, like the old `head_mask`.

    A head's output is multiplied by its mask entry just before the output projection — the same
    thing `head_mask` did to its attention probabilities. The hooks act only in the calling thread
    (the model is shared read-only by every Streamlit session) and are removed on exit.
    """
    layers, heads = shape(model)
    if mask.shape[-2:] != (layers, heads):
        raise LabError(f"the mask must have shape ({layers}, {heads}), got {tuple(mask.shape)}")
    owner = threading.get_ident()
    handles = []
    for i, proj in enumerate(_out_projections(model)):
        def hook(module, args, m=mask[..., i, :]):
            if threading.get_ident() != owner:
                return None
            x = args[0]  # (B, L, heads · d_head)
            scale = m.to(x.dtype).repeat_interleave(x.shape[-1] // heads, dim=-1)
            return (x * (scale[:, None, :] if scale.dim() == 2 else scale),)
        handles.append(proj.register_forward_pre_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _summary(lm, batch, kind):
    """What ablation is measured on: the mean-pooled sentence embedding (encoders) or next-token probabilities."""
    out = lm.model(**batch)
    if kind == "bert":
        hidden = out.last_hidden_state
        mask = batch["attention_mask"][..., None].to(hidden.dtype)
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    return torch.softmax(out.logits[:, -1], dim=-1)


def _effect(kind, base: torch.Tensor, ablated: torch.Tensor) -> torch.Tensor:
    """1 − cosine(sentence embeddings) for encoders; KL(p ‖ p_ablated) in bits for next-token predictions."""
    if kind == "bert":
        return 1 - (base * ablated).sum(-1)
    return (base * (base.clamp_min(1e-12).log2() - ablated.clamp_min(1e-12).log2())).sum(-1)


# what "effect" measures, per model kind: 1 − cosine similarity of the mean-pooled sentence embedding
# (encoders), KL(p_all ‖ p_heads_off) of the next-token distribution in bits (causal LMs)
MEASURES = {"bert": "embedding change (1 − cos)", "gpt2": "next-token change (KL, bits)"}


@dataclass
class Ablation:
    effect: np.ndarray  # (layers, heads): change when that head alone is switched off
    measure: str  # what `effect` is, in words


def ablate_each_head(lm, text: str, max_tokens: int = MAX_ATTENTION_TOKENS) -> Ablation:
    """Switch off each head alone (all of them in ONE batched forward pass) and measure the change."""
    kind, _ = _blocks(lm.model)
    layers, heads = shape(lm.model)
    batch, _ = model_inputs(lm, text, max_tokens)
    n = layers * heads
    mask = torch.ones(n + 1, layers, heads)
    mask[torch.arange(n) + 1, torch.arange(n) // heads, torch.arange(n) % heads] = 0  # row 0: nothing off
    big = {k: v.expand(n + 1, *v.shape[1:]) for k, v in batch.items()}
    with torch.no_grad(), head_mask(lm.model, mask):
        summary = _summary(lm, big, kind)
    effect = _effect(kind, summary[:1], summary[1:]).view(layers, heads)
    return Ablation(effect.numpy(), MEASURES[kind])


@dataclass
class HeadsOff:
    """One sentence with a set of heads switched off, compared with the full model."""

    effect: float  # same measure as Ablation.effect
    measure: str
    similarity: tuple[float, float] | None  # encoders: cosine(text, other) with all heads on, then with `off` off
    top: pd.DataFrame | None  # causal LMs: the most likely next tokens, with and without the heads


def heads_off(lm, text: str, off: list[tuple[int, int]], other: str | None = None, k: int = 5,
              max_tokens: int = MAX_ATTENTION_TOKENS) -> HeadsOff:
    """Switch off the heads in `off` (pairs of layer, head) and say what changes."""
    kind, _ = _blocks(lm.model)
    layers, heads = shape(lm.model)
    mask = torch.ones(layers, heads)
    for layer, head in off:
        if not (0 <= layer < layers and 0 <= head < heads):
            raise LabError(f"there is no head {head} in layer {layer} (the model has {layers} × {heads})")
        mask[layer, head] = 0

    def both(t):  # one forward pass of a batch of two: all heads on, then the chosen ones off
        batch, _ = model_inputs(lm, t, max_tokens)
        pair = {k: v.expand(2, *v.shape[1:]) for k, v in batch.items()}
        with torch.no_grad(), head_mask(lm.model, torch.stack([torch.ones_like(mask), mask])):
            on, ablated = _summary(lm, pair, kind)
        return on, ablated

    on, ablated = both(text)
    effect = _effect(kind, on, ablated).item()
    if kind == "bert":
        similarity = None
        if other is not None and other.strip():
            other_on, other_off = both(other)
            similarity = ((on * other_on).sum().item(), (ablated * other_off).sum().item())
        return HeadsOff(effect, MEASURES[kind], similarity, None)
    ids = on.topk(k).indices
    top = pd.DataFrame({"next token": lm.tokenizer.convert_ids_to_tokens(ids.tolist()),
                        "P (all heads)": on[ids].numpy(), "P (heads off)": ablated[ids].numpy()})
    return HeadsOff(effect, MEASURES[kind], None, top)
