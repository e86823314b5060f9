"""core.nn.autograd against torch.autograd: same expressions, same values and gradients.

Both sides compute in float64, so they agree to rounding: 1e-9, relative or absolute.
"""

import math
import random

import pytest
import torch

from core.errors import LabError
from core.nn.autograd import (
    LEGEND,
    Value,
    backward_steps,
    expression,
    neuron,
    node_states,
    operations,
    step_story,
    to_dot,
    topological_order,
    torch_check,
    torch_gradients,
)

TOL = 1e-9


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


def both(x: float):
    return Value(x), torch.tensor(x, dtype=torch.float64, requires_grad=True)


def test_micrograd_sanity_expression():
    # micrograd's own test expression (relu at both a negative and a positive input), then every
    # other operation once: tanh, exp, log, sigmoid, pow (integer, negative, fractional), /, -
    xv, xt = both(-4.0)
    outs = []
    for x in (xv, xt):
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        y = h + q + q * x
        w = (y / 100).tanh() + (x / 4).exp() + (x * x).log() + (x * 0.5).sigmoid() + z ** 3 / 50 - x ** -1 + (h ** 0.5) * y
        outs.append(w)
    for out in outs[:2]:
        out.backward()
    ops = {v._op for v in topological_order(outs[0])}
    assert {"+", "×", "relu", "tanh", "exp", "log", "σ", "^3", "^-1", "^0.5"} <= ops
    assert close(outs[0].data, outs[1].item())
    assert close(xv.grad, xt.grad.item()) and abs(xv.grad) > 1  # a real gradient, not a vanished one


UNARY = ["tanh", "relu", "sigmoid", "exp", "log", "pow2", "pow3", "sqrt", "neg", "inv"]
BINARY = ["add", "mul", "sub", "div"]


def apply_unary(name, v, is_torch):
    if name == "pow2":
        return v ** 2
    if name == "pow3":
        return v ** 3
    if name == "sqrt":
        return v ** 0.5
    if name == "neg":
        return -v
    if name == "inv":
        return 1 / v
    return getattr(torch, name)(v) if is_torch else getattr(v, name)()


def random_graph(seed: int, n_leaves: int = 4, n_ops: int = 25):
    """The same random DAG (shared subexpressions included) built twice: with Value and torch."""
    rng = random.Random(seed)
    leaves = [rng.uniform(-2, 2) for _ in range(n_leaves)]
    ours = [Value(x) for x in leaves]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves]
    ovals, tvals = list(ours), list(theirs)
    for _ in range(n_ops):
        if rng.random() < 0.5:
            i = rng.randrange(len(ovals))
            x = ovals[i].data
            allowed = [u for u in UNARY if not (u in ("log", "sqrt") and x <= 0.1) and not (u == "inv" and abs(x) < 0.2)
                       and not (u == "exp" and x > 5) and not (u in ("pow2", "pow3") and abs(x) > 5)]
            u = rng.choice(allowed)
            ovals.append(apply_unary(u, ovals[i], False))
            tvals.append(apply_unary(u, tvals[i], True))
        else:
            i, j = rng.randrange(len(ovals)), rng.randrange(len(ovals))
            b = rng.choice([op for op in BINARY if not (op == "div" and abs(ovals[j].data) < 0.2)
                            and not (op == "mul" and abs(ovals[i].data * ovals[j].data) > 1e3)])
            f = {"add": lambda p, q: p + q, "mul": lambda p, q: p * q, "sub": lambda p, q: p - q, "div": lambda p, q: p / q}[b]
            ovals.append(f(ovals[i], ovals[j]))
            tvals.append(f(tvals[i], tvals[j]))
    # the output depends on the last few nodes, so most of the graph matters
    out_o = sum(ovals[-5:], Value(0.0))
    out_t = sum(tvals[-5:], torch.tensor(0.0, dtype=torch.float64))
    return ours, theirs, out_o, out_t


@pytest.mark.parametrize("seed", range(30))
def test_random_expression_graphs_match_torch(seed):
    ours, theirs, out_o, out_t = random_graph(seed)
    out_o.backward()
    out_t.backward()
    assert close(out_o.data, out_t.item())
    for v, t in zip(ours, theirs):
        tg = 0.0 if t.grad is None else t.grad.item()
        assert close(v.grad, tg), (v.grad, tg)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "exp", "none"])
def test_neuron_with_loss_matches_torch(activation):
    x, w, b, target = [0.5, -1.5, 2.0], [0.3, -0.8, 0.1], 0.2, 0.7
    out = neuron(x, w, b, activation, target)
    out.backward()
    xt = torch.tensor(x, dtype=torch.float64)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = (wt * xt).sum() + bt
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "exp": torch.exp, "none": lambda t: t}[activation]
    loss = (act(z) - target) ** 2
    loss.backward()
    nodes = {v.label: v for v in topological_order(out)}
    assert close(out.data, loss.item())
    for i in range(3):
        assert close(nodes[f"w{i + 1}"].grad, wt.grad[i].item())
    assert close(nodes["b"].grad, bt.grad.item())


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_stepping_every_operation_gives_torchs_gradients():
    L = expression(1.5, -2.0, 0.5, "×", "-", "tanh")  # tanh(a·b − c)
    a, b, c = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (1.5, -2.0, 0.5))
    torch.tanh(a * b - c).backward()
    leaves = {v.label: v for v in topological_order(L) if v.label in ("a", "b", "c")}
    done = backward_steps(L, operations(L))
    assert sorted(v._op for v in done) == sorted(["tanh", "−", "×"]) and done[0] is L  # a·b − c: a subtraction of its own
    assert all(close(leaves[k].grad, t.grad.item()) for k, t in zip("abc", (a, b, c)))
    # after one step only tanh has pushed its gradient (to a·b − c); the leaves are still zero
    backward_steps(L, 1)
    assert all(v.grad == 0.0 for v in leaves.values()) and L.grad == 1.0


def test_dot_marks_unreached_gradients():
    L = expression(1.0, 2.0, 3.0, "+", "×", "none")
    dot = to_dot(L, backward_steps(L, 0))
    assert dot.startswith("digraph") and "grad ?" in dot
    assert "grad ?" not in to_dot(L, backward_steps(L, operations(L)))


@pytest.mark.parametrize("args", [(1.0, 0.0, 1.0, "÷", "+", "none"), (-1.0, 0.0, 0.0, "+", "+", "log"),
                                  (500.0, 2.0, 0.0, "×", "+", "exp")])
def test_bad_expressions_raise_lab_error(args):
    with pytest.raises(LabError):
        expression(*args)


@pytest.mark.parametrize("seed", range(5))
def test_torch_replay_used_by_the_page_agrees(seed):
    ours, _, out, _ = random_graph(seed)
    out.backward()
    value, grads = torch_gradients(out)
    assert close(value, out.data)
    for v in ours:
        assert close(grads.get(id(v), 0.0), v.grad)  # an unused leaf: 0


def test_torch_replay_uses_the_exact_exponent():
    # the node's label shows k rounded (^0.333333); replaying that would miss by ~3e-7
    x = Value(2.0, label="x")
    y = x ** (1 / 3) + x ** 1.23456789
    y.backward()
    value, grads = torch_gradients(y)
    assert close(value, y.data) and close(grads[id(x)], x.grad)


def test_torch_check_lists_every_labelled_input():
    L = neuron([1.0, -2.0], [0.5, 0.25], 0.1, "tanh", target=0.3)
    L.backward()
    value, rows, gap = torch_check(L)
    assert [r["input"] for r in rows] == ["b", "w1", "x1", "w2", "x2", "target"]
    assert close(value, L.data) and gap < TOL
    nodes = {v.label: v for v in topological_order(L)}
    assert all(r["gradient (ours)"] == nodes[r["input"]].grad and r["value"] == nodes[r["input"]].data for r in rows)
    nodes["w1"].grad += 0.5  # a wrong gradient shows up in the gap
    assert abs(torch_check(L)[2] - 0.5) < TOL


def test_subtraction_and_division_are_operations_of_their_own_with_their_local_derivatives():
    a, b = Value(6.0, label="a"), Value(-2.0, label="b")
    for out, op, local in ((a - b, "−", (1.0, -1.0)), (a / b, "÷", (-0.5, -1.5)), (3 - b, "−", (1.0, -1.0)), (3 / b, "÷", (-0.5, -0.75))):
        assert out._op == op and out._local == local  # d(a/b)/db = −a/b²
        at, bt = torch.tensor(out._prev[0].data, dtype=torch.float64, requires_grad=True), torch.tensor(b.data, dtype=torch.float64,
                                                                                                          requires_grad=True)
        (at - bt if op == "−" else at / bt).backward()
        assert close(local[0], at.grad.item()) and close(local[1], bt.grad.item())


def test_every_step_is_upstream_times_local_and_the_states_follow_the_legend():
    L = neuron([2.0, -1.0], [-0.5, 0.8], 0.5, "tanh", target=1.0)
    n = operations(L)
    for k in range(1, n + 1):
        node = backward_steps(L, k)[-1]
        backward_steps(L, k - 1)
        before = {id(c): c.grad for c in node._prev}  # each input's gradient before this step
        done = backward_steps(L, k)
        story = step_story(node)
        for row, child in zip(story, node._prev):
            assert row["upstream × local"] == row["upstream"] * row["local"]
            assert close(child.grad, before[id(child)] + row["upstream × local"]) or node._prev.count(child) > 1
        states = node_states(L, done)
        assert states[id(node)] == "current" and all(states[id(c)] == "receiving" for c in node._prev)
        assert set(states.values()) <= set(LEGEND)
    done = backward_steps(L, n)
    leaves = [v for v in topological_order(L) if not v._op]
    assert all(node_states(L, done)[id(v)] in ("final", "receiving") for v in leaves)
    dot = to_dot(L, backward_steps(L, 0))
    assert "rankdir=LR" in dot and dot.count("grad ?") == len(topological_order(L)) - 1  # only the seeded root has one
