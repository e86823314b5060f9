from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from core.llm import lora_toy
from core.llm.lora import LoRALinear
from ui import state
from ui.heatmaps import heatmap
from ui.page import header, show_code
from ui.vega import draw, field, layers, lines, rule

header(
    "🧩 LoRA from scratch: the rank-r update",
    "LoRA learns a change to a frozen weight as a product **B·A** of two thin matrices. How much can such a "
    "rank-r change express? Here a frozen 64 × 64 layer W₀ must learn a change ΔW* **whose rank you choose**; "
    "the lab's 40-line `LoRALinear` learns it from input/output pairs. When r reaches the true rank the "
    "loss goes to zero; below it, the loss stops at the **Eckart–Young bound**, the energy in the directions "
    "a rank-r matrix can't reach. The real fine-tuning run is on the next page.",
)
st.latex(r"h = W_0x + \tfrac{\alpha}{r}BAx,\qquad "
         r"\mathcal{L} = \tfrac{1}{d_{out}}\,\mathbb{E}_x\lVert(\Delta W^* - \tfrac{\alpha}{r}BA)\,x\rVert^2"
         r" \;\ge\; \tfrac{1}{d_{out}}\sum_{i>r}\sigma_i(\Delta W^*)^2")

with st.form("lora_update.form"):
    c = st.columns(4)
    true_rank = c[0].slider("True rank of the change ΔW*", 1, 32, 8, key="lu.k")
    decay = c[1].slider("Decay of its singular values", 0.3, 1.0, 0.6, 0.05, key="lu.decay",
                        help="σᵢ = decayⁱ: at 1.0 every direction matters equally")
    noise = c[2].slider("Full-rank noise in ΔW*", 0.0, 0.5, 0.0, 0.05, key="lu.noise",
                        help="Real fine-tuning changes are not exactly low rank")
    r = c[3].select_slider("LoRA rank r", [1, 2, 4, 8, 16, 32, 64], 4, key="lu.r")
    c = st.columns(4)
    alpha = c[0].select_slider("Alpha α", [1, 2, 4, 8, 16, 32, 64], 8, key="lu.alpha")
    lr = c[1].select_slider("Learning rate (Adam)", [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0], 1e-2, format_func=lambda v: f"{v:g}", key="lu.lr")
    steps = c[2].slider("Steps", 50, 1000, 300, 50, key="lu.steps")
    c[3].form_submit_button("Train", type="primary")

config = lora_toy.ToyConfig(true_rank=true_rank, decay=decay, noise=noise, r=r, alpha=float(alpha), lr=lr, steps=steps)
with st.spinner("Training the LoRA layer…"):
    result = state.cached(lora_toy.fit)(config)  # a second or less; cached per setting

m = st.columns(4)
m[0].metric("Loss after training", f"{result.final_loss:.2e}")
m[1].metric("Least possible loss at rank r", f"{result.bound:.2e}")
m[2].metric("Trainable: r·(d_in + d_out)", f"{result.trainable:,}",
            f"{result.trainable / result.true_delta.size:.0%} of a full ΔW", delta_color="off")
m[3].metric("Rank of learned ΔW", result.learned_rank)
if result.history.diverged:
    st.warning("The loss became infinite or NaN and training stopped: lower the learning rate.", icon="💥")
elif not result.converged:
    st.info("Training has not reached the bound yet: more steps, or a larger learning rate, would get closer.", icon="⏳")

c = st.columns(2)
loss = result.history.frame().query("metric == 'loss'")
draw(layers(lines(loss, "step:Q", field("value:Q", title="loss", scale={"type": "log"})),
            rule(y=max(result.bound, 1e-12), strokeDash=[6, 4], color="gray"),
            title="Training loss (log scale); dashed: the Eckart–Young bound", height=300), c[0])
k = 24
sv = pd.concat([pd.DataFrame({"i": np.arange(1, k + 1), "σ": np.maximum(s[:k], 1e-9), "matrix": name})
                for s, name in ((result.true_singular, "ΔW* (needed)"), (result.learned_singular, "learned (α/r)·B·A"))])
draw(lines(sv, field("i:Q", title="index"), field("σ:Q", scale={"type": "log"}), "matrix:N", point=True,
           title="Singular values (first 24, log scale)", height=300, tooltip=["matrix:N", "i:Q", field("σ:Q", format=".3g")]), c[1])
k_last = result.reachable_rank - 1  # the smallest direction rank r can reach: the last to be learned
if result.converged:
    st.caption(f"The learned update copies the top {result.reachable_rank} singular values of ΔW* (each within "
               f"{lora_toy.COPY_RTOL:.0%} of its own size; the smallest, σ{k_last + 1} = {result.true_singular[k_last]:.3g}, is learned as "
               f"{result.learned_singular[k_last]:.3g}) and has nothing beyond r = {r}: gradient descent on B·A finds the best "
               "rank-r approximation, which the SVD would give in one step.")
elif not result.history.diverged:
    k = result.copied  # the first direction not yet copied
    st.caption(f"Not converged: the learned update has copied {k} of the {result.reachable_rank} singular values of ΔW* "
               f"that rank r = {r} can reach (within {lora_toy.COPY_RTOL:.0%} each); σ{k + 1} = {result.true_singular[k]:.3g} "
               f"is learned as {result.learned_singular[k]:.3g} so far.")

ranks = np.arange(1, 33)
bounds = pd.DataFrame({"r": ranks, "least loss": np.maximum(lora_toy.least_losses(result.true_delta, ranks), 1e-12)})
draw(layers(lines(bounds, "r:Q", field("least loss:Q", scale={"type": "log"}), point=True,
                  tooltip=["r:Q", field("least loss:Q", format=".3g")]),
            rule(x=r, color="orange"),
            title="The least loss at each rank r (Eckart–Young) for this ΔW*; orange: your r; zero drawn at 1e-12", height=300))

c = st.columns(2)
scale = float(np.abs(result.true_delta).max())  # one colour scale for both: the same colour is the same number
for column, matrix, title in ((c[0], result.true_delta, "ΔW* (what the task needs)"),
                              (c[1], result.learned_delta, "(α/r)·B·A (what LoRA learned)")):
    with column:
        heatmap(matrix, title=title, scheme="redblue", domain=[-scale, scale], row_title="output", col_title="input", height=360)

if st.button("Sweep: train at every rank r = 1, 2, 4 … 32", key="lu.sweep"):
    rows = []
    progress = st.progress(0.0)
    for i, q in enumerate([1, 2, 4, 8, 16, 32]):
        swept = state.cached(lora_toy.fit)(replace(config, r=q))
        rows.append({"r": q, "loss after training": swept.final_loss, "Eckart–Young bound": swept.bound,
                     "directions copied": f"{swept.copied} of {swept.reachable_rank}", "converged": swept.converged})
        progress.progress((i + 1) / 6, text=f"r = {q}")
    progress.empty()
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2e") for c in ("loss after training", "Eckart–Young bound")})
    unconverged = [row["r"] for row in rows if not row["converged"]]
    st.caption(f"Directions copied: the leading singular values of ΔW* the learned update matches within {lora_toy.COPY_RTOL:.0%}, "
               "of those rank r can reach. " + (f"Not converged at r = {', '.join(map(str, unconverged))}: some direction it can "
                                                 "reach is still short; more steps (or a larger learning rate) would copy it."
                                                 if unconverged else "Every rank converged."))

show_code(LoRALinear, lora_toy.task, lora_toy.fit, lora_toy.eckart_young, lora_toy.least_losses)
