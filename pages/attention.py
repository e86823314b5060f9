import pandas as pd
import streamlit as st

from core.transformers import attention_demo as demo
from core.transformers.attention import MultiHeadAttention, attention_steps, merge_heads
from core.transformers.attention_demo import MAX_STEP_TOKENS, StepConfig, equivariance, multi_head, scaling_effect, step_by_step
from ui import state
from ui.heatmaps import heatmap, labels, small_multiples
from ui.page import friendly_errors, header, literal, show_code, text_box
from ui.vega import bars, draw, field

header(
    "🔦 Attention, step by step",
    "Each word asks a question (its **query**), advertises what it holds (its **key**) and offers "
    "content (its **value**). A word's new vector is an average of all values, weighted by how well "
    "its query matches each key. Type a sentence and follow every matrix: the word vectors are "
    "MiniLM's real embeddings, and $W_Q, W_K, W_V$ are the trained weights of one of its 12 heads.",
)
st.latex(r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}} + M\right)V")
st.latex(r"Q = XW_Q,\quad K = XW_K,\quad V = XW_V")

text = text_box("Your sentence", "The animal didn't cross the street because it was too tired.", limit=500)
head = st.slider("Head of MiniLM's first layer", 0, 11, 4)
t1, t2, t3 = st.columns(3)
causal = t1.toggle("Causal mask", False, help="GPT-style: each word may only look at itself and earlier words")
scaled = t2.toggle("Divide by √d", True, help="switch off to watch the softmax saturate")
positions = t3.toggle("Positions", False, help="add MiniLM's learned position embeddings to the word vectors")
cfg = StepConfig(head=head, causal=causal, scaled=scaled, positions=positions)

with friendly_errors():
    encoder = state.model("minilm")
    sent, steps = step_by_step(encoder, text, cfg)
    if sent.truncated:
        st.info(f"Your text has {sent.n_tokens} word pieces; this walk-through uses the first {MAX_STEP_TOKENS} "
                "so every heatmap stays readable.")
    names = labels(sent.tokens)
    L, d = steps.q.shape

    st.subheader("1 · Word vectors X")
    st.caption(f"X: ({L} tokens × {sent.x.shape[1]} features): one row per word piece"
               + (" (word + position embedding)" if positions else " (no position information: just the words)"))
    heatmap(sent.x.numpy(), names, None, scheme="redblue", row_title="token", col_title="feature", domain=[-3, 3])

    st.subheader("2 · Queries, keys and values")
    st.caption(f"Q = X W_Q, K = X W_K, V = X W_V: each ({L} × {d}); W_Q is ({sent.x.shape[1]} × {d}) — this head's slice of the layer.")
    for column, (name, m) in zip(st.columns(3), (("Q", steps.q), ("K", steps.k), ("V", steps.v))):
        with column:
            heatmap(m.numpy(), names, None, title=f"{name}  ({L} × {d})", scheme="redblue", row_title="token", col_title="feature")

    st.subheader("3 · Scores, scaling" + (", mask" if causal else "") + ", softmax")
    classic = next((n for n in names if n.split(" ", 1)[1] == "it"), names[-1])  # the classic question: what does "it" look at?
    picked = st.pills("Click a token to follow its row (its query against every key)", names, default=classic, key="att.pick")
    score = dict(scheme="viridis", value_title="score")
    panels = [(steps.scores, names, "Scores Q Kᵀ", score),
              (steps.scaled, names, f"Scaled: Q Kᵀ × {steps.scale:.3f}" + ("" if scaled else " (no 1/√d)"), score)]
    if causal:
        panels.append((steps.masked, names, "Causal mask: future keys → −∞ (blank)", score))
    panels += [(steps.weights, names, "Softmax: attention weights (rows sum to 1)", dict(domain=[0, 1], value_title="weight",
                                                                                         highlight=picked)),
               (steps.output, None, f"Output = weights · V  ({L} × {d})", dict(scheme="redblue", row_title="token", col_title="feature"))]
    for i in range(0, len(panels), 2):  # two per row, in the order the computation runs
        for column, (m, cols, title, kw) in zip(st.columns(2), panels[i:i + 2]):
            with column:
                heatmap(m.numpy(), names, cols, title, **kw)

    if picked:
        q = names.index(picked)
        top = demo.where_it_looks(steps.weights, q)
        looks = ", ".join(f"**{w:.0%}** on “{literal(sent.tokens[k])}” ({k})" for k, w in top)
        st.markdown(f"**{literal(sent.tokens[q])}** (row {q}) puts {looks}. Its output is that mix of the values: output[{q}] = "
                    + " + ".join(f"{w:.2f}·v[{k}]" for k, w in top) + " + … (the other keys' weights).")

    # the scaling control's point in numbers: the same head with and without 1/√d
    st.dataframe(scaling_effect(steps.q, steps.k, steps.v, causal), hide_index=True)
    st.caption(f"Dot products of {d}-dimensional vectors grow like √{d} ≈ {d ** 0.5:.1f}; without the division the "
               "softmax sees larger numbers, puts almost all weight on one key and its gradients vanish.")

    st.divider()
    st.subheader("Multi-head attention: split, attend, concatenate")
    st.latex(r"\mathrm{head}_i = \mathrm{Attention}(XW_Q^{(i)}, XW_K^{(i)}, XW_V^{(i)})")
    st.latex(r"\mathrm{MHA}(X) = [\mathrm{head}_1;\dots;\mathrm{head}_{12}]\,W_O")
    sent, parts = multi_head(encoder, text, cfg)
    n_heads, dh = parts.q.shape[1], parts.q.shape[-1]
    st.markdown(f"Q = X W_Q is ({L} × {n_heads * dh}); **split** into {n_heads} heads of ({L} × {dh}) — columns "
                f"0–{dh - 1} are head 0, {dh}–{2 * dh - 1} head 1, … Each head attends on its own; their outputs "
                f"({n_heads} × ({L} × {dh})) are **concatenated** back to ({L} × {n_heads * dh}) and mixed by W_O.")
    heatmap(merge_heads(parts.q)[0].numpy(), names, [f"h{i // dh}·{i % dh}" for i in range(n_heads * dh)],
            f"Q, all heads side by side ({L} × {n_heads * dh})",
            scheme="redblue", row_title="token", col_title="head · feature")
    small_multiples(parts.weights[0].numpy(), [f"head {i}" for i in range(n_heads)], names, names, domain=[0, 1],
                    value_title="weight")
    a, b = st.columns(2)
    with a:
        heatmap(parts.concat[0].numpy(), names, None, f"Concatenated heads ({L} × {n_heads * dh})", scheme="redblue",
                row_title="token", col_title="head · feature")
    with b:
        heatmap(parts.output[0].numpy(), names, None, f"After W_O ({L} × {n_heads * dh})", scheme="redblue",
                row_title="token", col_title="feature")

    st.divider()
    st.subheader("Shuffle the words: attention alone cannot tell the order")
    st.markdown("Attention compares every pair of vectors, with no notion of *where* they sit. Shuffle the tokens "
                "and, **without positions**, each output is exactly the output its word had before, just moved. "
                "**With position embeddings** added, the same words in new places give different outputs.")
    seed = st.number_input("Shuffle seed", 0, 10_000, 1)
    eq = equivariance(encoder, text, seed=int(seed))
    st.markdown("Shuffled: **" + literal(" ".join(eq.tokens)) + "**")
    a, b = st.columns(2)
    a.metric("Without positions: max |MHA(shuffled) − shuffled MHA|", f"{eq.gap_without:.1e}")
    b.metric("With positions", f"{eq.gap_with:.2f}")
    first = next(i for i, j in enumerate(eq.perm) if i != j)  # the first slot whose token moved (slot 0, unless the shuffle left it)
    st.markdown(f"Why does the token in slot {first} change? *{literal(eq.tokens[first])}* came from slot {eq.perm[first]}. Attention "
                "has no first or last token: the shuffle moves every slot, slot 0 included. Without positions "
                f"*{literal(eq.tokens[first])}* is the same vector wherever it sits, so its output is the one it had in slot "
                f"{eq.perm[first]}, just moved (a gap of {eq.per_token_without[first]:.1e}). With positions it now carries slot "
                f"{first}'s position vector instead of slot {eq.perm[first]}'s, so every query scores it differently and its "
                f"output changes by {eq.per_token_with[first]:.2f} (the bar of `{first}` below).")
    gap = pd.DataFrame({"token": labels(eq.tokens), "change with positions": eq.per_token_with})
    draw(bars(gap, field("token:N", sort=None), "change with positions:Q", height=200,
              tooltip=["token:N", field("change with positions:Q", format=".3f")]))

show_code(attention_steps, MultiHeadAttention, scaling_effect, equivariance)
