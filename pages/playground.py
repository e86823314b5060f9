import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.infra import data
from core.nn import mlp, optim, playground
from ui import state
from ui.page import friendly_errors, header, show_code

header(
    "🧠 Neural-network playground",
    "A from-scratch NumPy network learns to separate 2-D points while you watch: the background is "
    "its decision boundary (colour = predicted class, strength = confidence), filled dots are training "
    "points, dots with a black ring are held-out test points. Press **Play**. Unlike TensorFlow "
    "Playground it does cross-entropy, more than two classes (softmax), dropout, several optimizers "
    "and your own CSV.",
)

TICK_S = 0.3  # how often the page redraws while playing; each tick trains for about TICK_BUDGET_S
TICK_BUDGET_S = 0.2
LRS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0]
UPLOAD = "upload a CSV"

with st.form("pg.form"):
    st.markdown("**Data and network** (applying resets the network)")
    c = st.columns(5)
    source = c[0].selectbox("Dataset", [*data.POINT_SETS, UPLOAD], index=3, key="pg.data")
    n_points = c[1].slider("Points", 50, 2000, 500, 50, key="pg.n")
    noise = c[2].slider("Noise", 0.0, 0.5, 0.1, 0.05, key="pg.noise")
    n_classes = c[3].slider("Classes (gaussians, spiral)", 2, 6, 2, key="pg.classes")
    test_pct = c[4].slider("Test %", 10, 90, 30, 10, key="pg.test")
    upload = st.file_uploader("CSV with columns x1, x2, label (for 'upload a CSV')", type=["csv", "txt"], key="pg.upload")
    c = st.columns(5)
    widths = c[0].text_input("Hidden layers (widths)", "8, 8", key="pg.widths", help="Comma-separated, e.g. '8, 8'; empty for none.")
    activation = c[1].selectbox("Activation", list(mlp.ACTIVATIONS), key="pg.act")
    loss = c[2].selectbox("Loss", mlp.LOSSES, key="pg.loss", format_func=lambda k: {"cross_entropy": "cross-entropy", "mse": "MSE"}[k])
    optimizer = c[3].selectbox("Optimizer", list(optim.OPTIMIZERS), index=4, key="pg.opt")
    lr = c[4].select_slider("Learning rate", LRS, value=0.03, key="pg.lr")
    c = st.columns(5)
    batch = c[0].select_slider("Batch size", [1, 2, 4, 8, 10, 16, 32, 64, 128, 512], value=10, key="pg.batch")
    l1 = c[1].select_slider("L1 λ₁", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1], value=0.0, key="pg.l1")
    l2 = c[2].select_slider("L2 λ₂", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1], value=0.0, key="pg.l2")
    dropout = c[3].slider("Dropout", 0.0, 0.8, 0.0, 0.05, key="pg.dropout")
    seed = c[4].number_input("Seed", 0, 10_000, 0, key="pg.seed")
    st.form_submit_button("Apply", type="primary")


trainer = None
with friendly_errors():
    if source == UPLOAD and upload is None:
        st.info("Choose a CSV file above and press Apply. Until then: the spiral.", icon="📄")
        source = "spiral"
    if source == UPLOAD:
        X, y, names = state.cached(playground.points_from_csv)(upload.getvalue())
        st.caption("Classes in your file: " + ", ".join(f"{k} = {name}" for k, name in enumerate(names)))
    else:
        X, y = state.cached(data.points)(source, n_points, noise, int(seed), n_classes)
    config = mlp.MLPConfig(hidden=playground.parse_widths(widths), activation=activation, loss=loss, optimizer=optimizer,
                           lr=lr, batch_size=batch, l1=l1, l2=l2, dropout=dropout, seed=int(seed))
    key = (config, source, n_points, noise, n_classes, test_pct, upload.file_id if upload is not None and source == UPLOAD else None)
    if state.recall("pg.key") != key or state.recall("pg.trainer") is None:
        split = mlp.split(X, y, test_pct / 100, seed=int(seed))  # a class left without training points is a LabError
        state.remember("pg.trainer", mlp.Trainer(config, split))
        state.remember("pg.key", key)
        state.remember("pg.playing", False)
    trainer: mlp.Trainer = state.recall("pg.trainer")

if trainer is not None:
    def toggle():
        state.remember("pg.playing", not state.recall("pg.playing"))

    def reset():
        state.remember("pg.trainer", mlp.Trainer(trainer.config, trainer.data))
        state.remember("pg.playing", False)

    def step():
        state.remember("pg.playing", False)
        trainer.run(1)

    playing = bool(state.recall("pg.playing"))
    c = st.columns([1, 1, 1, 5])
    c[0].button("⏸ Pause" if playing else "▶ Play", on_click=toggle, key="pg.play", type="primary")
    c[1].button("Step", on_click=step, key="pg.step", help="One epoch: one pass over the training points.")
    c[2].button("Reset", on_click=reset, key="pg.reset", help="New random weights (same seed), epoch 0.")

    @st.fragment(run_every=TICK_S if playing else None)
    def live_view():
        t: mlp.Trainer = state.recall("pg.trainer")
        if state.recall("pg.playing"):
            rate = t.history.last("steps_per_s") if t.history.steps else 20.0
            run = t.run(int(np.clip(rate * TICK_BUDGET_S, 1, 200)))
            if run.diverged:
                state.remember("pg.playing", False)
                st.rerun(scope="app")  # stop the ticking, and let the whole page say why
        draw(t)

    def draw(t: mlp.Trainer):
        h = t.history
        if h.diverged:
            st.warning(f"Training diverged at epoch {h.steps[-1]}: {mlp.why_diverged(h, t.data.n_classes)}. The steps "
                       "overshoot: lower the learning rate, then Reset.", icon="💥")
        m = h.metrics if h.steps else t.metrics()
        last = (lambda k: m[k][-1]) if h.steps else (lambda k: m[k])
        cols = st.columns(5)
        cols[0].metric("Epoch", f"{t.epoch:,}")
        cols[1].metric("Train loss", f"{last('loss'):.4f}")
        cols[2].metric("Test loss", f"{last('test_loss'):.4f}")
        cols[3].metric("Test accuracy", f"{last('test_acc'):.1%}")
        cols[4].metric("Epochs / s", f"{h.last('steps_per_s'):,.0f}" if h.steps else "–",
                       help="Full passes over the training set per second (each pass: forward, backward and update per batch).")
        left, right = st.columns([3, 2])
        grid = playground.boundary(t.model)
        d = t.data
        pts = pd.concat([pd.DataFrame({"x": d.X_train[:, 0], "y": d.X_train[:, 1], "class": d.y_train.astype(str), "set": "train"}),
                         pd.DataFrame({"x": d.X_test[:, 0], "y": d.X_test[:, 1], "class": d.y_test.astype(str), "set": "test"})])
        classes = alt.Scale(domain=[str(k) for k in range(d.n_classes)], scheme="tableau10")
        axis = alt.Scale(domain=[-1.3, 1.3], clamp=True)
        back = alt.Chart(grid).mark_rect().encode(
            x=alt.X("x:Q", scale=axis, title="x₁"), x2="x2", y=alt.Y("y:Q", scale=axis, title="x₂"), y2="y2",
            color=alt.Color("class:N", scale=classes, legend=None),
            opacity=alt.Opacity("probability:Q", scale=alt.Scale(domain=[1 / d.n_classes, 1], range=[0.0, 0.55]), legend=None))
        dots = alt.Chart(pts).mark_circle(size=28, opacity=0.95).encode(
            x="x:Q", y="y:Q", color=alt.Color("class:N", scale=classes, title="class"),
            stroke=alt.Stroke("set:N", scale=alt.Scale(domain=["train", "test"], range=["white", "black"]), title="points"),
            strokeWidth=alt.value(1))
        left.altair_chart((back + dots).properties(width=440, height=440), width="content")
        if h.steps:
            curves = h.frame()
            curves = curves[curves.metric.isin(["loss", "test_loss"])].replace({"loss": "train loss", "test_loss": "test loss"})
            curves = curves[np.isfinite(curves.value)]
            right.altair_chart(alt.Chart(curves, height=300).mark_line().encode(
                x=alt.X("step:Q", title="epoch"), y=alt.Y("value:Q", title="loss"), color="metric:N"), width="stretch")
        else:
            right.info("Press Play (or Step) to train.", icon="▶️")
        right.caption(f"{len(d.X_train)} training and {len(d.X_test)} test points, {d.n_classes} classes; network "
                      f"2 → {' → '.join(map(str, t.config.hidden)) or '(no hidden layer)'} → {d.n_classes} (softmax), "
                      f"{sum(p.size for p in t.model.params):,} parameters.")

    live_view()

st.subheader("Why cross-entropy and softmax")
st.latex(r"p_k = \frac{e^{z_k}}{\sum_j e^{z_j}},\qquad L_{\text{CE}} = -\log p_y,\qquad "
         r"\frac{\partial L_{\text{CE}}}{\partial z_k} = p_k - [k = y],\qquad L_{\text{MSE}} = \sum_k \big(p_k - [k=y]\big)^2")
st.markdown(
    "The cross-entropy gradient at the logits is just *p − y* (derived and checked on the digits page): a "
    "confidently wrong prediction gets a gradient near 1. The squared error of the same probabilities is "
    "multiplied by softmax's slope, which vanishes exactly when the prediction is confidently wrong, so MSE "
    "learns slower from its worst mistakes. Try both on the spiral. Also try: ReLU vs tanh, dropout 0.5 on a "
    "noisy set (the boundary gets smoother and the test loss stays closer to the training loss), a learning "
    "rate of 100 with SGD (it diverges, and the page stops it), 4 classes of spiral.")
show_code(mlp.MLP.forward, mlp.MLP.loss_and_grads, mlp.Trainer.train_epoch)
