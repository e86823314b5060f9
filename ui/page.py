"""What every page shares: its header, the source of the core function it runs, friendly errors."""

import inspect
from contextlib import contextmanager

import streamlit as st

from core.errors import LabError


def header(title: str, intro: str) -> None:
    st.title(title)
    st.markdown(intro)


def show_code(*objects, label: str = "The code this page runs") -> None:
    """An expander with the exact source of the given core functions or classes."""
    with st.expander(label):
        for obj in objects:
            st.caption(f"`{obj.__module__}.{obj.__qualname__}`")
            st.code(inspect.getsource(obj), language="python")


@contextmanager
def friendly_errors():
    """Show a LabError (bad input, missing optional model or data) as a warning, not a traceback.

    Use it around the part of a page that depends on the input; the rest of the page still draws.
    """
    try:
        yield
    except LabError as e:
        st.warning(str(e), icon="⚠️")
