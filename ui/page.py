"""What every page shares: its header, the source of the core function it runs, friendly errors."""

import inspect
import re
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


def literal(text: str) -> str:
    r"""`text` with every Markdown (and Streamlit LaTeX) character escaped, so a learner's words show as typed.

    >>> literal("**bold** $x$ snake_case")
    '\\*\\*bold\\*\\* \\$x\\$ snake\\_case'
    """
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)


@contextmanager
def friendly_errors(literal_text: bool = False):
    """Show a LabError (bad input, missing optional model or data) as a warning, not a traceback.

    Use it around the part of a page that depends on the input; the rest of the page still draws.
    `literal_text=True` escapes the message's Markdown: for messages that quote what the learner typed.
    """
    try:
        yield
    except LabError as e:
        st.warning(literal(str(e)) if literal_text else str(e), icon="⚠️")
