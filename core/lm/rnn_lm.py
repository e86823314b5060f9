"""A recurrent language model: embeddings → RNN, GRU or LSTM cells (core.nn.recurrent) → a linear read-out.

Where the MLP sees a fixed window of k tokens, a recurrent model reads the whole window one token
at a time and keeps what it needs in its hidden state h:

    h_t = cell(C[x_t], h_{t-1})       (core.nn.recurrent: a vanilla RNN, a GRU or an LSTM)
    logits_t = W h_t + b              q(x_{t+1} | x_1..x_t) = softmax(logits_t)

Its parameter count does not grow with the context at all; how far back it can really use the
context is a matter of training, and that is where the vanilla RNN's gradients give out
(pages/rnn_memory.py, core.nn.forgetting).

>>> import torch
>>> model = RNNLM(RNNLMConfig(kind="gru", embed=4, hidden=8), vocab_size=5)
>>> tuple(model(torch.tensor([[0, 1, 2, 3]])).shape)
(1, 4, 5)
"""

from dataclasses import dataclass, field

import torch
from torch import nn

from core.lm.neural_lm import Corpus, LMResult, TrainConfig, train_lm
from core.nn.recurrent import CellKind, Recurrent
from core.training import generators, init_parameters

NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}


@dataclass(frozen=True)
class RNNLMConfig:
    kind: CellKind = "lstm"  # rnn | gru | lstm
    embed: int = 16  # numbers per token embedding
    hidden: int = 64  # size of the hidden state h (and of the LSTM's cell state c)
    layers: int = 1  # cells stacked
    nonlinearity: str = "tanh"  # the vanilla RNN's: tanh | relu (GRU and LSTM have their own)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0


class RNNLM(nn.Module):
    def __init__(self, config: RNNLMConfig, vocab_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embed)
        self.rnn = Recurrent(config.kind, config.embed, config.hidden, config.layers, config.nonlinearity)
        self.out = nn.Linear(config.hidden, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.embedding(x))
        return self.out(h)


def build(config: RNNLMConfig, vocab_size: int, generator: torch.Generator, scale: float = 1.0) -> RNNLM:
    """A model drawn from `generator`: torch's default initialisation, W_hh multiplied by `scale`."""
    model = init_parameters(RNNLM(config, vocab_size), generator)  # embedding and read-out
    model.rnn.reset_parameters(generator, scale)  # the cells: torch's U(-1/sqrt(H), 1/sqrt(H))
    return model


def fit(config: RNNLMConfig, corpus: Corpus, on_step=None) -> LMResult:
    """Train a recurrent language model on the corpus's training stream (see core.lm.neural_lm.train_lm)."""
    rng, g = generators(config.seed)
    name = NAMES[config.kind]
    return train_lm(name, build(config, len(corpus.vocab), g), corpus, config.train, rng, g, on_step, family=name)
