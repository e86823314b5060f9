import streamlit as st

from core.infra import data
from core.nn import mlp, optim, playground
from ui import decision_boundary, live, state
from ui.page import friendly_errors, header, literal, show_code, text_box, try_this

header(
    "🧠 Neural-network playground",
    "A from-scratch NumPy network learns to separate 2-D points while you watch: the background is "
    "its decision boundary (colour = predicted class, strength = confidence), dots with a white ring are training "
    "points, dots with a black ring held-out test points. Press **Play**, and turn the learning rate or the "
    "regularisation while it plays. Data and network are in the sidebar. Unlike TensorFlow Playground it does "
    "cross-entropy, more than two classes (softmax), dropout, several optimizers and your own CSV.",
)

TICK_S = 0.3  # how often the page redraws while playing; each tick trains for about TICK_BUDGET_S
TICK_BUDGET_S = 0.2
LRS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0]
UPLOAD = "upload a CSV"

with st.sidebar.form("pg.form"):
    st.markdown("**Data and network** (Apply starts a fresh network)")
    source = st.selectbox("Dataset", [*data.POINT_SETS, UPLOAD], index=3, key="pg.data")
    n_points = st.slider("Points", 50, 2000, 500, 50, key="pg.n")
    noise = st.slider("Noise", 0.0, 0.5, 0.1, 0.05, key="pg.noise")
    n_classes = st.slider("Classes (gaussians, spiral)", 2, 6, 2, key="pg.classes")
    test_pct = st.slider("Test %", 10, 90, 30, 10, key="pg.test")
    upload = st.file_uploader("CSV with columns x1, x2, label (for 'upload a CSV')", type=["csv", "txt"], key="pg.upload")
    widths = text_box("Hidden layers (widths)", "8, 8", limit=100, key="pg.widths", help="Comma-separated, e.g. '8, 8'; empty for none.")
    activation = st.selectbox("Activation", list(mlp.ACTIVATIONS), key="pg.act")
    loss = st.selectbox("Loss", mlp.LOSSES, key="pg.loss", format_func=lambda k: {"cross_entropy": "cross-entropy", "mse": "MSE"}[k])
    optimizer = st.selectbox("Optimizer", list(optim.OPTIMIZERS), index=4, key="pg.opt")
    batch = st.select_slider("Batch size", [1, 2, 4, 8, 10, 16, 32, 64, 128, 512], value=10, key="pg.batch")
    seed = st.number_input("Seed", 0, 10_000, 0, key="pg.seed")
    st.form_submit_button("Apply", type="primary", key="pg.apply")

# the knobs TensorFlow Playground lets you turn while it trains: they change the running network, no reset
c = st.columns(4)
lr = c[0].select_slider("Learning rate", LRS, value=0.03, key="pg.lr")
l1 = c[1].select_slider("L1 λ₁", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1], value=0.0, key="pg.l1")
l2 = c[2].select_slider("L2 λ₂", [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1], value=0.0, key="pg.l2")
dropout = c[3].slider("Dropout", 0.0, 0.8, 0.0, 0.05, key="pg.dropout")

trainer, names = None, None
with friendly_errors():
    if source == UPLOAD and upload is None:
        st.info("Choose a CSV file in the sidebar and press Apply. Until then: the spiral.", icon="📄")
        source = "spiral"
    if source == UPLOAD:
        X, y, names, ranges = state.cached(playground.points_from_csv)(upload.getvalue())
        st.caption("Classes in your file: " + ", ".join(f"{k} = {literal(name)}" for k, name in enumerate(names)) + ". Your coordinates "
                   f"were rescaled into [−1, 1] like the built-in sets: x1 from [{ranges[0][0]:g}, {ranges[0][1]:g}], "
                   f"x2 from [{ranges[1][0]:g}, {ranges[1][1]:g}].")
    else:
        X, y = state.cached(data.points)(source, n_points, noise, int(seed), n_classes)
    config = mlp.MLPConfig(hidden=playground.parse_widths(widths), activation=activation, loss=loss, optimizer=optimizer,
                           lr=lr, batch_size=batch, l1=l1, l2=l2, dropout=dropout, seed=int(seed))
    key = (config.hidden, activation, loss, optimizer, batch, int(seed), source, n_points, noise, n_classes, test_pct,
           upload.file_id if upload is not None and source == UPLOAD else None)
    if state.recall("pg.key") != key or state.recall("pg.trainer") is None:
        split = mlp.split(X, y, test_pct / 100, seed=int(seed))  # a class left without training points is a LabError
        state.remember("pg.trainer", mlp.Trainer(config, split))
        state.remember("pg.key", key)
        state.remember("pg.playing", False)
    trainer: mlp.Trainer = state.recall("pg.trainer")
    trainer.retune(lr, l1, l2, dropout)  # a new learning rate or penalty takes effect from the next step

if trainer is not None:
    live.play("pg", lambda t: decision_boundary.view(t, names), TICK_S, TICK_BUDGET_S)

st.subheader("Why cross-entropy and softmax")
st.latex(r"p_k = \frac{e^{z_k}}{\sum_j e^{z_j}},\qquad L_{\text{CE}} = -\log p_y,\qquad "
         r"\frac{\partial L_{\text{CE}}}{\partial z_k} = p_k - [k = y],\qquad L_{\text{MSE}} = \sum_k \big(p_k - [k=y]\big)^2")
st.markdown(
    "The cross-entropy gradient at the logits is just *p − y* (derived and checked on the digits page): a "
    "confidently wrong prediction gets a gradient near 1. The squared error of the same probabilities is "
    "multiplied by softmax's slope, which vanishes exactly when the prediction is confidently wrong, so MSE "
    "learns slower from its worst mistakes.")
try_this(
    "On the **spiral**, press **Play** with cross-entropy; then choose MSE in the sidebar, Apply, and Play again: compare the "
    "epochs each needs to reach the same test loss.",
    "While it plays, drag the **learning rate** up to 3 and watch the loss curve, then back to 0.03: the same network keeps "
    "training (no reset), only its step size changed.",
    "Pick a **noisy** set (noise 0.4), set **Dropout** to 0.5 while it trains, and compare the gap between the train and test losses.",
    "Look **inside the network**: the first hidden layer's maps are straight edges (one line each); the second layer bends them.",
    "Choose **SGD** with **ReLU**, Apply, Play, and raise the learning rate to 100: it diverges, and the page stops it and says why.",
)
show_code(mlp.MLP.forward, mlp.MLP.loss_and_grads, mlp.Trainer.train_epoch)
