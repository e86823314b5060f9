import pandas as pd
import streamlit as st

from core.nn import autograd
from core.nn.autograd import Value
from ui import state
from ui.page import friendly_errors, header, show_code

header(
    "🔗 Autograd from scratch",
    "Every number below is a `Value` from the lab's ~100-line autograd engine (micrograd's shape). "
    "Build an expression or a neuron, look at its **computation graph**, then step the **backward "
    "pass** one operation at a time: each step multiplies the gradient arriving at a node (upstream) by that "
    "operation's local derivative and adds it into the node's inputs (the chain rule).",
)

STEP = "ag.step"

mode = st.radio("Build", ["A single neuron", "An expression"], horizontal=True, key="ag.mode")
root = None
with friendly_errors():
    if mode == "A single neuron":
        cols = st.columns(4)
        n_in = cols[0].slider("Inputs", 1, 3, 2, key="ag.n")
        activation = cols[1].selectbox("Activation", autograd.ACTIVATIONS, key="ag.act")
        bias = cols[2].number_input("Bias b", -5.0, 5.0, 0.5, 0.1, key="ag.b")
        with_loss = cols[3].checkbox("Add a loss (out − target)²", True, key="ag.loss")
        target = cols[3].number_input("Target", -5.0, 5.0, 1.0, 0.1, key="ag.target", disabled=not with_loss)
        xs, ws = [], []
        defaults = [(2.0, -0.5), (-1.0, 0.8), (0.5, 1.2)]
        for i, col in enumerate(st.columns(n_in)):
            xs.append(col.number_input(f"x{i + 1}", -5.0, 5.0, defaults[i][0], 0.1, key=f"ag.x{i}"))
            ws.append(col.number_input(f"w{i + 1}", -5.0, 5.0, defaults[i][1], 0.1, key=f"ag.w{i}"))
        root = autograd.neuron(xs, ws, bias, activation, target if with_loss else None)
        loss_tex = r",\quad \text{loss} = (\text{out} - \text{target})^2" if with_loss else ""
        st.latex(r"\text{out} = \mathrm{" + activation + r"}\Big(\sum_i w_i x_i + b\Big)" + loss_tex)
    else:
        cols = st.columns(6)
        a = cols[0].number_input("a", -10.0, 10.0, 2.0, 0.5, key="ag.a")
        op1 = cols[1].selectbox("op 1", list(autograd.BINARY_OPS), index=2, key="ag.op1")
        b = cols[2].number_input("b", -10.0, 10.0, -3.0, 0.5, key="ag.bb")
        op2 = cols[3].selectbox("op 2", list(autograd.BINARY_OPS), index=0, key="ag.op2")
        c = cols[4].number_input("c", -10.0, 10.0, 10.0, 0.5, key="ag.c")
        fn = cols[5].selectbox("then", list(autograd.UNARY_FNS), index=0, key="ag.fn")
        tex = {"+": "+", "-": "-", "×": r"\times", "÷": r"\div"}
        st.latex(f"d = a {tex[op1]} b,\\quad e = d {tex[op2]} c,\\quad L = \\mathrm{{{fn}}}(e)")
        root = autograd.expression(a, b, c, op1, op2, fn)

if root is not None:
    n_ops = autograd.operations(root)
    state.move(STEP, default=0, high=n_ops)  # the first visit starts before the first backward step; a smaller graph: stay in range
    bcols = st.columns([1, 1, 1, 1, 3])
    bcols[0].button("⏮ Start", on_click=state.move, kwargs=dict(key=STEP, to=0), key="ag.reset")
    bcols[1].button("◀ Back", on_click=state.move, kwargs=dict(key=STEP, by=-1, high=n_ops), key="ag.back")
    bcols[2].button("Step ▶", on_click=state.move, kwargs=dict(key=STEP, by=1, high=n_ops), key="ag.fwd", type="primary")
    bcols[3].button("All ⏭", on_click=state.move, kwargs=dict(key=STEP, to=n_ops), key="ag.all")
    step = bcols[4].slider("Backward steps taken", 0, n_ops, key=STEP)
    done = autograd.backward_steps(root, step)
    name = root.label or "out"

    if step == 0:
        st.info(f"Forward pass done: {name} = {root.data:.4g}. The backward pass starts by seeding "
                f"d{name}/d{name} = 1. Press **Step ▶** to push it back one operation at a time.", icon="➡️")
    else:
        node = done[-1]
        inputs = " and ".join(autograd.name(c) for c in node._prev)
        st.success(f"Step {step} of {n_ops}: the gradient of **{node.label or node._op}** (= {node.grad:.4g}, the upstream "
                   f"gradient) goes back through **{node._op}** to {inputs}: each input's gradient += upstream × local.", icon="⬅️")
        lines = [rf"\frac{{\partial\,\text{{{name}}}}}{{\partial\,\text{{{r['input']}}}}} \mathrel{{+}}= "
                 rf"\underbrace{{{r['upstream']:.4g}}}_{{\text{{upstream}}}} \times "
                 rf"\underbrace{{{r['local']:.4g}}}_{{\text{{local}} \,=\, {r['local rule']}}} = {r['upstream × local']:.4g}"
                 rf"\quad\Rightarrow\quad \text{{{r['input']}.grad}} = {r['grad now']:.4g}" for r in autograd.step_story(node)]
        st.latex(r"\begin{aligned}" + r" \\ ".join("&" + line for line in lines) + r"\end{aligned}")
    st.graphviz_chart(autograd.to_dot(root, done), width="stretch")
    st.markdown("**Reading the graph** (inputs on the left, the output on the right). Boxes are values: label, data, grad; "
                "ellipses are operations. " + " ".join(
                    f"<span style='background:{colour};border:1px solid #999;padding:0 0.5em'>&nbsp;</span> {meaning}."
                    for colour, meaning in autograd.LEGEND.values()), unsafe_allow_html=True)
    st.caption("A value used twice receives two contributions, which is why gradients are **added** (`+=`), never assigned.")
    if step == n_ops:
        value, rows, gap = autograd.torch_check(root)
        st.caption(f"Checked against torch.autograd on the same graph: value {value:.6g}, largest gradient difference {gap:.1e}.")
        st.dataframe(pd.DataFrame(rows), hide_index=True)

st.latex(r"\frac{\partial L}{\partial x} = \sum_{u\,:\,x \to u} \frac{\partial L}{\partial u}\,\frac{\partial u}{\partial x}"
         r"\qquad \frac{\partial (ab)}{\partial a} = b,\;\; \frac{d \tanh z}{dz} = 1-\tanh^2 z,\;\; "
         r"\frac{d\sigma}{dz} = \sigma(1-\sigma),\;\; \frac{d\,\mathrm{relu}}{dz} = [z>0]")
show_code(Value.__mul__, Value.__sub__, Value.tanh, Value._backward, Value.backward, autograd.topological_order, autograd.backward_steps)
