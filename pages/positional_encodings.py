import streamlit as st

from core.transformers import positional
from ui import state, vega
from ui.heatmaps import heatmap
from ui.page import friendly_errors, header, show_code
from ui.vega import draw

header(
    "📍 Positional encodings",
    "Attention sees a **set** of vectors: shuffle the words and the outputs just shuffle along (see the "
    "*Attention, step by step* page). Word order has to be put in. Four ways models do it, each drawn "
    "as its matrix and as **how alike two positions are as a function of their distance**.",
)

c1, c2, c3 = st.columns(3)
n = c1.slider("Positions drawn", 8, 128, 64, step=8)
d = c2.select_slider("Dimension d (sinusoidal, RoPE)", [8, 16, 32, 64, 128, 256], 64)
base = c3.select_slider("Base (sinusoidal, RoPE)", [100, 1_000, 10_000, 100_000], 10_000)
MAX_DISTANCE = 256  # the distance curves look further than the matrices show

sinus, learned, rope_tab, alibi_tab, together = st.tabs(["Sinusoidal", "Learned (MiniLM)", "RoPE", "ALiBi", "All four"])
with sinus:
    st.latex(r"PE_{p,2i} = \sin\!\left(p / \mathrm{base}^{2i/d}\right),\quad PE_{p,2i+1} = \cos\!\left(p / \mathrm{base}^{2i/d}\right)")
    st.markdown("Each pair of features is a clock running at its own speed: fast ones on the left tell neighbours "
                "apart, slow ones on the right tell the rough place. No parameters, any length.")
# absolute encodings: name → (tab, table of position vectors, features drawn, name of its curve in "All four")
absolute = {"Sinusoidal": (sinus, positional.sinusoidal(MAX_DISTANCE + 1, d, base), d, "sinusoidal")}
with learned:
    st.markdown("BERT, GPT-2 and MiniLM simply **learn** one vector per position (MiniLM: 512 × 384), trained "
                "with the rest of the model. Below are MiniLM's real ones: the model taught itself that nearby "
                "positions should look alike — and it cannot go beyond position 511.")
    with friendly_errors():
        table = state.model("minilm").model.embeddings.position_embeddings.weight.detach()
        absolute["Learned"] = (learned, table[: MAX_DISTANCE + 1], 64, "learned (MiniLM)")

curves = {}
for name, (tab, pe, features, curve) in absolute.items():  # each: its matrix, cosine similarities, similarity by distance
    with tab:
        a, b = st.columns(2)
        with a:
            note = f"first {features} of {pe.shape[1]} features" if features < pe.shape[1] else f"d = {pe.shape[1]}"
            heatmap(pe[:n, :features].numpy(), None, None, f"{name}: position × feature ({note})", scheme="redblue",
                    row_title="position", height=360, col_title="feature", domain=[-1, 1] if name == "Sinusoidal" else None)
        sim = positional.cosine_matrix(pe)
        with b:
            heatmap(sim[:n, :n].numpy(), None, None, "cosine similarity between positions", scheme="viridis",
                    row_title="position", height=360, col_title="position", domain=[-1, 1], show_col_labels=False)
        curves[curve] = positional.similarity_vs_distance(sim, MAX_DISTANCE)
        draw(vega.curves({name: curves[curve]}, "distance", "mean cosine similarity"))

with rope_tab:
    st.latex(r"\mathrm{RoPE}(x, p)_{[i,\,i+d/2]} = "
             r"\begin{pmatrix}\cos p\theta_i & -\sin p\theta_i\\ \sin p\theta_i & \cos p\theta_i\end{pmatrix}"
             r"\begin{pmatrix}x_i\\ x_{i+d/2}\end{pmatrix},\quad \theta_i = \mathrm{base}^{-2i/d}")
    st.markdown("Llama, SmolLM2 and most recent LLMs **rotate** q and k instead of adding anything: the score "
                "q·k then depends only on the *distance* m − n. The matrix shows cos(p θᵢ) — how far each pair has "
                "turned; the curve is q·k for q = k = (1, …, 1) as they move apart (RoFormer's long-range decay).")
    a, b = st.columns(2)
    with a:
        heatmap(positional.angles(n, d, base).cos().numpy(), None, None, "cos(p·θᵢ): position × rotation pair",
                scheme="redblue", row_title="position", height=360, col_title="pair i", domain=[-1, 1])
    with b:
        heatmap(positional.rope_scores(n, d, base).numpy(), None, None, "q·k / d after RoPE (q = k = ones)", scheme="viridis",
                row_title="query position", height=360, col_title="key position", show_col_labels=False)
    curves["RoPE (q·k / d)"] = positional.rope_score_vs_distance(d, MAX_DISTANCE, base)
    draw(vega.curves({"RoPE": curves["RoPE (q·k / d)"]}, "distance", "q·k / d"))

with alibi_tab:
    st.latex(r"\mathrm{score}_{ij} = \frac{q_i\cdot k_j}{\sqrt d} - m_h\,(i-j)\quad (j \le i)")
    st.markdown("ALiBi (BLOOM, MPT) adds nothing to the vectors: each head subtracts a penalty growing **linearly "
                "with distance**, with its own slope — steep heads look locally, gentle heads far away.")
    st.latex(r"H = 2^k:\quad m_h = 2^{-8(h+1)/H},\quad h = 0,\dots,H-1")
    st.markdown(r"For other head counts (BLOOM's rule, from the paper): take the slopes of the nearest smaller power of "
                r"two, $n = 2^{\lfloor \log_2 H \rfloor}$, then add the first $H - n$ of the slopes a model with $2n$ heads "
                r"would have that fall **between** them, $2^{-4(2k-1)/n}$ for $k = 1,\dots,H-n$.")
    heads = st.slider("ALiBi heads", 1, 16, 8)
    slopes = positional.alibi_slopes(heads)
    state.move("pe.alibi_head", high=heads - 1)  # the head drawn stays drawn when the count changes, if it still exists
    if heads > 1:
        head = st.slider("Head to draw", 0, heads - 1, key="pe.alibi_head")
    else:
        head = 0
    st.caption(f"Slopes of the {heads} heads: " + ", ".join(f"{m:.4g}" for m in slopes.tolist()))
    bias = positional.alibi_bias(heads, n)
    a, b = st.columns(2)
    with a:
        heatmap(bias[head].numpy(), None, None, f"bias of head {head} (slope {slopes[head]:.4f}; blank: future keys, masked)",
                scheme="viridis", row_title="query position", height=360, col_title="key position", show_col_labels=False)
    with b:
        factors = positional.alibi_factor_vs_distance(heads, MAX_DISTANCE)
        draw(vega.curves({f"head {h}": f for h, f in enumerate(factors)}, "distance", "weight factor exp(bias)"))
    curves[f"ALiBi head {heads // 2} (exp bias)"] = factors[heads // 2]

with together:
    st.markdown("How alike (or how favoured) is a position *k* steps away? Sinusoidal and learned encodings decay "
                "and wobble, ALiBi decays exactly exponentially in the softmax. The RoPE curve lies **exactly on** "
                "the sinusoidal one (you only see one line): both are the average of cos(k·θᵢ) over the "
                "frequencies — RoPE applies the same clocks as a rotation of q and k instead of adding them.")
    draw(vega.curves(curves, "distance", "similarity"))

show_code(positional.sinusoidal, positional.rope, positional.alibi_slopes, positional.alibi_bias, positional.similarity_vs_distance)
