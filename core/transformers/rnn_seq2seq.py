"""The RNN encoder-decoder, with one fixed context vector or with additive attention: why attention was invented.

A bidirectional GRU reads the source; a GRU decoder writes the output one character at a time,
from its state s, the previous character y and a context vector c:

    h_j = [GRU→(x_1 … x_j) ; GRU←(x_j … x_S)]          one annotation per source character
    s_0 = tanh(W_b [h→_S ; h←_1])                        the decoder starts from the whole source
    s_t = GRU([E y_{t-1} ; c_t], s_{t-1})                p(y_t | …) = softmax(W_o [s_t ; c_t] + b_o)

Fixed context (Cho et al. 2014, Sutskever et al. 2014): c_t = [h→_S ; h←_1] at every step, the same
vector of 2H numbers however long the source is. Everything the decoder will ever know about the
source must squeeze through it.

Additive attention (Bahdanau, Cho & Bengio 2015): at every step the decoder asks which source
characters matter now and takes their weighted average:

    e_tj = vᵀ tanh(W_s s_{t-1} + W_h h_j)      α_t = softmax_j(e_t)      c_t = Σ_j α_tj h_j

The weights α are the alignment the page draws. Everything else is identical in the two models, so
any difference between them is attention's.

>>> config = RNNConfig(vocab_size=12, max_source=10, max_target=6, hidden=8, embd=4, attention=True)
>>> model = RNNSeq2Seq(config, torch.Generator().manual_seed(0))
>>> out = model.decode(torch.tensor([[1, 8]]), model.encode(torch.tensor([[5, 6, 7]])), need_weights=True)
>>> tuple(out.logits.shape), tuple(out.cross_attention[0].shape)   # α: one layer, one "head", 2 steps × 3 characters
((1, 2, 12), (1, 1, 2, 3))
"""

from dataclasses import dataclass

import torch
from torch import nn

from core.errors import LabError
from core.training import init_parameters
from core.transformers.encoder_decoder import PAD, Decoded, Memory


@dataclass(frozen=True)
class RNNConfig:
    vocab_size: int = 40  # characters of both languages, plus padding, start and end
    max_source: int = 64  # the longest source it reads (characters)
    max_target: int = 16  # the most decoder positions: start token + output characters + end token
    hidden: int = 64  # H: the decoder's state, and each direction of the encoder's
    embd: int = 32  # width of a character's embedding
    attention: bool = False  # False: one fixed context vector; True: additive (Bahdanau) attention
    attention_width: int = 64  # A: the width of the small network that scores each source character

    @property
    def max_position_embeddings(self) -> int:
        """The decoder's length limit under the name the decoding code reads (an RNN has no other limit)."""
        return self.max_target


class RecurrentState:
    """The decoder's state s_t as the decoding code's cache: all it needs to continue is the last state.

    `reorder_cache` is what beam search calls: each surviving hypothesis continues its parent's state.
    """

    def __init__(self):
        self.state: torch.Tensor | None = None  # (B, H); None before the first token
        self.length = 0  # tokens read so far

    def get_seq_length(self) -> int:
        return self.length

    def reorder_cache(self, beam_idx: torch.Tensor) -> None:
        self.state = self.state.index_select(0, beam_idx)


class RNNSeq2Seq(nn.Module):
    def __init__(self, config: RNNConfig, generator: torch.Generator):
        super().__init__()
        c = config
        if min(c.hidden, c.embd, c.attention_width, c.vocab_size) < 1:
            raise LabError(f"an RNN encoder-decoder needs at least one unit in every layer (got {c})")
        self.config = c
        self.src_embed = nn.Embedding(c.vocab_size, c.embd)
        self.tgt_embed = nn.Embedding(c.vocab_size, c.embd)
        self.encoder = nn.GRU(c.embd, c.hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * c.hidden, c.hidden)  # W_b: the whole source → the decoder's first state
        self.cell = nn.GRUCell(c.embd + 2 * c.hidden, c.hidden)
        if c.attention:
            self.w_s = nn.Linear(c.hidden, c.attention_width, bias=False)
            self.w_h = nn.Linear(2 * c.hidden, c.attention_width)
            self.v = nn.Linear(c.attention_width, 1, bias=False)
        self.out = nn.Linear(3 * c.hidden, c.vocab_size)  # W_o [s_t ; c_t]
        init_parameters(self, generator)

    def encode(self, src: torch.Tensor) -> Memory:
        """src (B, S) → annotations h_j (B, S, 2H), and the fixed context [h→_S ; h←_1] (B, 2H)."""
        real = src != PAD
        lengths = real.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.src_embed(src), lengths, batch_first=True, enforce_sorted=False)
        states, last = self.encoder(packed)  # packing: each row stops at its own last character, not at the padding
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        return Memory(states, real, torch.cat([last[0], last[1]], dim=-1))  # last: (2 directions, B, H)

    def attend(self, s: torch.Tensor, memory: Memory, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """α_t = softmax_j vᵀ tanh(W_s s + W_h h_j) over the real characters; c_t = Σ α_tj h_j. keys = W_h h, once per source."""
        scores = self.v(torch.tanh(self.w_s(s)[:, None, :] + keys)).squeeze(-1)  # (B, S)
        alpha = scores.masked_fill(~memory.mask, float("-inf")).softmax(-1)
        return (alpha[:, :, None] * memory.states).sum(1), alpha

    def decode(self, tgt_in: torch.Tensor, memory: Memory, cache: RecurrentState | None = None, need_weights: bool = False) -> Decoded:
        """tgt_in (B, T) → logits (B, T, vocab); with a cache, continue from its state (and update it)."""
        s = cache.state if cache is not None and cache.state is not None else torch.tanh(self.bridge(memory.summary))
        keys = self.w_h(memory.states) if self.config.attention else None
        logits, alphas = [], []
        for y in self.tgt_embed(tgt_in).unbind(1):
            if self.config.attention:
                context, alpha = self.attend(s, memory, keys)
                alphas.append(alpha)
            else:
                context = memory.summary  # the same vector at every step
            s = self.cell(torch.cat([y, context], -1), s)
            logits.append(self.out(torch.cat([s, context], -1)))
        if cache is not None:
            cache.state, cache.length = s, cache.length + tgt_in.shape[1]
        weights = None
        if need_weights and alphas:
            weights = (torch.stack(alphas, 1)[:, None],)  # one layer, one head: (B, 1, T, S), shaped like the transformer's
        return Decoded(torch.stack(logits, 1), cache, weights)

    def new_cache(self) -> RecurrentState:
        return RecurrentState()

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src)).logits

