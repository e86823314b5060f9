import pandas as pd
import streamlit as st

from core.nn import optim
from ui import state
from ui.page import header, show_code
from ui.vega import chart, draw, field, layers, lines, rule

header(
    "⛰️ Gradient descent and optimizers",
    "Five optimizers race downhill on the same 2-D surface from the same start. Plain SGD steps "
    "against the gradient; **momentum** and **Nesterov** remember where they were going; **RMSprop** "
    "divides each coordinate's step by how steep it has been; **Adam** does both. Push the learning "
    "rate up and watch a run converge, then zig-zag, then fly off (the table says where).",
)

with st.sidebar:
    name = st.selectbox("Surface", optim.SURFACES, key="gd.surface")
    condition = st.slider("Conditioning κ (bowl only)", 1.0, 100.0, 10.0, help="Ratio of the steepest to the flattest curvature. "
                          "SGD is stable only for lr < 2/κ, but crawls along the flat direction at that lr.",
                          disabled=name != "bowl", key="gd.condition")
    s = optim.surface(name, condition)
    lr = st.select_slider("Learning rate: SGD, momentum, Nesterov", optim.LEARNING_RATES, value=optim.nearest_rate(s.lr),
                          key=f"gd.lr.{name}")
    lr_adaptive = st.select_slider("Learning rate: RMSprop, Adam", optim.LEARNING_RATES, value=optim.nearest_rate(s.lr_adaptive),
                                   key=f"gd.lra.{name}")
    steps = st.slider("Steps", 10, 1000, 300, step=10, key="gd.steps")
    chosen = st.multiselect("Optimizers", list(optim.OPTIMIZERS), default=list(optim.OPTIMIZERS), key="gd.opts")
    x0 = st.slider("Start x", float(s.xlim[0]), float(s.xlim[1]), float(s.start[0]), key=f"gd.x0.{name}")
    y0 = st.slider("Start y", float(s.ylim[0]), float(s.ylim[1]), float(s.start[1]), key=f"gd.y0.{name}")

if not chosen:
    st.info("No optimizer picked: showing plain SGD.", icon="ℹ️")
    chosen = ["SGD"]
config = optim.RaceConfig(name, condition, lr, lr_adaptive, steps, (x0, y0), tuple(chosen))
trajectories = state.cached(optim.race)(config)
contours = state.cached(optim.surface_contours)(name, condition)

colours = {"domain": list(optim.OPTIMIZERS), "scheme": "category10"}  # one colour per optimizer on every chart
x = field("x:Q", scale={"domain": list(s.xlim), "clamp": True})
y = field("y:Q", scale={"domain": list(s.ylim), "clamp": True})
left, right = st.columns([3, 2])
draw(layers(
    chart(contours, {"type": "line", "strokeWidth": 0.7, "clip": True}, x=x, y=y, detail="line:N", order="order:Q",
          color=field("level:Q", scale={"scheme": "greys", "type": "log"}, legend=None)),
    chart(optim.paths(trajectories), {"type": "line", "point": {"size": 12}, "strokeWidth": 2, "clip": True}, x=x, y=y, order="step:Q",
          color=field("optimizer:N", scale=colours),
          tooltip=["optimizer:N", "step:Q", field("x:Q", format=".4f"), field("y:Q", format=".4f")]),
    chart(pd.DataFrame(s.minima, columns=["x", "y"]), {"type": "point", "shape": "diamond", "size": 120, "color": "black", "filled": True},
          x=x, y=y),
    chart(pd.DataFrame({"x": [x0], "y": [y0]}), {"type": "point", "shape": "circle", "size": 150, "color": "black"}, x=x, y=y),
    title=f"{s.name}: contours of f, minima ◆, start ○", height=520), left)
with right:
    draw(lines(optim.gap_curves(trajectories), "step:Q", field("gap:Q", title="f − min f", scale={"type": "log"}),
               field("optimizer:N", scale=colours), title="Gap to the minimum (log scale)", height=260))
    st.dataframe(optim.race_summary(trajectories, config), hide_index=True, width="stretch",
                 column_config={"final f": st.column_config.NumberColumn(format="%.4g")})
    diverged = [t.optimizer for t in trajectories if t.history.diverged]
    if diverged:
        st.warning(f"{', '.join(diverged)} diverged: each step overshot by more than the last, until the point flew off "
                   "the map. The run was stopped there. Lower the learning rate.", icon="💥")

st.subheader("One optimizer, every learning rate")
sweep_opt = st.selectbox("Optimizer to sweep", list(optim.OPTIMIZERS), key="gd.sweep")
sweep = state.cached(optim.race_sweep)(config, sweep_opt)
sweep["shown gap"] = sweep.gap.clip(1e-12, 1e6)  # diverged runs (gap ∞) sit on the top edge
outcomes = {"domain": ["converged", "converged (zig-zag)", "still on its way", "oscillating", "diverged"],
            "range": ["#2ca02c", "#bcbd22", "#1f77b4", "#ff7f0e", "#d62728"]}
draw(layers(
    chart(sweep, {"type": "point", "size": 90, "filled": True}, x=field("lr:Q", scale={"type": "log"}, title="learning rate"),
          y=field("shown gap:Q", scale={"type": "log"}, title=f"f − min f after {steps} steps"),
          color=field("kind:N", title="outcome", scale=outcomes), tooltip=["lr:Q", field("gap:Q", format=".3g"), "outcome:N"]),
    rule(x=optim.learning_rate(sweep_opt, lr, lr_adaptive), strokeDash=[4, 4]), height=260))
st.caption("Too small: still on its way after all the steps. Just right: converged. Larger: it zig-zags across the "
           "valley but still gets there. Too large: each step overshoots more than the last and the run diverges "
           "(stopped and reported, not crashed). The dashed line is the learning rate set in the sidebar.")

st.subheader("The update rules")
st.latex(r"""\begin{aligned}
\text{SGD:}\;& \theta \leftarrow \theta - \eta\, g &
\text{Momentum:}\;& v \leftarrow \mu v + g,\;\; \theta \leftarrow \theta - \eta v \\
\text{Nesterov:}\;& v \leftarrow \mu v + g,\;\; \theta \leftarrow \theta - \eta (g + \mu v) &
\text{RMSprop:}\;& s \leftarrow \alpha s + (1-\alpha) g^2,\;\; \theta \leftarrow \theta - \eta\, g / (\sqrt{s} + \epsilon) \\
\text{Adam:}\;& m \leftarrow \beta_1 m + (1-\beta_1) g,\;\; v \leftarrow \beta_2 v + (1-\beta_2) g^2, &
& \theta \leftarrow \theta - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}
\end{aligned}""")
st.markdown(
    "With μ = 0.9, α = 0.99, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (torch.optim's defaults; the lab's tests check "
    "that these from-scratch optimizers follow torch.optim's trajectories to 1e-6 for 100 steps).\n\n"
    "Things to try: on the **bowl**, raise κ to 100: SGD must keep η < 2/κ or the steep direction blows up, and "
    "then it crawls along the flat one; momentum and Adam do not. On **Rosenbrock**, everyone finds the "
    "curved valley quickly and then creeps along its floor. On the **saddle**, the start sits on the ridge, where "
    "the gradient across it is almost zero: SGD lingers, momentum escapes. On **several minima**, move the start: "
    "which minimum you reach depends on the path, and different optimizers take different paths.")
show_code(optim.SGD, optim.RMSprop, optim.Adam, optim.descend, optim.race, optim.verdict)
