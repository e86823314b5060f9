import streamlit as st

from core.errors import Unavailable
from core.infra import bertviz_offline, models
from core.transformers import attention_heads as ah
from ui import model_picker, state
from ui.heatmaps import heatmap, labels, small_multiples
from ui.page import friendly_errors, header, show_code, text_box
from ui.vega import chart, draw, field

header(
    "🔬 The heads of a pretrained model",
    "A trained transformer has many attention heads (MiniLM: 6 layers × 12 heads) and they specialise: "
    "some look at the previous word, some park their attention on a special token (`[CLS]`, `[SEP]`) when "
    "they have nothing to do, some spread out over the whole sentence. Type a sentence, look at every "
    "head, let the lab **label the heads by what they look at** (after Clark et al. 2019, *What does BERT "
    "look at?*), and **switch heads off** to see what they were doing for the model.",
)

BERTVIZ_PAGES = 8  # cached BertViz pages: up to ~2 MB of HTML each (64 tokens), keep few
DEFAULT_TEXT = ("The cat sat on the mat because it was tired, and the dog, who had chased it all morning, "
                "finally went to sleep.")


lm = model_picker.load("minilm")
source = st.radio("Model", ["all-MiniLM-L6-v2 (offline, 6 × 12 heads)", "The lab's own GPT (offline, 4 × 4 heads, bytes)",
                           "A Hugging Face Hub model (online)"], horizontal=True)
if source.startswith("The lab's"):
    try:
        lm = model_picker.load(models.LAB_GPT)
    except Unavailable as e:
        st.warning(f"{e}. Showing the offline MiniLM instead.", icon="📦")
elif source.startswith("A Hugging"):
    lm = model_picker.typed(lm, "Hub id (a BERT, RoBERTa or DistilBERT encoder, or a GPT-2-style LM)", "bert-base-uncased",
                            kinds=("encoder", "causal-lm"))

text = text_box("Your sentence", DEFAULT_TEXT, area=True, height=80)

with friendly_errors():
    att = state.cached(ah.attentions)(lm, text)
    n_layers, n_heads, L, _ = att.weights.shape
    if att.truncated:
        st.info(f"Your text has {att.n_tokens} tokens; the page reads the first {L} (the most {ah.MAX_ATTENTION_TOKENS} "
                "this page draws, or the model's own limit if smaller). The rest was cut off.")
    st.caption(f"{L} tokens · {n_layers} layers × {n_heads} heads · weights recomputed from each layer's own "
               f"Q and K by the lab's `scaled_dot_product_attention`" + (" · causal: no head may look ahead" if att.causal else ""))
    names = labels(att.tokens)
    stats = ah.head_stats(att)
    head_label = stats.set_index(["layer", "head"])["label"]  # (layer, head) → its automatic label

    tab_maps, tab_head, tab_model, tab_types, tab_off = st.tabs(
        ["Heatmaps", "BertViz: head view", "BertViz: model view", "Head types", "Switch heads off"])

    with tab_maps:
        a, b = st.columns(2)
        layer = a.slider("Layer", 0, n_layers - 1, min(2, n_layers - 1))
        head = b.slider("Head", 0, n_heads - 1, 0)
        heatmap(att.weights[layer, head], names, names, f"Layer {layer}, head {head} — {head_label[layer, head]}", domain=[0, 1],
                value_title="weight")
        st.markdown(f"**All {n_heads} heads of layer {layer}** (rows: the token looking, columns: the token looked at)")
        small_multiples(att.weights[layer], [f"head {h}" for h in range(n_heads)], names, names, domain=[0, 1],
                        value_title="weight")

    if L > bertviz_offline.MAX_BERTVIZ_TOKENS:
        bertviz_note = f" BertViz shows the first {bertviz_offline.MAX_BERTVIZ_TOKENS} of the {L} tokens (more would crawl)."
    else:
        bertviz_note = ""
    with tab_head:
        st.caption("BertViz (Vig 2019), drawing offline: lines from each token to the tokens it attends to. "
                   "Pick a layer in the box; double-click a colour to show only that head; hover a token." + bertviz_note)
        st.iframe(state.cached(bertviz_offline.head_view_html, BERTVIZ_PAGES)(att.weights, att.tokens), height="content")

    with tab_model:
        st.caption("Every layer (rows) and head (columns) at once; click a thumbnail to enlarge it." + bertviz_note)
        # scaled to the width, as tall as it draws
        st.iframe(state.cached(bertviz_offline.model_view_html, BERTVIZ_PAGES)(att.weights, att.tokens), height="content")

    with tab_types:
        st.markdown("For each head, averaged over the tokens that look: the **entropy** of its weights (0 bits = "
                    "all on one token) and the **share** of attention going to `[CLS]`/the first token, `[SEP]`, "
                    f"punctuation, the previous, same and next token. A head is named after a target that gets more "
                    f"than {ah.LabelRules().dominant:.0%} on average; otherwise it is *broad* (high entropy) or *mixed*.")
        kinds = [*ah.STAT_LABELS.values(), "broad", "mixed"]
        colours = {"domain": kinds, "range": ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#d8d8d8"]}
        draw(chart(stats, {"type": "rect", "stroke": "white"}, height={"step": 34}, x="head:O", y="layer:O",
                   color=field("label:N", title="head type", scale=colours, legend={"orient": "bottom", "columns": 4}),
                   tooltip=["layer:O", "head:O", "label:N", *(field(f"{c}:Q", format=".2f") for c in stats.columns[2:-1])]))
        counts = stats["label"].value_counts()
        st.markdown(" · ".join(f"**{k}**: {v}" for k, v in counts.items()))
        st.dataframe(stats, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.2f") for c in stats.columns[2:-1]})

    with tab_off:
        st.markdown("Switch heads off (each one's output zeroed before $W_O$, what `head_mask` used to do) and see "
                    "what the model loses: for an encoder, how far the sentence embedding moves (1 − cosine between "
                    "the mean-pooled embeddings with and without the heads) and how its similarity to another "
                    "sentence changes; for GPT-2, how the next-token distribution changes (KL divergence, bits).")
        previous = head_label.index[head_label == "previous token"]
        off = st.multiselect("Heads to switch off", list(head_label.index), default=[(previous if len(previous) else head_label.index)[0]],
                             format_func=lambda lh: f"L{lh[0]} H{lh[1]} · {head_label[lh]}")
        other = None if att.causal else text_box("Compare with (sentence similarity)", "A tired cat lay on the rug.")
        if not off:
            st.info("Pick at least one head to switch off.")
        else:
            change = state.cached(ah.heads_off)(lm, text, list(off), other)
            a, b, c = st.columns(3)
            a.metric(change.measure, f"{change.effect:.4f}")
            if change.similarity:
                b.metric("similarity, all heads", f"{change.similarity[0]:.3f}")
                c.metric("similarity, heads off", f"{change.similarity[1]:.3f}",
                         delta=f"{change.similarity[1] - change.similarity[0]:+.3f}")
            if change.top is not None:
                st.dataframe(change.top.style.format({"P (all heads)": "{:.3f}", "P (heads off)": "{:.3f}"}), hide_index=True)
        if st.toggle(f"Scan all {n_layers * n_heads} heads, one at a time (one batched forward pass, a few seconds)"):
            with st.spinner(f"Switching off each of the {n_layers * n_heads} heads in turn…"):
                result = state.cached(ah.ablate_each_head, heavy=True)(lm, text)
            effect = stats[["layer", "head", "label"]].assign(effect=result.effect.ravel())
            draw(chart(effect, "rect", f"Each head off alone: {result.measure}", height={"step": 34}, x="head:O", y="layer:O",
                       color=field("effect:Q", scale={"scheme": "reds"}),
                       tooltip=["layer:O", "head:O", "label:N", field("effect:Q", format=".4f")]))
            st.caption("Most single heads barely matter (the model is redundant); a few matter a lot.")

show_code(ah.layer_weights, ah.head_stats, ah.head_mask, ah.ablate_each_head)
