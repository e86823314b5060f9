"""Every Streamlit cache and session-state rule of the lab, in one place (DESIGN.md §2).

- `model(key)`: a read-only pretrained model, loaded once per process with st.cache_resource
  and shared by every user. Never train, wrap or mutate it: fine-tune `copy.deepcopy(...)` or
  a fresh load. (The registry hands it back in eval mode with requires_grad=False.)
- `cached(fn)`: fn's results cached per arguments with st.cache_data, bounded so a public
  deployment can't fill its memory. Each call gets its own copy, so mutating one is harmless.
- `remember` / `recall`: results of training this user asked for, kept in their session only.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from core.infra import data, models, network

F = TypeVar("F", bound=Callable)

MAX_MODELS = 3  # each pretrained model is 100-550 MB; keep a Community Cloud app under its 2.7 GB
MAX_RESULTS = 32


@st.cache_resource(max_entries=MAX_MODELS, show_spinner="Loading the model (once per server)…")
def model(key: str) -> models.LoadedModel:
    return models.load(key)


@st.cache_resource(max_entries=MAX_MODELS, show_spinner="Loading the model from the Hub (once per server)…")
def hub_model(model_id: str, kind: models.Kind) -> models.LoadedModel:
    return models.load_hub(model_id, kind)


def cached(fn: F, max_entries: int = MAX_RESULTS) -> F:
    """`fn` with its results cached by argument values (arguments must be hashable by Streamlit)."""
    return st.cache_data(max_entries=max_entries, show_spinner=False)(fn)


@st.cache_data(ttl=60, show_spinner=False)
def hub_reachability() -> network.Reachability:
    return network.hub_reachable()


@st.cache_data(max_entries=8, show_spinner="Loading the text…")
def text(key: str) -> str:
    return data.load_text(key)


def remember(key: str, value: Any) -> None:
    st.session_state[key] = value


def recall(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def shared(fn: F, max_entries: int = 10) -> F:
    """Like `cached`, but every caller gets the SAME object (st.cache_resource), for read-only
    fitted models that are big to copy on every rerun (a Markov chain over a whole corpus is
    ~10-30 MB of arrays). Only for results nobody mutates: read and sample, never refit in place."""
    return st.cache_resource(max_entries=max_entries, show_spinner=False)(fn)
