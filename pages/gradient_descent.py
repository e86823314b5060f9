import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.nn import optim
from ui import state
from ui.page import header, show_code

header(
    "⛰️ Gradient descent and optimizers",
    "Five optimizers race downhill on the same 2-D surface from the same start. Plain SGD steps "
    "against the gradient; **momentum** and **Nesterov** remember where they were going; **RMSprop** "
    "divides each coordinate's step by how steep it has been; **Adam** does both. Push the learning "
    "rate up and watch a run converge, then zig-zag, then fly off (the table says where).",
)

SGD_FAMILY = ("SGD", "Momentum", "Nesterov")
# log-spaced (learning rates live on a log scale), plus 0.19 / 0.21 either side of the bowl's 2/κ at κ = 10
LRS = [1e-4, 2e-4, 5e-4, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.19, 0.21, 0.3, 0.5, 1.0, 2.0, 3.0]

with st.sidebar:
    name = st.selectbox("Surface", optim.SURFACES, key="gd.surface")
    condition = st.slider("Conditioning κ (bowl only)", 1.0, 100.0, 10.0, help="Ratio of the steepest to the flattest curvature. "
                          "SGD is stable only for lr < 2/κ, but crawls along the flat direction at that lr.",
                          disabled=name != "bowl", key="gd.condition")
    s = optim.surface(name, condition)
    nearest = lambda lr: min(LRS, key=lambda v: abs(np.log(v / lr)))  # noqa: E731
    lr = st.select_slider("Learning rate: SGD, momentum, Nesterov", LRS, value=nearest(s.lr), key=f"gd.lr.{name}")
    lr_adaptive = st.select_slider("Learning rate: RMSprop, Adam", LRS, value=nearest(s.lr_adaptive), key=f"gd.lra.{name}")
    steps = st.slider("Steps", 10, 1000, 300, step=10, key="gd.steps")
    chosen = st.multiselect("Optimizers", list(optim.OPTIMIZERS), default=list(optim.OPTIMIZERS), key="gd.opts")
    x0 = st.slider("Start x", float(s.xlim[0]), float(s.xlim[1]), float(s.start[0]), key=f"gd.x0.{name}")
    y0 = st.slider("Start y", float(s.ylim[0]), float(s.ylim[1]), float(s.start[1]), key=f"gd.y0.{name}")


def run_all(name: str, condition: float, lr: float, lr_adaptive: float, steps: int, start: tuple, chosen: tuple):
    s = optim.surface(name, condition)
    return [optim.descend(s, o, lr if o in SGD_FAMILY else lr_adaptive, steps, start) for o in chosen]


def sweep_lrs(name: str, condition: float, optimizer: str, steps: int, start: tuple) -> pd.DataFrame:
    return optim.lr_sweep(optim.surface(name, condition), optimizer, LRS, steps, start)


def surface_contours(name: str, condition: float) -> pd.DataFrame:
    return optim.contours(optim.surface(name, condition))


if not chosen:
    st.info("No optimizer picked: showing plain SGD.", icon="ℹ️")
    chosen = ["SGD"]
trajectories = state.cached(run_all)(name, condition, lr, lr_adaptive, steps, (x0, y0), tuple(chosen))
contours = state.cached(surface_contours)(name, condition)

rows = []
for t in trajectories:
    keep = np.all(np.isfinite(t.points), axis=1) & np.all(np.abs(t.points) < 1e3, axis=1)  # a diverged tail is off the map
    rows.append(pd.DataFrame({"optimizer": t.optimizer, "step": np.arange(len(t.points))[keep],
                              "x": t.points[keep, 0], "y": t.points[keep, 1]}))
paths = pd.concat(rows, ignore_index=True)
x_scale = alt.Scale(domain=list(s.xlim), clamp=True)
y_scale = alt.Scale(domain=list(s.ylim), clamp=True)
colours = alt.Scale(domain=list(optim.OPTIMIZERS), scheme="category10")

lines = alt.Chart(contours).mark_line(strokeWidth=0.7, clip=True).encode(
    x=alt.X("x:Q", scale=x_scale), y=alt.Y("y:Q", scale=y_scale), detail="line:N", order="order:Q",
    color=alt.Color("level:Q", scale=alt.Scale(scheme="greys", type="log"), legend=None))
tracks = alt.Chart(paths).mark_line(point=alt.OverlayMarkDef(size=12), strokeWidth=2, clip=True).encode(
    x="x:Q", y="y:Q", order="step:Q", color=alt.Color("optimizer:N", scale=colours),
    tooltip=["optimizer", "step", alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")])
minima = alt.Chart(pd.DataFrame(s.minima, columns=["x", "y"])).mark_point(shape="diamond", size=120, color="black", filled=True).encode(x="x:Q", y="y:Q")
start = alt.Chart(pd.DataFrame({"x": [x0], "y": [y0]})).mark_point(shape="circle", size=150, color="black").encode(x="x:Q", y="y:Q")

left, right = st.columns([3, 2])
with left:
    st.altair_chart((lines + tracks + minima + start).properties(height=520, title=f"{s.name}: contours of f, minima ◆, start ○"), width="stretch")
with right:
    losses = pd.concat([pd.DataFrame({"optimizer": t.optimizer, "step": np.arange(len(t.gaps)), "f − min f": t.gaps + 1e-12})
                        for t in trajectories])  # + 1e-12: a gap of exactly 0 has no place on a log scale
    losses = losses[losses["f − min f"] < 1e12]  # a diverged tail (up to ∞) would squash every other line
    st.altair_chart(alt.Chart(losses, height=260, title="Gap to the minimum (log scale)").mark_line().encode(
        x="step:Q", y=alt.Y("f − min f:Q", scale=alt.Scale(type="log")), color=alt.Color("optimizer:N", scale=colours)), width="stretch")
    summary = pd.DataFrame([{"optimizer": t.optimizer, "lr": lr if t.optimizer in SGD_FAMILY else lr_adaptive,
                             "final f": t.losses[-1], "outcome": optim.verdict(t, s)} for t in trajectories])
    st.dataframe(summary, hide_index=True, width="stretch", column_config={"final f": st.column_config.NumberColumn(format="%.4g")})
    diverged = [t.optimizer for t in trajectories if t.history.diverged]
    if diverged:
        st.warning(f"{', '.join(diverged)} diverged: each step overshot by more than the last, until the point flew off "
                   "the map. The run was stopped there. Lower the learning rate.", icon="💥")

st.subheader("One optimizer, every learning rate")
sweep_opt = st.selectbox("Optimizer to sweep", list(optim.OPTIMIZERS), key="gd.sweep")
sweep = state.cached(sweep_lrs)(name, condition, sweep_opt, steps, (x0, y0))
sweep["shown gap"] = sweep.gap.clip(1e-12, 1e6)  # diverged runs (gap ∞) sit on the top edge
current = lr if sweep_opt in SGD_FAMILY else lr_adaptive
points = alt.Chart(sweep).mark_point(size=90, filled=True).encode(
    x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate"),
    y=alt.Y("shown gap:Q", scale=alt.Scale(type="log"), title=f"f − min f after {steps} steps"),
    color=alt.Color("kind:N", title="outcome", scale=alt.Scale(domain=["converged", "converged (zig-zag)", "still on its way", "oscillating", "diverged"],
                                                                range=["#2ca02c", "#bcbd22", "#1f77b4", "#ff7f0e", "#d62728"])),
    tooltip=["lr", alt.Tooltip("gap:Q", format=".3g"), "outcome"])
rule = alt.Chart(pd.DataFrame({"lr": [current]})).mark_rule(strokeDash=[4, 4]).encode(x="lr:Q")
st.altair_chart((points + rule).properties(height=260), width="stretch")
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
show_code(optim.SGD, optim.RMSprop, optim.Adam, optim.descend, optim.verdict)
