"""Bengio et al. (2003)'s neural language model: k context tokens → embeddings → a hidden tanh layer → softmax.

An n-gram model treats "the cat sat" and "a cat sat" as unrelated contexts. The MLP maps every
token to a learned vector (an embedding), so similar tokens get similar vectors and what it
learns about one context carries over to similar ones:

    e = [C[x_{t-k+1}]; ...; C[x_t]]          k embeddings of size d, concatenated (k·d numbers)
    h = tanh(W_1 e + b_1)                     a hidden layer of `hidden` units
    logits = W_2 h + b_2                      one score per vocabulary token; softmax → q(x_{t+1} | context)

Its parameters grow with k linearly (k·d·hidden), not with V^k as an n-gram table can. (Bengio's
paper also adds direct connections from e to the logits; makemore, and this lab, leave them out.)
Positions with fewer than k tokens before them in a window see a padding token in their place.

>>> import torch
>>> model = MLPLM(MLPLMConfig(context=3, embed=4, hidden=8), vocab_size=5)
>>> tuple(model(torch.tensor([[0, 1, 2, 3]])).shape)      # one distribution per position
(1, 4, 5)
"""

from dataclasses import dataclass, field

import torch
from torch import nn

from core.errors import LabError
from core.lm.neural_lm import Corpus, LMResult, TrainConfig, train_lm
from core.training import generators, init_parameters

MAX_CONTEXT = 64


@dataclass(frozen=True)
class MLPLMConfig:
    context: int = 3  # k: tokens the model sees before the one it predicts
    embed: int = 16  # d: numbers per token embedding
    hidden: int = 128  # units of the tanh layer
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0


class MLPLM(nn.Module):
    def __init__(self, config: MLPLMConfig, vocab_size: int):
        super().__init__()
        if not 1 <= config.context <= MAX_CONTEXT:
            raise LabError(f"the MLP's context must be 1 to {MAX_CONTEXT} tokens (got {config.context})")
        self.k, self.pad = config.context, vocab_size  # one extra embedding row stands for "before the window"
        self.embedding = nn.Embedding(vocab_size + 1, config.embed)
        self.hidden = nn.Linear(config.context * config.embed, config.hidden)
        self.out = nn.Linear(config.hidden, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = torch.cat([x.new_full((x.shape[0], self.k - 1), self.pad), x], dim=1)
        contexts = padded.unfold(1, self.k, 1)  # (B, T, k): the k tokens ending at each position
        e = self.embedding(contexts).flatten(2)  # (B, T, k·d)
        return self.out(torch.tanh(self.hidden(e)))


def fit(config: MLPLMConfig, corpus: Corpus, on_step=None) -> LMResult:
    """Train an MLP language model on the corpus's training stream (see core.lm.neural_lm.train_lm)."""
    rng, g = generators(config.seed)
    model = init_parameters(MLPLM(config, len(corpus.vocab)), g)
    return train_lm(f"MLP (k={config.context})", model, corpus, config.train, rng, g, on_step, family="MLP")
