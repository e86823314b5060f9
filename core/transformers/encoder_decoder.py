"""The full transformer of "Attention Is All You Need": an encoder stack, a decoder stack, cross-attention.

Built from the GPT's blocks (core/transformers/gpt.py): the same multi-head attention, MLP and
LayerNorm, in three roles.

    encoder layer  h = h + SelfAttention(LN(h))          every source character sees every other one
                   h = h + MLP(LN(h))
    decoder layer  y = y + MaskedSelfAttention(LN(y))    each output character sees the ones before it
                   y = y + CrossAttention(LN(y), memory)  …and, through queries from y and keys and
                   y = y + MLP(LN(y))                      values from the encoder's output, the source
    logits = LN(y) W_out

That is pre-LayerNorm (`norm_first=True`); `norm_first=False` is the 2017 paper's post-LN, each
sublayer's sum normalised after it: h = LN(h + Sublayer(h)). With the same weights, masks and norm
placement, our layers equal torch.nn.TransformerEncoderLayer / TransformerDecoderLayer (tests).

Positions are the paper's sinusoids (core/transformers/positional.py), added to the character
embeddings: they exist for any length, so a longer source than any seen in training still gets them.

Every seq2seq model of the lab (this one and core/transformers/rnn_seq2seq.py) has the same two
halves: `encode(src) -> Memory` once per source, and `decode(tgt_in, memory, cache)` for the output,
which the decoding code of core/llm/generation.py drives one token at a time through `Translator`.

>>> config = EncoderDecoderConfig(vocab_size=12, max_source=10, max_target=6, n_layer=1, n_head=2, n_embd=8)
>>> model = EncoderDecoder(config, torch.Generator().manual_seed(0))
>>> src, tgt_in = torch.tensor([[5, 6, 7]]), torch.tensor([[1, 8]])
>>> tuple(model(src, tgt_in).shape)                      # one row of logits per output position
(1, 2, 12)
"""

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from core.errors import LabError
from core.training import Dropout, init_parameters
from core.transformers.gpt import MLP, Block, CausalSelfAttention, GPTConfig, KVCache, add_and_norm, layer_norm
from core.transformers.positional import sinusoidal

PAD = 0  # the padding id: hidden from attention, never scored


@dataclass(frozen=True)
class EncoderDecoderConfig:
    vocab_size: int = 40  # characters of both languages, plus padding, start and end
    max_source: int = 64  # the longest source it reads (characters)
    max_target: int = 16  # the most decoder positions: start token + output characters + end token
    n_layer: int = 2  # encoder layers, and as many decoder layers
    n_head: int = 4  # attention heads in every attention sublayer
    n_embd: int = 64  # width of every character's vector (d_model)
    dropout: float = 0.0  # share of activations zeroed in training
    norm_first: bool = True  # pre-LN (GPT-2's, trains without fuss); False: post-LN, the 2017 paper's
    layer_norm_eps: float = 1e-5

    @property
    def max_position_embeddings(self) -> int:
        """The decoder's length limit under the name the decoding code reads."""
        return self.max_target

    def block_config(self) -> GPTConfig:
        """The GPT config the shared blocks are built from (its context is unused: positions are added here)."""
        return GPTConfig(vocab_size=self.vocab_size, context=max(self.max_source, self.max_target), n_layer=self.n_layer,
                         n_head=self.n_head, n_embd=self.n_embd, dropout=self.dropout, layer_norm_eps=self.layer_norm_eps)


def check_config(c: EncoderDecoderConfig) -> None:
    if c.n_layer < 1 or c.n_head < 1 or c.n_embd < 1 or c.max_source < 1 or c.max_target < 2:
        raise LabError(f"an encoder-decoder needs at least one layer, head and feature, and room for an output (got {c})")
    if c.n_embd % c.n_head:
        raise LabError(f"the width ({c.n_embd}) must be a multiple of the number of heads ({c.n_head}): each head gets "
                       "width / heads features")


class Memory(NamedTuple):
    """What the encoder hands the decoder: one vector per source position, and which positions are real."""

    states: torch.Tensor  # (B, S, D)
    mask: torch.Tensor  # (B, S) bool: True for a real character, False for padding
    summary: torch.Tensor | None = None  # (B, D'): the fixed context an RNN encoder-decoder keeps (None here)

    def expand(self, batch: int) -> "Memory":
        """The same source for `batch` rows (beam search decodes several hypotheses of one source)."""
        if self.states.shape[0] == batch:
            return self
        return Memory(*(t.expand(batch, *t.shape[1:]) if t is not None else None for t in self))


class Decoded(NamedTuple):
    logits: torch.Tensor  # (B, T, vocab)
    cache: object = None  # what the next call continues from (KVCache here; the RNN's state there)
    cross_attention: tuple[torch.Tensor, ...] | None = None  # per layer (B, heads, T, S), with need_weights


class DecoderBlock(nn.Module):
    """Masked self-attention, cross-attention to the source, MLP: each a sublayer with its residual and LayerNorm."""

    def __init__(self, config: GPTConfig, generator: torch.Generator, norm_first: bool = True):
        super().__init__()
        c = config
        self.norm_first = norm_first
        self.ln_1 = layer_norm(c.n_embd, c)
        self.attn = CausalSelfAttention(c.n_embd, c.n_head, generator, c.dropout, c.bias, causal=True)
        self.ln_2 = layer_norm(c.n_embd, c)
        self.cross = CausalSelfAttention(c.n_embd, c.n_head, generator, c.dropout, c.bias, causal=False)
        self.ln_3 = layer_norm(c.n_embd, c)
        self.mlp = MLP(c.n_embd, generator, c.dropout, c.bias)

    def forward(self, y: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None = None, cache: KVCache | None = None,
                layer: int = 0, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """y (B, T, D), memory (B, S, D), memory_mask bool broadcastable to (B, heads, T, S) → (y, cross weights or None)."""
        pre = self.norm_first
        a, _ = self.attn(self.ln_1(y) if pre else y, cache=cache, layer=layer)
        y = add_and_norm(y, a, self.ln_1, pre)
        c, weights = self.cross(self.ln_2(y) if pre else y, source=memory, mask=memory_mask, need_weights=need_weights)
        y = add_and_norm(y, c, self.ln_2, pre)
        m = self.mlp(self.ln_3(y) if pre else y)
        return add_and_norm(y, m, self.ln_3, pre), weights


class EncoderDecoder(nn.Module):
    """Source and target embeddings + sinusoids, `n_layer` encoder blocks, `n_layer` decoder blocks, an output layer."""

    def __init__(self, config: EncoderDecoderConfig, generator: torch.Generator):
        super().__init__()
        check_config(config)
        c, bc = config, config.block_config()
        self.config = c
        self.src_embed = nn.Embedding(c.vocab_size, c.n_embd)
        self.tgt_embed = nn.Embedding(c.vocab_size, c.n_embd)
        self.drop = Dropout(c.dropout, generator)
        self.encoder = nn.ModuleList(Block(bc, generator, causal=False, norm_first=c.norm_first) for _ in range(c.n_layer))
        self.decoder = nn.ModuleList(DecoderBlock(bc, generator, c.norm_first) for _ in range(c.n_layer))
        # pre-LN leaves the residual stream un-normalised: one last LayerNorm on each side (post-LN already ends in one)
        self.ln_enc = layer_norm(c.n_embd, bc) if c.norm_first else nn.Identity()
        self.ln_dec = layer_norm(c.n_embd, bc) if c.norm_first else nn.Identity()
        self.head = nn.Linear(c.n_embd, c.vocab_size)
        init_parameters(self, generator)  # torch's defaults, drawn from the run's own generator

    def positions(self, start: int, n: int) -> torch.Tensor:
        return sinusoidal(start + n, self.config.n_embd)[start:].to(self.head.weight.dtype)

    def encode(self, src: torch.Tensor) -> Memory:
        """src (B, S) → Memory: every source character's vector after the encoder stack."""
        real = src != PAD
        mask = real[:, None, None, :]  # (B, 1, 1, S): no query looks at padding
        h = self.drop(self.src_embed(src) + self.positions(0, src.shape[1]))
        for block in self.encoder:
            h, _ = block(h, mask=mask)
        return Memory(self.ln_enc(h), real)

    def decode(self, tgt_in: torch.Tensor, memory: Memory, cache: KVCache | None = None, need_weights: bool = False) -> Decoded:
        """tgt_in (B, T): the output so far (after the cache's tokens, if any) → next-character logits at each position."""
        start = cache.get_seq_length() if cache is not None else 0
        y = self.drop(self.tgt_embed(tgt_in) + self.positions(start, tgt_in.shape[1]))
        mask = memory.mask[:, None, None, :]
        weights = []
        for layer, block in enumerate(self.decoder):
            y, w = block(y, memory.states, mask, cache=cache, layer=layer, need_weights=need_weights)
            weights.append(w)
        return Decoded(self.head(self.ln_dec(y)), cache, tuple(weights) if need_weights else None)

    def new_cache(self) -> KVCache:
        return KVCache()

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src)).logits
