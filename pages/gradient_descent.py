import pandas as pd
import streamlit as st

from core.nn import optim
from ui import state
from ui.page import header, show_code, try_this
from ui.vega import chart, draw, field, layers, lines, rule

FRAME, PLAYING = "gd.shown", "gd.playing"
TICK_S = 0.3  # while playing, the paths grow a fortieth of the run every 0.3 s

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
    st.markdown("**Start point** (type it, or use the ± steps)")
    c = st.columns(2)
    x0 = c[0].number_input("Start x", float(s.xlim[0]), float(s.xlim[1]), float(s.start[0]), step=0.1, format="%.2f",
                           key=f"gd.x0.{name}")
    y0 = c[1].number_input("Start y", float(s.ylim[0]), float(s.ylim[1]), float(s.start[1]), step=0.1, format="%.2f",
                           key=f"gd.y0.{name}")
    with st.expander("Momentum and decay rates"):
        default = optim.Settings()
        settings = optim.Settings(
            momentum=st.slider("Momentum μ (Momentum, Nesterov)", 0.0, 0.99, default.momentum, step=0.01, key="gd.mu",
                               help="How much of the last step each step keeps. 0 is plain SGD; near 1 it coasts and overshoots."),
            alpha=st.slider("RMSprop α (decay of its mean g²)", 0.5, 0.999, default.alpha, step=0.001, format="%.3f", key="gd.alpha"),
            beta1=st.slider("Adam β₁ (decay of its mean g: its momentum)", 0.0, 0.99, default.beta1, step=0.01, key="gd.b1"),
            beta2=st.select_slider("Adam β₂ (decay of its mean g²)", [0.9, 0.99, 0.999, 0.9999], default.beta2, key="gd.b2"))

if not chosen:
    st.info("No optimizer picked: showing plain SGD.", icon="ℹ️")
    chosen = ["SGD"]
config = optim.RaceConfig(name, condition, lr, lr_adaptive, steps, (x0, y0), tuple(chosen), settings)
trajectories = state.cached(optim.race)(config)
contours = state.cached(optim.surface_contours)(name, condition)

colours = {"domain": list(optim.OPTIMIZERS), "scheme": "category10"}  # one colour per optimizer on every chart
x = field("x:Q", scale={"domain": list(s.xlim), "clamp": True})
y = field("y:Q", scale={"domain": list(s.ylim), "clamp": True})
state.move(FRAME, default=steps, high=steps)  # the whole path on the first visit
playing = bool(state.recall(PLAYING))


def play_or_pause() -> None:
    """Play from step 0 when the whole path is already shown; otherwise go on from the step shown."""
    if not playing and state.recall(FRAME) >= steps:
        state.move(FRAME, to=0)
    state.remember(PLAYING, not playing)


st.button("⏸ Pause" if playing else "▶ Play the descent", on_click=play_or_pause, key="gd.play", type="primary",
          help="Watch every optimizer take its steps together, from the start point.")


@st.fragment(run_every=TICK_S if playing else None)
def descent() -> None:
    """The paths up to the step shown; while playing, each tick reruns only this part, a few steps further on."""
    if state.recall(PLAYING):
        shown = state.recall(FRAME, steps)
        if shown >= steps:  # the end: stop ticking, and redraw the page with its Play button
            state.remember(PLAYING, False)
            st.rerun(scope="app")
        state.move(FRAME, by=max(1, steps // 40), high=steps)
    shown = st.slider("Steps shown", 0, steps, key=FRAME)
    drawn = optim.paths(trajectories, upto=shown)
    left, right = st.columns([3, 2])
    draw(layers(
        chart(contours, {"type": "line", "strokeWidth": 0.7, "clip": True}, x=x, y=y, detail="line:N", order="order:Q",
              color=field("above:Q", scale={"scheme": "greys", "type": "log"}, legend=None),
              tooltip=[field("level:Q", title="f", format=".3g")]),
        chart(drawn, {"type": "line", "point": {"size": 12}, "strokeWidth": 2, "clip": True}, x=x, y=y, order="step:Q",
              color=field("optimizer:N", scale=colours),
              tooltip=["optimizer:N", "step:Q", field("x:Q", format=".4f"), field("y:Q", format=".4f")]),
        chart(drawn.groupby("optimizer").tail(1), {"type": "point", "size": 160, "filled": True, "stroke": "black", "clip": True},
              x=x, y=y, color=field("optimizer:N", scale=colours, legend=None)),  # the lines' legend says which is which
        chart(pd.DataFrame(s.minima, columns=["x", "y"]), {"type": "point", "shape": "diamond", "size": 120, "color": "black",
                                                          "filled": True}, x=x, y=y),
        chart(pd.DataFrame({"x": [x0], "y": [y0]}), {"type": "point", "shape": "circle", "size": 150, "color": "black"}, x=x, y=y),
        title=f"{s.name}: contours of f, minima ◆, start ○, step {shown}: ●", height=520,
        resolve={"legend": {"color": "independent"}}), left)  # one optimizer legend (the dots' is off), one colour scale
    with right:
        draw(layers(lines(optim.gap_curves(trajectories), "step:Q", field("gap:Q", title="f − min f", scale={"type": "log"}),
                          field("optimizer:N", scale=colours)),
                    rule(x=shown, strokeDash=[4, 4]), title="f − min f (log scale); dashed: step shown", height=420))
    st.dataframe(optim.race_summary(trajectories, config), hide_index=True, width="stretch",
                 column_config={"final f": st.column_config.NumberColumn(format="%.4g"),
                                "steps to f − min f < 0.001": st.column_config.NumberColumn(help=f"Empty: not within {steps} steps")})


descent()
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
\text{SGD:}\quad & \theta \leftarrow \theta - \eta\, g \\
\text{Momentum:}\quad & v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta v \\
\text{Nesterov:}\quad & v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta (g + \mu v) \\
\text{RMSprop:}\quad & s \leftarrow \alpha s + (1-\alpha) g^2, \qquad \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{s} + \epsilon} \\
\text{Adam:}\quad & m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2, \qquad
\theta \leftarrow \theta - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}
\end{aligned}""")
st.markdown(
    "By default μ = 0.9, α = 0.99, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (torch.optim's defaults; change them under "
    "*Momentum and decay rates*; the lab's tests check that these from-scratch optimizers follow torch.optim's "
    "trajectories to 1e-6 for 100 steps).")
try_this(
    "On the **saddle**, press **▶ Play the descent**: the start sits on the ridge, where the gradient off it is almost zero. "
    "Compare the column *steps to f − min f < 0.001*: which optimizers linger on the ridge, which escape?",
    "Open *Momentum and decay rates* and set μ to 0: Momentum's and Nesterov's rows become SGD's. Then μ = 0.99: they coast past "
    "the minimum and circle back.",
    "On the **bowl**, raise κ to 100 and set the SGD learning rate to 0.01 (under 2/κ = 0.02): SGD crawls along the flat "
    "direction; compare its row with Momentum's and Adam's. Then 0.03 (over 2/κ): SGD diverges.",
    "On **Rosenbrock**, everyone finds the curved valley quickly and then creeps along its floor: watch it with Play.",
    "On **several minima**, type other start points: which minimum you reach depends on the path, and different optimizers "
    "take different paths.",
)
show_code(optim.SGD, optim.RMSprop, optim.Adam, optim.descend, optim.race, optim.verdict)
