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
    """A scalar that records how it was computed, so its gradient can flow back.

    Each operation stores, beside its result, its *local* derivatives: d(out)/d(input) for each input,
    known the moment out is computed. The backward step of a node is then the chain rule, once per input:
    input.grad += out.grad (the upstream gradient) × local.
    """

    def __init__(self, data: float, _prev: tuple["Value", ...] = (), _op: str = "", label: str = "",
                 _local: tuple[float, ...] = ()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev
        self._op = _op
        self._local = _local  # d(self)/d(input) for each input in _prev
        self.label = label

    def _backward(self) -> None:
        """Push this node's gradient one step back: each input's grad += upstream × local (a leaf has no inputs)."""
        for child, local in zip(self._prev, self._local):
            child.grad += self.grad * local

    # -- binary operations: out = f(self, other), with d(out)/d(self) and d(out)/d(other)
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), "+", _local=(1.0, 1.0))  # d(a+b)/da = 1, d(a+b)/db = 1

    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data - other.data, (self, other), "−", _local=(1.0, -1.0))  # d(a−b)/da = 1, d(a−b)/db = −1

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), "×", _local=(other.data, self.data))  # d(ab)/da = b, d(ab)/db = a

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        if other.data == 0:
            raise ZeroDivisionError("division by zero")
        a, b = self.data, other.data
        return Value(a / b, (self, other), "÷", _local=(1 / b, -a / b ** 2))  # d(a/b)/da = 1/b, d(a/b)/db = −a/b²

    def __pow__(self, k: float):
        assert isinstance(k, (int, float)), "only constant exponents (x ** 2, x ** -1, x ** 0.5)"
        out = Value(self.data ** k, (self,), f"^{k:g}", _local=(k * self.data ** (k - 1),))  # d(x^k)/dx = k x^(k-1)
        out.exponent = k  # the label rounds it (^0.333333); torch_gradients replays the exact k
        return out

    # -- unary functions: out = f(self), with d(out)/d(self)
    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), "exp", _local=(e,))  # d(e^x)/dx = e^x, already computed

    def log(self):
        return Value(math.log(self.data), (self,), "log", _local=(1 / self.data,))  # d(ln x)/dx = 1/x

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), "tanh", _local=(1 - t ** 2,))  # d tanh/dx = 1 - tanh²

    def relu(self):
        return Value(max(self.data, 0.0), (self,), "relu", _local=(float(self.data > 0),))  # 1 where x > 0 (torch's choice at 0: 0)

    def sigmoid(self):
        # the two forms avoid overflow of exp for large |x|
        s = 1 / (1 + math.exp(-self.data)) if self.data >= 0 else math.exp(self.data) / (1 + math.exp(self.data))
        return Value(s, (self,), "σ", _local=(s * (1 - s),))  # dσ/dx = σ(1-σ)

    # -- the rest is sugar built from the operations above
    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Value(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value(other) / self

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


# what each colour of the graph means: the page draws its legend from this table, so the two can't disagree
LEGEND = {
    "current": ("#ffd54f", "this step: the node whose gradient is pushed back, and its operation"),
    "receiving": ("#ffab91", "its inputs: each just received upstream × local"),
    "final": ("#c8e6c9", "gradient complete: every node that uses this value has pushed its share back"),
    "partial": ("#e3f2fd", "gradient so far: some users have pushed, not all yet"),
    "waiting": ("white", "no gradient yet (grad ?)"),
}


def node_states(root: Value, done: list[Value]) -> dict[int, str]:
    """Each node's state after the backward steps `done` (by id): a key of LEGEND.

    >>> x = Value(3.0, label="x"); y = x * x + 1
    >>> states = node_states(y, backward_steps(y, 1)); [states[id(v)] for v in (y, *y._prev)]
    ['current', 'receiving', 'receiving']
    >>> states = node_states(y, backward_steps(y, 2)); states[id(x)]
    'receiving'
    """
    nodes = topological_order(root)
    done_ids = {id(v) for v in done}
    users: dict[int, list[Value]] = {}
    for v in nodes:
        for child in v._prev:
            users.setdefault(id(child), []).append(v)
    current = done[-1] if done else None
    states = {}
    for v in nodes:
        pushed = [u for u in users.get(id(v), []) if id(u) in done_ids]
        if current is not None and v is current:
            states[id(v)] = "current"
        elif current is not None and any(c is v for c in current._prev):
            states[id(v)] = "receiving"
        elif v is root or len(pushed) == len(users.get(id(v), [])):
            states[id(v)] = "final"
        else:
            states[id(v)] = "partial" if pushed else "waiting"
    return states


def to_dot(root: Value, done: list[Value] | None = None) -> str:
    """The computation graph as Graphviz DOT, inputs on the left and the output on the right: one box per
    value (label, data, grad), one ellipse per operation, coloured by `node_states` (see LEGEND).
    A gradient that has received nothing yet shows as "?"; one still collecting, as "so far".
    """
    nodes = topological_order(root)
    done = list(reversed([v for v in nodes if v._op])) if done is None else done
    states = node_states(root, done)
    current = done[-1] if done else None
    lines = ["digraph G { rankdir=LR; nodesep=0.1; ranksep=0.25; node [fontname=Helvetica, fontsize=12, height=0.3];"]
    for v in nodes:
        state = states[id(v)]
        grad = "?" if state == "waiting" else f"so far {_fmt(v.grad)}" if state == "partial" else _fmt(v.grad)
        name = v.label or ("const" if not v._op else "")
        fields = (f"{name} | " if name else "") + f"data {_fmt(v.data)} | grad {grad}"
        # fields stacked (label over data over grad): left to right, a box is narrow, so the graph fits the page with legible text
        lines.append(f'  v{id(v)} [shape=record, style=filled, fillcolor="{LEGEND[state][0]}", label="{fields}"];')
        if v._op:
            op_colour = LEGEND["current"][0] if v is current else "white"
            lines.append(f'  op{id(v)} [label="{v._op}", shape=ellipse, style=filled, fillcolor="{op_colour}", fontsize=14];')
            lines.append(f"  op{id(v)} -> v{id(v)};")
            for child in v._prev:
                lines.append(f"  v{id(child)} -> op{id(v)};")
    lines.append("}")
    return "\n".join(lines)


# each operation's local derivatives d(out)/d(input) as formulas (LaTeX), input by input: a, b for two inputs, x for one
LOCAL_RULES = {"+": ("1", "1"), "−": ("1", "-1"), "×": ("b", "a"), "÷": (r"\tfrac{1}{b}", r"-\tfrac{a}{b^2}"), "exp": ("e^{x}",),
               "log": (r"\tfrac{1}{x}",), "tanh": (r"1-\tanh^2 x",), "relu": ("[x>0]",), "σ": (r"\sigma(x)\,(1-\sigma(x))",)}


def local_rule(node: Value, i: int) -> str:
    """The formula (LaTeX) of d(node)/d(its i-th input) for node's operation, e.g. 'b' for the first input of a × b."""
    if node._op.startswith("^"):
        return f"{node._op[1:]}\\,x^{{{node._op[1:]}-1}}"
    return LOCAL_RULES[node._op][i]


def name(v: Value) -> str:
    """How the page names a node: its label, else "const" for an unnamed input, else its operation."""
    return v.label or ("const" if not v._op else v._op)


def step_story(node: Value) -> list[dict]:
    """What one backward step through `node` does, one row per input: the chain rule with its numbers.

    Call it after the step ran (backward_steps): `grad now` is the input's gradient after the step.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b"); c = a * b
    >>> [row["upstream × local"] for row in step_story(backward_steps(c, 1)[-1])]
    [-3.0, 2.0]
    """
    return [{"input": name(child), "upstream": node.grad, "local": local, "local rule": local_rule(node, i),
             "upstream × local": node.grad * local, "grad now": child.grad}
            for i, (child, local) in enumerate(zip(node._prev, node._local))]


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
    return _labelled(_labelled(out - _labelled(Value(target), "target"), "error") ** 2, "loss")


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
        elif v._op == "−":
            tensors[id(v)] = args[0] - args[1]
        elif v._op == "×":
            tensors[id(v)] = args[0] * args[1]
        elif v._op == "÷":
            tensors[id(v)] = args[0] / args[1]
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
