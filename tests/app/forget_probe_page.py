"""A page for tests/app/test_robustness.py: a result kept in the session, and a big object that only the page's own
variables hold, reachable from a widget through the page's lambda (as the LoRA page's `result` is)."""

import weakref

import numpy as np
import streamlit as st

from tests.app import cache_probe
from ui import state

state.remember("lab.result", "a fine-tuned model")
page_only = np.ones(1000)
cache_probe.PAGE_OBJECT = weakref.ref(page_only)
st.radio("Method", ["lora", "full"], format_func=lambda k: k.upper(), key="probe.method")
