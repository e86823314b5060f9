"""A GPT from scratch, nanoGPT-sized: token + position embeddings, pre-LayerNorm blocks, tied output.

    h₀ = E_tok[idx] + E_pos[0 … T-1]                       (T tokens, each a row of width C)
    h  = h + Attention(LN(h))          ┐ each of the n_layer blocks: two sublayers, each added to
    h  = h + MLP(LN(h))                ┘ the residual stream h
    logits = LN(h) E_tokᵀ                                  (the output layer IS the token embedding)

Attention is causal: position t sees positions ≤ t only, so one forward pass trains every
position's next-token prediction at once, and generation can keep the keys and values of the
tokens it has read (`KVCache`) and feed only the newest token.

The parameter names are GPT-2's (`transformer.h.0.attn.c_attn.weight` …), so `GPT.from_hf` copies
a `transformers` GPT2LMHeadModel into ours and `to_hf` copies ours back (GPT-2 stores its Linear
layers as `Conv1D`, weight transposed). Three switches turn parts off, for the ablations:
`position` (no position embedding: the model sees a bag of earlier tokens), `residual` (each
sublayer replaces h instead of adding to it), `layer_norm` (no LayerNorm anywhere).

The model speaks the call convention of the lab's decoding code (core/llm/generation.py), so
greedy, beam search and every sampler run on it unchanged:
`model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1).logits`.

>>> config = GPTConfig(vocab_size=10, context=8, n_layer=1, n_head=2, n_embd=8)
>>> model = GPT(config, torch.Generator().manual_seed(0))
>>> out = model(torch.tensor([[1, 2, 3]]), targets=torch.tensor([[2, 3, 4]]))
>>> tuple(out.logits.shape), round(out.loss.item(), 1)      # at initialisation, about ln 10 = 2.30 nats
((1, 3, 10), 2.3)
>>> count_parameters(model)      # wte 80 + wpe 64 + block 872 + ln_f 16 (the output layer is wte again)
1032
"""

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import LabError
from core.training import Dropout
from core.transformers.attention import causal_mask, merge_heads, scaled_dot_product_attention, split_heads


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256  # how many different tokens there are (256: one per byte)
    context: int = 64  # block_size: the most tokens the model reads at once (one learned position each)
    n_layer: int = 4  # transformer blocks, one after the other
    n_head: int = 4  # attention heads per block; each gets n_embd / n_head features
    n_embd: int = 128  # width: the size of every token's vector in the residual stream
    dropout: float = 0.0  # share of activations zeroed in training (embeddings, attention weights, sublayer outputs)
    bias: bool = True  # biases in the Linear layers and LayerNorms, as GPT-2 has
    layer_norm_eps: float = 1e-5  # LayerNorm's ε, GPT-2's value
    # switches for the ablations: each True is GPT-2
    position: bool = True  # add a learned position embedding (off: only the causal mask says what came before)
    residual: bool = True  # h + sublayer(h); off: h = sublayer(h), with no path around the sublayer
    layer_norm: bool = True  # LayerNorm before each sublayer and at the end; off: none at all

    @property
    def max_position_embeddings(self) -> int:
        """The context length under the name transformers uses (core/llm/generation.py reads it)."""
        return self.context

    def to_dict(self) -> dict:
        return asdict(self)


def check_config(config: GPTConfig) -> None:
    """Refuse a shape that cannot be built, with a sentence the learner can act on."""
    c = config
    if c.vocab_size < 1 or c.context < 1 or c.n_embd < 1 or c.n_head < 1 or c.n_layer < 0:
        raise LabError(f"a GPT needs at least one token, position, feature and head, and no negative depth (got {c})")
    if c.n_embd % c.n_head:
        nearest = c.n_embd - c.n_embd % c.n_head or c.n_head
        raise LabError(f"the width ({c.n_embd}) must be a multiple of the number of heads ({c.n_head}): each head gets "
                       f"width / heads features. Try a width of {nearest}, or a head count that divides {c.n_embd}.")
    if not 0.0 <= c.dropout < 1.0:
        raise LabError(f"dropout is a share of activations in [0, 1) (got {c.dropout})")


class GPTOutput(NamedTuple):
    """What a forward pass returns: a tuple with the logits first (and attribute access, as transformers' outputs)."""

    logits: torch.Tensor  # (B, T, vocab) or (B, logits_to_keep, vocab)
    loss: torch.Tensor | None = None  # mean cross-entropy in nats, when targets were given
    past_key_values: "KVCache | None" = None  # with use_cache: the keys and values of every token read so far
    attentions: tuple[torch.Tensor, ...] | None = None  # with output_attentions: (B, heads, T, T_k) per layer


class KVCache:
    """The keys and values every layer computed for the tokens already read: (B, heads, T, head width) each.

    Generation feeds the prompt once, then one token at a time; that token's query attends to all
    the cached keys, so each step costs one token's work. `crop` and `reorder_cache` are what the
    decoding code calls on transformers' cache (undo a token; let each beam take its parent's cache).
    """

    def __init__(self):
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []

    def get_seq_length(self) -> int:
        return self.keys[0].shape[-2] if self.keys else 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's keys and values for `layer`; return all of that layer's keys and values."""
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=-2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=-2)
        return self.keys[layer], self.values[layer]

    def crop(self, max_length: int) -> None:
        """Keep the first `max_length` tokens; a negative number drops that many from the end (transformers' rule)."""
        if max_length < 0:
            max_length = self.get_seq_length() + max_length
        self.keys = [k[..., :max_length, :] for k in self.keys]
        self.values = [v[..., :max_length, :] for v in self.values]

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        """Row i becomes old row beam_idx[i] (beam search: each surviving beam continues its parent)."""
        self.keys = [k.index_select(0, beam_idx) for k in self.keys]
        self.values = [v.index_select(0, beam_idx) for v in self.values]


class CausalSelfAttention(nn.Module):
    """Multi-head attention with GPT-2's fused projection: one Linear makes Q, K and V, one mixes the heads back.

        Q, K, V = x W_qkv (split in three, then into heads)       out = concat_h softmax(Q_h K_hᵀ / √d + mask) V_h · W_o

    For an encoder-decoder the same module serves every kind of attention: `causal=False` for an
    encoder (every token sees every token), and `source=` for cross-attention (queries from x,
    keys and values from the encoder's output, through the same weights' K and V rows).
    `mask` (bool, True = may attend, broadcastable to (B, heads, T_q, T_k)) hides padding.
    """

    def __init__(self, width: int, n_head: int, generator: torch.Generator, dropout: float = 0.0, bias: bool = True,
                 causal: bool = True):
        super().__init__()
        self.n_head, self.causal = n_head, causal
        self.c_attn = nn.Linear(width, 3 * width, bias=bias)
        self.c_proj = nn.Linear(width, width, bias=bias)
        self.attn_dropout = Dropout(dropout, generator)
        self.resid_dropout = Dropout(dropout, generator)

    def qkv(self, x: torch.Tensor, source: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries from x; keys and values from x (self-attention) or from `source` (cross-attention), split into heads."""
        width = x.shape[-1]
        if source is None:
            q, k, v = self.c_attn(x).split(width, dim=-1)
        else:
            w, b = self.c_attn.weight, self.c_attn.bias
            q = F.linear(x, w[:width], None if b is None else b[:width])
            k, v = F.linear(source, w[width:], None if b is None else b[width:]).split(width, dim=-1)
        return tuple(split_heads(t, self.n_head) for t in (q, k, v))

    def forward(self, x: torch.Tensor, source: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                cache: KVCache | None = None, layer: int = 0, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C) → (output (B, T, C), weights (B, heads, T, T_k) if need_weights else None)."""
        q, k, v = self.qkv(x, source)
        if cache is not None and source is None:
            k, v = cache.update(layer, k, v)  # the new tokens' keys after those of every token read before
        n_q, n_k = q.shape[-2], k.shape[-2]
        causal = self.causal and source is None
        if causal and (mask is not None or n_q != n_k):  # one boolean mask: the triangle (aligned to the end:
            triangle = causal_mask(n_q, n_k, x.device)     # the queries are the LAST n_q of n_k positions) and `mask`
            mask, causal = (triangle if mask is None else mask & triangle), False
        if need_weights or (self.training and self.attn_dropout.p > 0):
            # the lab's attention, which returns the weights; dropout on them from the run's own generator
            _, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
            heads = self.attn_dropout(weights) @ v
        else:  # the same numbers through torch's fused kernel: the fast path for training and generation
            heads, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal), None
        return self.resid_dropout(self.c_proj(merge_heads(heads))), weights


class MLP(nn.Module):
    """Two Linear layers with GELU between (GPT-2's tanh approximation), 4× wider inside: each token on its own."""

    def __init__(self, width: int, generator: torch.Generator, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width, bias=bias)
        self.c_proj = nn.Linear(4 * width, width, bias=bias)
        self.dropout = Dropout(dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


def layer_norm(width: int, config: GPTConfig) -> nn.Module:
    """A LayerNorm, or nothing at all when the ablation switches LayerNorm off."""
    return nn.LayerNorm(width, eps=config.layer_norm_eps, bias=config.bias) if config.layer_norm else nn.Identity()


def add_and_norm(x: torch.Tensor, y: torch.Tensor, norm: nn.Module, norm_first: bool = True, residual: bool = True) -> torch.Tensor:
    """A sublayer's output y joins the residual stream x. Pre-LN (norm_first, GPT-2's): x + y, the
    LayerNorm having been applied to the sublayer's INPUT; post-LN (the original transformer's): LN(x + y)."""
    x = x + y if residual else y
    return x if norm_first else norm(x)


class Block(nn.Module):
    """One transformer block, pre-LayerNorm: h = h + Attention(LN(h)), then h = h + MLP(LN(h)).

    `norm_first=False` is the original transformer's post-LayerNorm: h = LN(h + Attention(h)),
    then h = LN(h + MLP(h)). `causal=False` lets every token see every token (an encoder's block).
    """

    def __init__(self, config: GPTConfig, generator: torch.Generator, causal: bool = True, norm_first: bool = True):
        super().__init__()
        c = config
        self.residual, self.norm_first = c.residual, norm_first
        self.ln_1 = layer_norm(c.n_embd, c)
        self.attn = CausalSelfAttention(c.n_embd, c.n_head, generator, c.dropout, c.bias, causal)
        self.ln_2 = layer_norm(c.n_embd, c)
        self.mlp = MLP(c.n_embd, generator, c.dropout, c.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: KVCache | None = None, layer: int = 0,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        pre = self.norm_first
        a, weights = self.attn(self.ln_1(x) if pre else x, mask=mask, cache=cache, layer=layer, need_weights=need_weights)
        x = add_and_norm(x, a, self.ln_1, pre, self.residual)
        m = self.mlp(self.ln_2(x) if pre else x)
        return add_and_norm(x, m, self.ln_2, pre, self.residual), weights


class GPT(nn.Module):
    """The whole model: embeddings, `n_layer` blocks, a final LayerNorm, and the tied output layer."""

    def __init__(self, config: GPTConfig, generator: torch.Generator | None = None):
        """Build and initialise from `generator` (the run's own; None: a fresh one seeded 0)."""
        super().__init__()
        check_config(config)
        c, g = config, generator if generator is not None else torch.Generator().manual_seed(0)
        self.config = c
        parts = {"wte": nn.Embedding(c.vocab_size, c.n_embd)}
        if c.position:
            parts["wpe"] = nn.Embedding(c.context, c.n_embd)
        parts |= {"drop": Dropout(c.dropout, g), "h": nn.ModuleList([Block(c, g) for _ in range(c.n_layer)]),
                  "ln_f": layer_norm(c.n_embd, c)}
        self.transformer = nn.ModuleDict(parts)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying: one matrix reads tokens in and writes them out
        self.init_weights(g)

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator) -> None:
        """GPT-2's scheme: weights N(0, 0.02), biases 0, LayerNorm 1 and 0; each block's two output
        projections N(0, 0.02/√(2·n_layer)), so the residual stream's variance does not grow with depth."""
        out_std = 0.02 / math.sqrt(2 * max(self.config.n_layer, 1))
        for name, module in self.named_modules():
            if module is self.lm_head:
                continue  # it is wte's matrix, drawn once below
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, out_std if name.endswith("c_proj") else 0.02, generator=generator)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, 0.0, 0.02, generator=generator)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor | None = None, targets: torch.Tensor | None = None, *,
                past_key_values: KVCache | None = None, use_cache: bool = False, logits_to_keep: int = 0,
                output_attentions: bool = False, input_ids: torch.Tensor | None = None) -> GPTOutput:
        """idx (B, T) token ids → logits (B, T, vocab); with targets (B, T), also the mean cross-entropy
        (targets of -1 are not scored). `input_ids`, `past_key_values`, `use_cache` and `logits_to_keep`
        are the names transformers uses, so the decoding code calls this model as it calls GPT-2."""
        idx = input_ids if idx is None else idx
        check_ids(self.config, idx, past_key_values.get_seq_length() if past_key_values is not None else 0)
        cache = past_key_values if past_key_values is not None else (KVCache() if use_cache else None)
        start = cache.get_seq_length() if cache is not None else 0
        x = self.transformer.wte(idx)
        if self.config.position:
            x = x + self.transformer.wpe(torch.arange(start, start + idx.shape[1], device=idx.device))
        x = self.transformer.drop(x)
        attentions = []
        for layer, block in enumerate(self.transformer.h):
            x, weights = block(x, cache=cache, layer=layer, need_weights=output_attentions)
            attentions.append(weights)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)
        else:
            logits, loss = self.lm_head(x[:, -logits_to_keep:] if logits_to_keep else x), None
        return GPTOutput(logits, loss, cache, tuple(attentions) if output_attentions else None)

    # ------------------------------------------------------------------ to and from transformers' GPT-2

    @classmethod
    def from_hf(cls, model, dropout: float | None = None) -> "GPT":
        """Ours, with the weights of a transformers `GPT2LMHeadModel` (a copy: the original is untouched).

        GPT-2 keeps its Linear layers as `Conv1D`, x @ W + b with W of shape (in, out): the
        transpose of nn.Linear's (out, in). `dropout`: None takes GPT-2's residual dropout.
        """
        c = model.config
        unsupported = {"activation_function": c.activation_function not in ("gelu_new", "gelu_pytorch_tanh"),
                       "n_inner": c.n_inner not in (None, 4 * c.n_embd), "scale_attn_weights": not c.scale_attn_weights,
                       "scale_attn_by_inverse_layer_idx": c.scale_attn_by_inverse_layer_idx,
                       "add_cross_attention": c.add_cross_attention, "tie_word_embeddings": not c.tie_word_embeddings}
        if any(unsupported.values()):
            raise LabError(f"this GPT-2 differs from ours in {', '.join(k for k, v in unsupported.items() if v)}")
        ours = cls(GPTConfig(vocab_size=c.vocab_size, context=c.n_positions, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd,
                             dropout=c.resid_pdrop if dropout is None else dropout, layer_norm_eps=c.layer_norm_epsilon))
        theirs = model.state_dict()
        with torch.no_grad():
            for name, tensor in ours.state_dict().items():
                tensor.copy_(theirs[name].t() if is_conv1d_weight(name) else theirs[name])
        return ours

    def to_hf(self):
        """The same model as a transformers `GPT2LMHeadModel` (same weights), for code that wants one:
        the heads and prompting pages, `generate`. Only the full GPT-2 architecture has one."""
        from transformers import GPT2Config, GPT2LMHeadModel

        c = self.config
        if not (c.position and c.residual and c.layer_norm):
            raise LabError("only the full architecture (position embedding, residuals, LayerNorm) is a GPT-2; "
                           "this one has an ablation switched off")
        hf_config = GPT2Config(vocab_size=c.vocab_size, n_positions=c.context, n_embd=c.n_embd, n_layer=c.n_layer, n_head=c.n_head,
                               resid_pdrop=c.dropout, embd_pdrop=c.dropout, attn_pdrop=c.dropout, layer_norm_epsilon=c.layer_norm_eps,
                               activation_function="gelu_new", bos_token_id=None, eos_token_id=None, tie_word_embeddings=True)
        with torch.device("meta"):  # no random initialisation: every weight is ours
            hf = GPT2LMHeadModel(hf_config)
        state = {}
        for name in hf.state_dict():
            mine = self.state_dict().get(name)
            if mine is None:  # bias=False: GPT-2 always has biases; zeros do the same
                mine = torch.zeros(hf.state_dict()[name].shape)
            state[name] = (mine.t() if is_conv1d_weight(name) else mine).detach().clone().contiguous()
        hf.load_state_dict(state, assign=True)
        hf.tie_weights()
        return hf.eval()


def is_conv1d_weight(name: str) -> bool:
    """The weights GPT-2 stores transposed (its Conv1D layers); everything else has the same layout."""
    return name.endswith(("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"))


def check_ids(config: GPTConfig, idx: torch.Tensor, past: int = 0) -> None:
    """Refuse token ids outside the vocabulary and texts longer than the context, with the numbers."""
    if idx.dim() != 2:
        raise LabError(f"a GPT reads a batch of token rows, shape (B, T); got shape {tuple(idx.shape)}")
    if past + idx.shape[1] > config.context:
        raise LabError(f"{past + idx.shape[1]:,} tokens, but this GPT reads at most {config.context:,} at once (its context "
                       "length): shorten the text, or train a model with a longer context")
    if idx.numel() and (idx.min() < 0 or idx.max() >= config.vocab_size):
        raise LabError(f"token id {int(idx.max() if idx.max() >= config.vocab_size else idx.min())} is outside this GPT's "
                       f"vocabulary of {config.vocab_size:,}: the text was tokenized for another model")


def count_parameters(model: nn.Module) -> int:
    """Trainable numbers, each counted once (the tied output layer is the token embedding)."""
    return sum(p.numel() for p in model.parameters())


def flops_per_token(config: GPTConfig) -> int:
    """Floating-point operations to train on one token (forward + backward ≈ 3 × forward), as in
    PaLM's appendix B and nanoGPT: 6 per weight it passes through, plus attention's scores and
    weighted sums, 12 · layers · width · context.

    >>> flops_per_token(GPTConfig(vocab_size=256, context=64, n_layer=4, n_head=4, n_embd=128))
    5308416
    """
    c = config
    weights = c.n_layer * 12 * c.n_embd**2 + c.vocab_size * c.n_embd  # the blocks' matrices and the output layer
    return 6 * weights + 12 * c.n_layer * c.n_embd * c.context
