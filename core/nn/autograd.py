"""A scalar autograd engine in micrograd's shape, plus the tools to draw and step its graph.

Every `Value` remembers the values it was made from (`_prev`), the operation (`_op`) and a
closure `_backward` that pushes its own gradient one step back through that operation (the
chain rule, one local derivative at a time). `backward()` runs those closures in reverse
topological order, so every node's gradient is complete before it is pushed further back.

>>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
>>> c = a * b + a ** 2          # c = ab + a²
>>> c.backward()
>>> c.data, a.grad, b.grad      # dc/da = b + 2a = 1, dc/db = a = 2
(-2.0, 1.0, 2.0)
"""

import math

from core.errors import LabError


class Value:
    """A scalar that records how it was computed, so its gradient can flow back."""

    def __init__(self, data: float, _prev: tuple["Value", ...] = (), _op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._op = _op
        self.label = label
        self._backward = lambda: None  # a leaf has nothing to push back

    # -- binary operations: out = f(self, other); each closure adds d(out)/d(input) * out.grad
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad  # d(a+b)/da = 1
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "×")

        def _backward():
            self.grad += other.data * out.grad  # d(ab)/da = b
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k: float):
        assert isinstance(k, (int, float)), "only constant exponents (x ** 2, x ** -1, x ** 0.5)"
        out = Value(self.data ** k, (self,), f"^{k:g}")
        out.exponent = k  # the label rounds it (^0.333333); torch_gradients replays the exact k

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad  # d(x^k)/dx = k x^(k-1)

        out._backward = _backward
        return out

    # -- unary functions
    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad  # d(e^x)/dx = e^x, already computed

        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data  # d(ln x)/dx = 1/x

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data ** 2) * out.grad  # d tanh/dx = 1 - tanh²

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad  # 1 where x > 0 (torch's choice at 0: 0)

        out._backward = _backward
        return out

    def sigmoid(self):
        # the two forms avoid overflow of exp for large |x|
        s = 1 / (1 + math.exp(-self.data)) if self.data >= 0 else math.exp(self.data) / (1 + math.exp(self.data))
        out = Value(s, (self,), "σ")

        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad  # dσ/dx = σ(1-σ)

        out._backward = _backward
        return out

    # -- the rest is sugar built from the operations above
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * (other if isinstance(other, Value) else Value(other)) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Value(other) + (-self)

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value(other) * self ** -1

    def backward(self) -> None:
        """Fill `.grad` of every node this value depends on with d(self)/d(node)."""
        backward_steps(self)

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all the nodes it was made from (root last)."""
    order, seen = [], set()

    def visit(v: Value):
        if id(v) not in seen:
            seen.add(id(v))
            for child in v._prev:
                visit(child)
            order.append(v)

    visit(root)
    return order


def backward_steps(root: Value, n: int | None = None) -> list[Value]:
    """Run the first `n` local steps of the backward pass (all of them if n is None, which is
    `root.backward()`); return the nodes done so far.

    Step 0 zeroes every gradient and seeds d(root)/d(root) = 1; each further step pushes one
    operation's output gradient back to its inputs, in reverse topological order (leaves have
    nothing to push, so they are not steps).

    >>> x = Value(3.0); y = x * x + 1
    >>> [v._op for v in backward_steps(y, 1)], x.grad   # '+' pushed to x*x and 1, not yet to x
    (['+'], 0.0)
    >>> _ = backward_steps(y, 2); x.grad
    6.0
    """
    order = list(reversed(topological_order(root)))
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    done = [v for v in order if v._op][:n]
    for node in done:
        node._backward()
    return done


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def to_dot(root: Value, done: list[Value] | None = None) -> str:
    """The computation graph as Graphviz DOT text: one box per value (label | data | grad), one
    ellipse per operation. Nodes in `done` (backward steps taken) are shaded; the last one, the
    step just taken, is highlighted. Gradients not reached yet show as "?".
    """
    nodes = topological_order(root)
    done_ids = {id(v) for v in done} if done is not None else {id(v) for v in nodes}
    current = id(done[-1]) if done else None
    # a node's gradient is final once every node that uses it has pushed back
    users: dict[int, list[Value]] = {}
    for v in nodes:
        for child in v._prev:
            users.setdefault(id(child), []).append(v)
    lines = ["digraph G { node [fontname=Helvetica, fontsize=11];"]
    for v in nodes:
        final = id(v) == id(root) or all(id(u) in done_ids for u in users.get(id(v), []))
        grad = _fmt(v.grad) if final else "?"
        colour = "#ffd54f" if id(v) == current else "#c8e6c9" if final else "white"
        fields = f"{v.label} | data {_fmt(v.data)} | grad {grad}"
        lines.append(f'  v{id(v)} [shape=record, style=filled, fillcolor="{colour}", label="{fields}"];')
        if v._op:
            lines.append(f'  op{id(v)} [label="{v._op}", shape=ellipse];')
            lines.append(f"  op{id(v)} -> v{id(v)};")
            for child in v._prev:
                lines.append(f"  v{id(child)} -> op{id(v)};")
    lines.append("}")
    return "\n".join(lines)


def operations(root: Value) -> int:
    """How many backward steps `root` has: its operation nodes."""
    return sum(1 for v in topological_order(root) if v._op)


# ----------------------------------------------------------------------------- expressions to build

BINARY_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b, "÷": lambda a, b: a / b}
UNARY_FNS = {"tanh": Value.tanh, "relu": Value.relu, "sigmoid": Value.sigmoid, "exp": Value.exp,
             "log": Value.log, "square": lambda v: v ** 2, "none": lambda v: v}
# a neuron's activation: name → function of a Value (as in core.nn.mlp.ACTIVATIONS, a dict keyed by name)
ACTIVATIONS = {name: UNARY_FNS[name] for name in ("tanh", "relu", "sigmoid", "exp", "none")}


def _labelled(v: Value, label: str) -> Value:
    v.label = label
    return v


def neuron(x: list[float], w: list[float], b: float, activation: str = "tanh", target: float | None = None) -> Value:
    """One neuron, act(Σ wᵢxᵢ + b), optionally followed by the squared error to `target`.

    >>> out = neuron([1.0, -2.0], [0.5, 0.25], 0.1, "relu")
    >>> round(out.data, 6)
    0.1
    """
    xs = [Value(xi, label=f"x{i + 1}") for i, xi in enumerate(x)]
    ws = [Value(wi, label=f"w{i + 1}") for i, wi in enumerate(w)]
    total = _labelled(Value(b), "b")
    for i, (wi, xi) in enumerate(zip(ws, xs)):
        total = _labelled(total + _labelled(wi * xi, f"w{i + 1}x{i + 1}"), "z" if i == len(xs) - 1 else f"s{i + 1}")
    out = _labelled(ACTIVATIONS[activation](total), "out") if activation != "none" else total
    if target is None:
        return out
    return _labelled((out - _labelled(Value(target), "target")) ** 2, "loss")


def expression(a: float, b: float, c: float, op1: str, op2: str, fn: str) -> Value:
    """L = fn((a op1 b) op2 c), a small expression assembled from choices.

    >>> L = expression(2.0, 3.0, -1.0, "×", "+", "square"); L.backward()
    >>> L.data, [round(v.grad, 6) for v in topological_order(L) if v.label in "abc"]
    (25.0, [30.0, 20.0, 10.0])
    """
    va, vb, vc = Value(a, label="a"), Value(b, label="b"), Value(c, label="c")
    try:
        d = _labelled(BINARY_OPS[op1](va, vb), "d")
        e = _labelled(BINARY_OPS[op2](d, vc), "e")
        return _labelled(UNARY_FNS[fn](e), "L") if fn != "none" else e
    except ZeroDivisionError:
        raise LabError("that divides by zero: change a value or the operation") from None
    except ValueError:  # math.log of a number <= 0
        raise LabError("log needs a positive input: change a value or the function") from None
    except OverflowError:
        raise LabError("exp of that is too large for a float: pick smaller values") from None


def torch_gradients(root: Value) -> tuple[float, dict[int, float]]:
    """Replay the graph of `root` with torch.autograd (float64): (value, {id(leaf): gradient}).

    The page's independent check; the tests compare the two on random graphs as well.
    """
    import torch

    fns = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "relu": torch.relu, "σ": torch.sigmoid}
    tensors: dict[int, torch.Tensor] = {}
    leaves = []
    for v in topological_order(root):
        if not v._op:
            tensors[id(v)] = torch.tensor(v.data, dtype=torch.float64, requires_grad=True)
            leaves.append(v)
            continue
        args = [tensors[id(c)] for c in v._prev]
        if v._op == "+":
            tensors[id(v)] = args[0] + args[1]
        elif v._op == "×":
            tensors[id(v)] = args[0] * args[1]
        elif v._op.startswith("^"):
            tensors[id(v)] = args[0] ** v.exponent
        else:
            tensors[id(v)] = fns[v._op](args[0])
    out = tensors[id(root)]
    grads = torch.autograd.grad(out, [tensors[id(v)] for v in leaves], allow_unused=True)
    return out.item(), {id(v): 0.0 if g is None else g.item() for v, g in zip(leaves, grads)}


def torch_check(root: Value) -> tuple[float, list[dict], float]:
    """The page's check of a fully stepped graph: (torch's value of root, one row per labelled
    input with its value and both gradients, the largest |ours − torch| among them)."""
    value, reference = torch_gradients(root)
    rows = [{"input": v.label, "value": v.data, "gradient (ours)": v.grad, "gradient (torch.autograd)": reference[id(v)]}
            for v in topological_order(root) if not v._op and v.label]
    gap = max((abs(r["gradient (ours)"] - r["gradient (torch.autograd)"]) for r in rows), default=0.0)
    return value, rows, gap
