"""Pick a pretrained model on any page: every registry entry of a kind, its size and source shown.

Offline entries load at once (ui.state.model); Hub entries only when the Hub answers
(ui.state.hub_model), otherwise the page says so and falls back to the first offline entry.
The list is `core.models.entries(kind)`, so a new checkpoint is one registry line away.

    lm = model_picker.pick("causal-lm", key="decoding.model")
    lm.model, lm.tokenizer, lm.key
"""

import streamlit as st

from core import models
from core.errors import Unavailable
from ui import state


def load(key: str, kind: models.Kind = "causal-lm") -> models.LoadedModel:
    """The shared, read-only model for a registry key or Hub id (no widgets: safe in cached functions)."""
    entry = models.REGISTRY.get(key)
    if entry is not None and entry.offline:
        return state.model(key)
    return state.hub_model(key, entry.kind if entry else kind)


def pick(kind: models.Kind = "causal-lm", key: str = "model", label: str = "Model") -> models.LoadedModel:
    """A selectbox of the registry's `kind` entries; returns the loaded model (or stops the page)."""
    entries = models.entries(kind)
    offline = [e for e in entries if e.offline]
    reach = state.hub_reachability()

    def title(k: str) -> str:
        e = models.REGISTRY[k]
        where = "offline" if e.offline else ("online" if reach.ok else "online only: no network here")
        return f"{e.title} · {e.params} · {where}"

    entry = models.REGISTRY[st.selectbox(label, [e.key for e in entries], format_func=title, key=key)]
    st.caption(f"**{entry.params}** parameters · from {entry.source}")
    if not entry.offline and not reach.ok and offline:
        st.info(f"{entry.title} comes from the Hugging Face Hub, which is out of reach here ({reach.reason}). "
                f"Using {offline[0].title} instead.", icon="📴")
        entry = offline[0]
    try:
        return load(entry.key, kind)
    except Unavailable as e:
        if entry is offline[0] or not offline:
            st.warning(f"{entry.title} can't be loaded here: {e}", icon="⚠️")
            st.stop()
        st.info(f"{entry.title} can't be loaded: {e}. Using {offline[0].title} instead.", icon="📴")
        return load(offline[0].key, kind)
