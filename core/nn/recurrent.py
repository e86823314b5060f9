"""Recurrent cells written out: a vanilla RNN, the GRU and the LSTM, and a layer that runs one over time.

A recurrent network reads a sequence one step at a time and carries a hidden state h from step to
step. Every cell below takes the input x_t and the previous state and returns the next state; the
weights are shared by every step. (σ is the logistic sigmoid, ⊙ the elementwise product.)

    RNN    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

    GRU    r = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate: how much of h the candidate sees
           z = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate: how much of h to keep
           n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) candidate state
           h_t = (1 - z) ⊙ n + z ⊙ h

    LSTM   i, f, g, o = W_ih x + b_ih + W_hh h + b_hh, cut in four
           c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)       the cell state: added to, not multiplied through
           h_t = σ(o) ⊙ tanh(c_t)

Why the gates matter: the gradient reaching h_{t-k} from a loss at step t is a product of k
Jacobians ∂h_s/∂h_{s-1}. For the RNN each one is diag(1 - h_s²) W_hh: unless W_hh's scale is
just right, the product shrinks (or grows) geometrically with k, so the RNN forgets (or explodes).
The LSTM's cell state passes back through ∂c_s/∂c_{s-1} = diag(σ(f)): a forget gate near 1 lets
the gradient through many steps nearly intact (the GRU's z does the same for h).

The weights are laid out exactly as torch.nn.RNNCell / GRUCell / LSTMCell lay them out (gates
stacked in torch's order: r, z, n and i, f, g, o), so a state dict moves between them and the
outputs and gradients agree to float precision (tests/core/test_recurrent.py).

>>> import torch
>>> cell = LSTMCell(3, 4)
>>> cell.reset_parameters(torch.Generator().manual_seed(0))
>>> h, c = cell(torch.ones(2, 3))                  # no state given: it starts from zeros
>>> tuple(h.shape), tuple(c.shape)
((2, 4), (2, 4))
"""

import math
from typing import Literal

import torch
from torch import nn

CellKind = Literal["rnn", "gru", "lstm"]
CELL_KINDS: tuple[str, ...] = ("rnn", "gru", "lstm")
GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # blocks stacked in weight_ih / weight_hh


class Cell(nn.Module):
    """Weights shared by the three cells: W_ih (gates·H, I), W_hh (gates·H, H) and two biases."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(self.gates * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(self.gates * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(self.gates * hidden_size))

    def reset_parameters(self, generator: torch.Generator, scale: float = 1.0) -> None:
        """torch's default: every weight from U(-b, b), b = 1/sqrt(hidden size); `scale` multiplies W_hh."""
        bound = 1 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for w in self.parameters():
                nn.init.uniform_(w, -bound, bound, generator=generator)
            self.weight_hh.mul_(scale)

    def zero_state(self, batch: int, like: torch.Tensor):
        return like.new_zeros(batch, self.hidden_size)


class RNNCell(Cell):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: Literal["tanh", "relu"] = "tanh"):
        super().__init__(input_size, hidden_size)
        self.nonlinearity = nonlinearity

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = self.zero_state(len(x), x) if h is None else h
        pre = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        return torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)


class GRUCell(Cell):
    gates = 3

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = self.zero_state(len(x), x) if h is None else h
        xr, xz, xn = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=-1)
        hr, hz, hn = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h


class LSTMCell(Cell):
    gates = 4

    def zero_state(self, batch: int, like: torch.Tensor):
        return like.new_zeros(batch, self.hidden_size), like.new_zeros(batch, self.hidden_size)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = self.zero_state(len(x), x) if state is None else state
        i, f, g, o = (x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


def make_cell(kind: CellKind, input_size: int, hidden_size: int, nonlinearity: str = "tanh") -> Cell:
    if kind == "rnn":
        return RNNCell(input_size, hidden_size, nonlinearity)
    return {"gru": GRUCell, "lstm": LSTMCell}[kind](input_size, hidden_size)


def hidden(state) -> torch.Tensor:
    """The part of a cell's state the next layer and the output see: h (the LSTM's c stays inside)."""
    return state[0] if isinstance(state, tuple) else state


class Recurrent(nn.Module):
    """`num_layers` cells stacked, each run over the whole sequence; like torch.nn.RNN/GRU/LSTM(batch_first=True).

    forward(x (B, T, I), state) -> (outputs (B, T, H) of the top layer, final state of every layer).
    A state is a list with one entry per layer (h, or (h, c) for the LSTM).
    """

    def __init__(self, kind: CellKind, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh"):
        super().__init__()
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        self.cells = nn.ModuleList(make_cell(kind, input_size if i == 0 else hidden_size, hidden_size, nonlinearity)
                                   for i in range(num_layers))

    def reset_parameters(self, generator: torch.Generator, scale: float = 1.0) -> None:
        for cell in self.cells:
            cell.reset_parameters(generator, scale)

    def forward(self, x: torch.Tensor, state: list | None = None) -> tuple[torch.Tensor, list]:
        state = [None] * self.num_layers if state is None else list(state)
        layer_input = x
        for i, cell in enumerate(self.cells):
            outputs = []
            for t in range(x.shape[1]):
                state[i] = cell(layer_input[:, t], state[i])
                outputs.append(hidden(state[i]))
            layer_input = torch.stack(outputs, dim=1)
        return layer_input, state

    def load_torch(self, module: nn.RNNBase) -> "Recurrent":
        """Copy the weights of torch.nn.RNN/GRU/LSTM(batch_first=True, same sizes) into these cells."""
        with torch.no_grad():
            for i, cell in enumerate(self.cells):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(getattr(module, f"{name}_l{i}"))
        return self

    def torch_twin(self) -> nn.RNNBase:
        """torch's fused layer with these exact weights (for the speed race and the tests)."""
        cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[self.kind]
        extra = {"nonlinearity": self.cells[0].nonlinearity} if self.kind == "rnn" else {}
        extra["dtype"] = self.cells[0].weight_ih.dtype
        twin = cls(self.cells[0].input_size, self.hidden_size, self.num_layers, batch_first=True, **extra)
        with torch.no_grad():
            for i, cell in enumerate(self.cells):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(twin, f"{name}_l{i}").copy_(getattr(cell, name))
        return twin
