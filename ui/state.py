"""Every Streamlit cache and session-state rule of the lab, in one place (DESIGN.md §2).

A page never calls st.cache_data, st.cache_resource or st.session_state itself; it calls these:

- `model(key)`: a read-only pretrained model, loaded once per process with st.cache_resource
  and shared by every user. Never train, wrap or mutate it: fine-tune `copy.deepcopy(...)` or
  a fresh load. (The registry hands it back in eval mode with requires_grad=False.)
- `cached(fn)(*args)`: fn's results cached per arguments with st.cache_data. Each call gets its own
  copy, so mutating one is harmless. A pretrained model passed as its LoadedModel counts by its key;
  `cached_with_model(fn)(lm, ...)` does the same for core functions of `(model, tokenizer, ...)`.
- `shared(fn)(*args)`: like cached, but every caller gets the same object (big read-only fits).
- `remember` / `recall`: results of training this user asked for, kept in their session only;
  `move` and `carry` are the same for buttons' and boxes' callbacks.

Bounded twice, so a public deployment can't fill its memory: by entries (max_entries) and by BYTES.
Streamlit bounds its caches by entries only, and one entry can be huge (an 855 MB naive Bayes fit of
a 4,000-class upload once sat in a cache of 32), so every result is measured on its way in
(`core.infra.memory.size_of`): one bigger than MAX_RESULT_BYTES is returned but not kept, and when
all results together pass CACHE_BUDGET_BYTES the biggest caches are emptied until they fit.

Heavy work (training, scans, model loads, accuracy checks) waits for a slot of the process-wide gate
`core.infra.admission.HEAVY`, showing the learner their place in the queue: `heavy()` around a
block, `cached(fn, heavy=True)` for a cached call (only a miss waits: a cached answer comes at once),
and `model`/`hub_model` for loads. ui.live.train takes a slot for every training run.

    trajectories = state.cached(optim.race)(config)
    surprisal = state.cached_with_model(prompting.surprisal)(lm, text)
    scan = state.cached(ah.ablate_each_head, heavy=True)(lm, text)
    with state.heavy("Measuring the accuracy"):
        ...
"""

import functools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st
import torch

from core.infra import data, models, network
from core.infra.admission import HEAVY, threads_per_slot
from core.infra.memory import size_of

F = TypeVar("F", bound=Callable)

MAX_MODELS = 3  # each pretrained model is 100-550 MB; keep a Community Cloud app under its 2.7 GB
MAX_RESULTS = 32
MB = 1_000_000
MAX_RESULT_BYTES = 64 * MB  # a bigger result is computed and shown, but not kept
CACHE_BUDGET_BYTES = int(os.environ.get("LLM_LAB_CACHE_MB", 512)) * MB  # every cached result together

torch.set_num_threads(threads_per_slot(HEAVY.slots))  # once per process: the heavy-work slots share the CPUs, never oversubscribe them


# ----------------------------------------------------------------------------- admission for heavy work


def _say_waiting(box, what: str, since: float) -> Callable[[int], None]:
    def waiting(ahead: int) -> None:  # drawing is also where Streamlit stops a script whose learner clicked elsewhere
        place = "you are next" if ahead == 0 else f"{ahead} ahead of you"
        box.info(f"⏳ {what} waits for a slot: the server runs {HEAVY.slots} heavy jobs at once for all its learners and "
                 f"all are busy. Waiting for a slot: {place} ({time.monotonic() - since:.0f} s so far).")
    return waiting


@contextmanager
def heavy(what: str = "This") -> Iterator[None]:
    """Hold one of the server's heavy-work slots for the block; while all are busy, say where this learner
    stands in the queue ("waiting for a slot: 2 ahead of you"), updated every half second. Re-entrant."""
    if HEAVY.held():
        yield
        return
    box = st.empty()
    with HEAVY.slot(on_wait=_say_waiting(box, what, time.monotonic())):
        box.empty()
        yield


class _NeedsSlot(Exception):
    """Raised inside a cached function on a miss, so the wait for a slot happens outside Streamlit's cache."""


class _TooBig(Exception):
    """Carries a result out of Streamlit's cache without it being kept (exceptions are never cached)."""

    def __init__(self, value):
        self.value = value


class ByteBudget:
    """What the lab's caches hold, in bytes: for each cache the sizes of its latest entries (as many as it keeps).

    `add` records an entry and returns the caches to empty, biggest first, until everything fits in `total`.
    (Streamlit evicts by count on its own; counting the same way keeps this tally close to what it holds.)
    """

    def __init__(self, total: int):
        self.total = total
        self.sizes: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def held(self) -> int:
        return sum(sum(q) for q in self.sizes.values())

    def add(self, name: str, size: int, max_entries: int) -> list[str]:
        with self._lock:
            self.sizes.setdefault(name, deque(maxlen=max_entries)).append(size)
            emptied = []
            while self.held() > self.total:
                biggest = max(self.sizes, key=lambda n: sum(self.sizes[n]))
                self.sizes[biggest].clear()
                emptied.append(biggest)
            return emptied


BUDGET = ByteBudget(CACHE_BUDGET_BYTES)
_CLEARS: dict[str, Callable[[], None]] = {}
_measured = threading.local()  # the size of the result a cache miss just computed, for the wrapper outside


def _bounded(store, fn: Callable, max_entries: int, heavy_work: bool, what: str, budget: bool = True, **options) -> Callable:
    """`fn` cached by `store` (st.cache_data or st.cache_resource), within the byte budget, with heavy misses admitted.
    `budget=False` (pretrained models): bounded by `max_entries` only; a model is bigger than any result may be and
    must be kept, or every call would load another copy."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    def compute(*args, **kwargs):
        if heavy_work and not HEAVY.held():
            raise _NeedsSlot
        value = fn(*args, **kwargs)
        if not budget:
            return value
        size = size_of(value)
        if size > MAX_RESULT_BYTES:
            raise _TooBig(value)
        _measured.size = size
        return value

    functools.update_wrapper(compute, fn)  # Streamlit keys a cache on the function's name and source: fn's own
    cache = store(max_entries=max_entries, **options)(compute)
    _CLEARS[name] = cache.clear

    def call(*args, **kwargs):
        _measured.size = None
        try:
            value = cache(*args, **kwargs)
        except _NeedsSlot:
            with heavy(what):
                return call(*args, **kwargs)
        except _TooBig as e:
            return e.value
        if _measured.size is not None:  # a miss: now kept, so count it
            for emptied in BUDGET.add(name, _measured.size, max_entries):
                _CLEARS[emptied]()
        return value

    functools.update_wrapper(call, fn)
    call.clear = cache.clear
    return call


HASH_MODELS = {models.LoadedModel: lambda lm: lm.key}  # a pretrained model is its registry key or Hub id


@functools.cache  # one wrapper per function: pages call cached(fn)(...) on every rerun
def cached(fn: F, max_entries: int = MAX_RESULTS, heavy: bool = False) -> F:
    """`fn` with its results cached by argument values (arguments must be hashable by Streamlit;
    a LoadedModel counts by its key, so `cached(attentions)(lm, text)` never hashes the weights).
    `heavy`: a miss waits for a slot of the heavy-work gate (a scan, a generation race)."""
    return _bounded(st.cache_data, fn, max_entries, heavy, "This computation", show_spinner=False, hash_funcs=HASH_MODELS)


@functools.cache
def cached_with_model(fn: Callable, max_entries: int = MAX_RESULTS, heavy: bool = False) -> Callable:
    """`cached` for a core function of `(model, tokenizer, *args)`: call the result with the
    LoadedModel instead, `cached_with_model(surprisal)(lm, text)`; the cache counts the model by its key."""
    def call(lm: models.LoadedModel, *args, **kwargs):
        return fn(lm.model, lm.tokenizer, *args, **kwargs)

    functools.update_wrapper(call, fn)  # Streamlit keys a cache on the function's name and source: fn's own
    return cached(call, max_entries, heavy)


def _load_model(key: str) -> models.LoadedModel:
    return models.load(key)


def _load_hub_model(model_id: str, kind: models.Kind) -> models.LoadedModel:
    return models.load_hub(model_id, kind)


# pretrained models: read-only, one copy per process, loaded in a heavy slot (a first SmolLM2 load converts for 30-55 s)
model = _bounded(st.cache_resource, _load_model, MAX_MODELS, True, "Loading the model", budget=False,
                 show_spinner="Loading the model (once per server)…")
hub_model = _bounded(st.cache_resource, _load_hub_model, MAX_MODELS, True, "Loading the model", budget=False,
                     show_spinner="Loading the model from the Hub (once per server)…")


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


@functools.cache
def shared(fn: F, max_entries: int = 10, heavy: bool = False) -> F:
    """Like `cached`, but every caller gets the SAME object (st.cache_resource), for read-only
    fitted models that are big to copy on every rerun (a Markov chain over a whole corpus is
    ~10-30 MB of arrays). Only for results nobody mutates: read and sample, never refit in place."""
    return _bounded(st.cache_resource, fn, max_entries, heavy, "This computation", show_spinner=False)
