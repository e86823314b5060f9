from functools import partial

import pandas as pd
import streamlit as st

from core.infra import data
from core.lm.markov_chain import MAX_ORDER, MarkovChain, compare_orders, fit_chain
from core.lm.markov_matrix import AGREE, letter_chain, stationary_distribution
from ui import state
from ui.page import friendly_errors, header, literal, scroll_box, show_code
from ui.vega import draw, field, lines, table_heatmap

header(
    "⛓️ Markov chains",
    "The **Markov assumption**: the next token depends only on the last *k* tokens. Count which token "
    "follows each context in a corpus and you have a language model that can write. Small *k* writes "
    "varied nonsense; large *k* writes fluent text, because most long contexts occurred **once** and so "
    "allow one continuation: the model copies its corpus. That sparsity is why n-gram models hit a wall "
    "and neural language models (which share strength between similar contexts) took over.",
)
st.latex(r"P(t_i \mid t_1 \dots t_{i-1}) \approx P(t_i \mid t_{i-k} \dots t_{i-1}) = "
         r"\frac{\text{count}(t_{i-k} \dots t_{i-1}\, t_i)}{\text{count}(t_{i-k} \dots t_{i-1})}")

CORPORA = {"python-docs": "Python's reference manual (English)", "markov": "Synthetic Markov text (order 2, 16 words)",
           "upload": "Your own text file"}

c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
corpus = c1.selectbox("Corpus", list(CORPORA), format_func=CORPORA.get)
level = c2.radio("Tokens", ["char", "word"], format_func=lambda v: "characters" if v == "char" else "words", horizontal=True)
length = c3.slider("Sample length (tokens)", 20, 600, 250 if level == "char" else 60, step=10)
seed = c4.number_input("Seed", 0, 10_000, 0)

with friendly_errors():
    if corpus == "upload":
        upload = st.file_uploader("A UTF-8 text file", type=["txt", "md", "csv"], key="markov.upload")
        if upload is None:
            st.info("Upload a text file to train the chains on it.")
            st.stop()
        text = data.text_from_upload(upload.getvalue(), upload.name)
    else:
        text = state.text(corpus)

    chain_of_order = partial(state.shared(fit_chain), text, level)  # chain_of_order(k): fitted once per server, then only sampled

    st.caption(f"{len(chain_of_order(1).ids):,} {'characters' if level == 'char' else 'words and punctuation marks'} of training text.")

    st.subheader("Orders 1 to 5, side by side")
    samples = compare_orders(chain_of_order, level, range(1, 6), length, int(seed))
    for column, s in zip(st.columns(5), samples):
        with column:
            st.markdown(f"**k = {s.order}**")
            if s.error:
                st.info(s.error)
                continue
            scroll_box(s.text)
            contexts = s.sparsity["contexts"]
            st.caption(f"{contexts:,.0f} context{'s' * (contexts != 1)} · {s.sparsity['seen once']:.0%} seen once · "
                       f"{s.sparsity['one continuation']:.0%} with one possible next token")
    fitted = [s for s in samples if not s.error]
    if fitted:
        sparsity = pd.DataFrame([{"k": s.order, "measure": m, "share": s.sparsity[m]}
                                 for s in fitted for m in ("seen once", "one continuation")])
        draw(lines(sparsity, field("k:O", axis={"labelAngle": 0}), field("share:Q", axis={"format": "%"}, scale={"domain": [0, 1]}),
                   field("measure:N", title=None), "Sparsity grows with k: contexts seen once, and with only one continuation",
                   200, point=True))

    with st.expander(f"Any order up to {MAX_ORDER}"):
        k = st.slider("Order k", 1, MAX_ORDER, 8)
        s = compare_orders(chain_of_order, level, (k,), length, int(seed))[0]
        if s.error:
            st.info(s.error)
        else:
            st.markdown(literal(s.text))
            st.caption(f"{s.sparsity['seen once']:.0%} of {s.sparsity['contexts']:,.0f} contexts seen once. "
                       "Counting uses memory in proportion to the corpus, whatever k is.")

    st.subheader("A small state space: letters")
    st.markdown("With 27 states (a–z and space, order 1) the whole model fits in one matrix. Row *i* is the "
                "distribution of the letter after letter *i*. Run the chain long enough and the share of time it "
                "spends in each state settles to the **stationary distribution** π, the solution of π P = π.")
    alpha = st.select_slider("Add-alpha smoothing of the letter counts", [0.0, 0.1, 1.0, 10.0, 100.0], value=0.0)
    chain = state.cached(letter_chain)(text, alpha)
    labels = ["␣" if s == " " else s for s in chain.states]
    left, right = st.columns([3, 2])
    draw(table_heatmap(pd.DataFrame(chain.P, index=labels, columns=labels), "Transition matrix P(next | current)",
                       x_title="next", y_title="current", text=False, cell=20, legend_title="P(next | current)"), left)
    pi = pd.concat([pd.DataFrame({"state": labels, "share": v, "estimate": name})
                    for name, v in (("π solved from P", chain.stationary), ("simulated 1,000 chains", chain.simulated),
                                    ("letter frequency in the text", chain.observed))])
    draw({"title": "Stationary distribution", "data": pi, "height": {"step": 5}, "mark": "bar", "encoding": {
        "y": field("state:N", sort=labels, title=None), "x": field("share:Q", axis={"format": "%"}), "yOffset": field("estimate:N"),
        "color": field("estimate:N", legend={"orient": "bottom", "title": None, "columns": 1}),
        "tooltip": [field("state:N"), field("estimate:N"), field("share:Q", format=".4f")]}}, right)
    simulated, text_gap = chain.gaps()
    shown = lambda s: "space" if s == " " else f"‘{s}’"
    sim = (f"The simulation agrees with π to within {simulated.size:.2%} everywhere (sampling noise)" if simulated.size < AGREE else
           f"The simulation and π differ most at {shown(simulated.state)}: {simulated.second:.2%} against {simulated.first:.2%}")
    if text_gap.size < AGREE:
        st.caption(f"All three agree: no letter's share differs by as much as {AGREE:.1%} (the largest gap: {text_gap.size:.3%}, "
                   f"at {shown(text_gap.state)}). A chain counted from one text spends, in the long run, as much time in each letter "
                   f"as the text does. {sim}.")
    else:
        st.caption(f"They part: with α = {alpha:g}, π gives {shown(text_gap.state)} {text_gap.first:.1%} of the time while the text "
                   f"has it {text_gap.second:.1%} of the time. Smoothing adds α to every count, mixing uniform transitions into P, and "
                   f"pulls π towards 1/27 = 3.7% per letter; the text's own frequencies stay what they were. {sim}.")

show_code(MarkovChain, stationary_distribution)
