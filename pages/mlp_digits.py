import numpy as np
import pandas as pd
import streamlit as st

from core.foundations.evaluation import confusion_matrix
from core.nn import mlp, optim, playground
from ui import live, state
from ui.page import friendly_errors, header, show_code, text_box
from ui.pixels import pixels
from ui.vega import confusion, draw, field, layers, lines, rule

header(
    "✍️ An MLP from scratch on handwritten digits",
    "A multilayer perceptron written in NumPy (forward pass, backward pass by hand, Adam) learns "
    "scikit-learn's 1,797 8×8 handwritten digits. Then: which digits it confuses, what its first-layer "
    "units look for, how it **overfits** when it has too few examples and too many weights, and how "
    "**early stopping** (and L2, dropout) fight that.",
)

MAX_WIDTH = 512  # 64 inputs × 512 units still trains an epoch in well under a second
PRESETS = {
    "Good fit": dict(n_train=1079, widths="64", lr=0.003, batch=32, epochs=30, l2=0.0, dropout=0.0, patience=10),
    # patience 30: the validation loss is left to climb for 30 epochs (the overfitting, plain on the
    # curves), then early stopping ends the run and puts back the weights of its lowest point
    "Overfit on purpose": dict(n_train=150, widths="256", lr=0.01, batch=16, epochs=120, l2=0.0, dropout=0.0, patience=30),
}
preset_name = st.radio("Start from", list(PRESETS), horizontal=True, key="dg.preset",
                       help="Fills the form below. 'Overfit on purpose': 150 training digits, 256 hidden units, no regularisation; "
                            "early stopping lets the validation loss climb for 30 epochs, then keeps the best epoch. "
                            "Set patience to 0 to watch all 120 epochs overfit.")
p = PRESETS[preset_name]

with st.form("dg.form"):
    c = st.columns(4)
    n_train = c[0].slider("Training digits", 20, 1079, p["n_train"], key=f"dg.n.{preset_name}")
    widths = text_box("Hidden layers (widths)", p["widths"], limit=100, container=c[1], key=f"dg.w.{preset_name}")
    activation = c[2].selectbox("Activation", list(mlp.ACTIVATIONS), key=f"dg.act.{preset_name}")
    optimizer = c[3].selectbox("Optimizer", list(optim.OPTIMIZERS), index=4, key=f"dg.opt.{preset_name}")
    c = st.columns(4)
    lr = c[0].select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0, 100.0], p["lr"],
                            key=f"dg.lr.{preset_name}")
    batch = c[1].select_slider("Batch size", [8, 16, 32, 64, 128, 256], p["batch"], key=f"dg.b.{preset_name}")
    epochs = c[2].slider("Epochs", 1, 300, p["epochs"], key=f"dg.e.{preset_name}")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key=f"dg.seed.{preset_name}")
    c = st.columns(4)
    l2 = c[0].select_slider("L2 λ₂", [0.0, 1e-5, 1e-4, 1e-3, 1e-2], p["l2"], key=f"dg.l2.{preset_name}")
    dropout = c[1].slider("Dropout", 0.0, 0.8, p["dropout"], 0.05, key=f"dg.do.{preset_name}")
    patience = c[2].slider("Early stopping patience (0 = off)", 0, 50, p["patience"], key=f"dg.pat.{preset_name}",
                           help="Stop after this many epochs without a lower validation loss, and keep the best epoch's weights.")
    submitted = st.form_submit_button("Train", type="primary")

result = None
with friendly_errors():
    config = mlp.MLPConfig(hidden=playground.parse_widths(widths, max_width=MAX_WIDTH), activation=activation, optimizer=optimizer, lr=lr,
                           batch_size=batch, epochs=epochs, l2=l2, dropout=dropout, patience=patience, seed=int(seed))
    data = state.cached(mlp.digits)(n_train, int(seed))
    result = live.last("digits")
    first_visit = result is None and state.recall("digits.history") is None
    if submitted or first_visit:  # train the defaults on the first visit, so the page shows something at once
        state.remember("dg.data", data)
        result = live.train("digits", lambda on_step: mlp.fit(config, data, on_step), total_steps=config.epochs,
                            metrics=("loss", "val_loss"))

if result is not None:
    h, d = result.history, state.recall("dg.data", data)  # the split this result was trained on
    model = result.model
    test_loss, test_acc = model.evaluate(d.X_test, d.y_test, "cross_entropy")
    train_acc, val_acc = model.evaluate(d.X_train, d.y_train)[0], model.evaluate(d.X_val, d.y_val)[0]  # accuracies only
    if h.diverged:
        st.warning(f"Training diverged at epoch {h.steps[-1]}: {mlp.why_diverged(h, d.n_classes)}. The run was stopped. "
                   "Lower the learning rate.", icon="💥")
    cols = st.columns(6)
    cols[0].metric("Test accuracy", f"{test_acc:.1%}", help=f"{len(d.X_test)} digits never used for training or early stopping; "
                   f"test loss {test_loss:.3f}.")
    cols[1].metric("Train accuracy", f"{train_acc:.1%}", help=f"On the {len(d.X_train)} digits it trained on.")
    cols[2].metric("Validation accuracy", f"{val_acc:.1%}", delta=f"{100 * (val_acc - train_acc):+.1f} points vs train",
                   help=f"{len(d.X_val)} digits it never trained on, watched by early stopping. Far below train accuracy: overfitting.")
    cols[3].metric("Epochs run", f"{h.steps[-1] if h.steps else 0}")
    cols[4].metric("Kept epoch", f"{result.best_epoch}", help="The epoch whose weights the network holds: with early stopping, "
                   "the one with the lowest validation loss; otherwise the last.")
    cols[5].metric("Digits / s", f"{h.last('examples_per_s'):,.0f}" if h.steps else "–", help="Training speed: examples per second.")
    if result.early_stopped:
        st.success(f"Early stopping: the validation loss had not improved for {result.config.patience} epochs after epoch "
                   f"{result.best_epoch}, so training stopped at epoch {h.steps[-1]} and kept epoch {result.best_epoch}'s weights.",
                   icon="🛑")
    elif result.config.patience and h.steps:
        st.info(f"Early stopping watched the validation loss but never ran out of patience: of the {h.steps[-1]} epochs, "
                f"it kept epoch {result.best_epoch}'s weights, where the validation loss was lowest.", icon="🛑")

    st.subheader("Training vs validation loss: where overfitting shows")
    curves = h.frame()
    curves = curves[curves.metric.isin(["loss", "val_loss", "train_acc", "val_acc"]) & np.isfinite(curves.value)]
    curves["kind"] = np.where(curves.metric.str.endswith("acc"), "accuracy", "loss")
    curves["set"] = curves.metric.map({"loss": "train", "train_acc": "train", "val_loss": "validation", "val_acc": "validation"})
    left, right = st.columns(2)
    for column, kind in ((left, "loss"), (right, "accuracy")):
        draw(layers(lines(curves[curves.kind == kind], field("step:Q", title="epoch"), field("value:Q", title=None, scale={"zero": False}),
                          "set:N"),
                    rule(x=result.best_epoch, strokeDash=[4, 4], color="grey"), title=kind, height=250), column)
    st.caption(f"In this run {mlp.overfitting(h)}. The dashed line marks the weights kept (epoch {result.best_epoch}): "
               f"there the network gets {train_acc:.1%} of "
               f"its training digits right and {val_acc:.1%} of the validation digits.")

    pred = model.forward(d.X_test)[0].argmax(1)
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Confusion matrix (test)")
        draw(confusion(confusion_matrix(d.y_test, pred, range(10)), range(10), title=""))
    with right:
        wrong = np.flatnonzero(pred != d.y_test)
        st.subheader(f"Misclassified test digits ({len(wrong)})")
        if len(wrong):
            st.image([pixels(d.X_test[i], (8, 8)) for i in wrong[:24]], caption=[f"{d.y_test[i]} → {pred[i]}" for i in wrong[:24]],
                     clamp=True)
        else:
            st.info("None: every test digit is right.")
        st.subheader("What first-layer units look for")
        units = mlp.weight_images(model.weights[0])[:24]  # column k of W₁ is unit k's template over the 8×8 pixels
        st.image([pixels(img) for img in units], clamp=True, caption=[f"unit {k}" for k in range(len(units))])
        st.caption("Each image is one hidden unit's 64 incoming weights: white pixels push it up, black push it down, grey ≈ 0. "
                   "With L2 they get smoother; overfit networks' look like noise.")

st.subheader("The gradient of softmax + cross-entropy is p − y")
st.latex(r"""\begin{aligned}
L &= -\log p_y = -z_y + \log \textstyle\sum_j e^{z_j} \\
\frac{\partial L}{\partial z_k} &= -[k=y] + \frac{e^{z_k}}{\sum_j e^{z_j}} = p_k - y_k \qquad (y \text{ one-hot})
\end{aligned}""")
c = st.columns(3)
k = c[0].slider("Classes", 2, 10, 5, key="dg.k")
scale = c[1].slider("Logit scale", 0.1, 20.0, 2.0, key="dg.scale",
                    help="Large logits make softmax confident (and test its numerical stability).")
ce_seed = c[2].number_input("Random logits, seed", 0, 1000, 0, key="dg.ceseed")
table, gap = mlp.softmax_ce_check(k, scale, int(ce_seed))
st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
st.markdown(f"Largest difference between *p − y* and central finite differences (ε = 10⁻⁵): **{gap:.1e}**. "
            "The tests also check it against `torch.nn.functional.cross_entropy`'s autograd gradient.")
show_code(mlp.softmax_ce_grad, mlp.numerical_gradient, mlp.MLP.loss_and_grads, mlp.fit)
