"""Every Streamlit cache and session-state rule of the lab, in one place (DESIGN.md §2).

A page never calls st.cache_data, st.cache_resource or st.session_state itself; it calls these:

- `model(key)`: a read-only pretrained model, loaded once per process with st.cache_resource
  and shared by every user. Never train, wrap or mutate it: fine-tune `copy.deepcopy(...)` or
  a fresh load. (The registry hands it back in eval mode with requires_grad=False.)
- `cached(fn)(*args)`: fn's results cached per arguments with st.cache_data, bounded so a public
  deployment can't fill its memory. Each call gets its own copy, so mutating one is harmless.
  A pretrained model passed as its LoadedModel counts by its key; `cached_with_model(fn)(lm, ...)`
  does the same for core functions of `(model, tokenizer, ...)`.
- `shared(fn)(*args)`: like cached, but every caller gets the same object (big read-only fits).
- `remember` / `recall`: results of training this user asked for, kept in their session only;
  `move` and `carry` are the same for buttons' and boxes' callbacks.

    trajectories = state.cached(optim.race)(config)
    surprisal = state.cached_with_model(prompting.surprisal)(lm, text)
"""

import functools
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


HASH_MODELS = {models.LoadedModel: lambda lm: lm.key}  # a pretrained model is its registry key or Hub id


@functools.cache  # one wrapper per function: pages call cached(fn)(...) on every rerun
def cached(fn: F, max_entries: int = MAX_RESULTS) -> F:
    """`fn` with its results cached by argument values (arguments must be hashable by Streamlit;
    a LoadedModel counts by its key, so `cached(attentions)(lm, text)` never hashes the weights)."""
    return st.cache_data(max_entries=max_entries, show_spinner=False, hash_funcs=HASH_MODELS)(fn)


@functools.cache
def cached_with_model(fn: Callable, max_entries: int = MAX_RESULTS) -> Callable:
    """`cached` for a core function of `(model, tokenizer, *args)`: call the result with the
    LoadedModel instead, `cached_with_model(surprisal)(lm, text)`; the cache counts the model by its key."""
    def call(lm: models.LoadedModel, *args, **kwargs):
        return fn(lm.model, lm.tokenizer, *args, **kwargs)

    functools.update_wrapper(call, fn)  # Streamlit keys a cache on the function's name and source: fn's own
    return cached(call, max_entries)


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


def move(key: str, by: int = 0, to: int | None = None, low: int = 0, high: int | None = None, default: int = 0) -> None:
    """Set the number kept under `key` to `to`, or move it `by` steps, within [low, high] (absent: `default`).

    A button's callback (`on_click=state.move, kwargs=dict(key=K, by=1, high=n)`), or called before a
    slider bound to `key` is drawn, to keep its value in range when the range shrinks."""
    value = recall(key, default) + by if to is None else to
    remember(key, max(low, value if high is None else min(value, high)))


def carry(source: str, target: str, default: Any = None) -> None:
    """A widget's callback: copy what is kept under `source` to `target` (e.g. the edits so far into
    the table a data editor restarts from, when a change of columns restarts it)."""
    remember(target, recall(source, default))


def shared(fn: F, max_entries: int = 10) -> F:
    """Like `cached`, but every caller gets the SAME object (st.cache_resource), for read-only
    fitted models that are big to copy on every rerun (a Markov chain over a whole corpus is
    ~10-30 MB of arrays). Only for results nobody mutates: read and sample, never refit in place."""
    return st.cache_resource(max_entries=max_entries, show_spinner=False)(fn)
