"""What every page shares: its header, the source of the core function it runs, friendly errors."""

import html
import inspect
import math
import re
from contextlib import contextmanager

import streamlit as st

from core.errors import LabError


def header(title: str, intro: str) -> None:
    st.title(title)
    st.markdown(intro)


def try_this(*steps: str, container=st) -> None:
    """A boxed, numbered list of things to try: a guided path through a long page."""
    box = container.container(border=True)
    box.markdown("**Try this**\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1)))


def show_code(*objects, label: str = "The code this page runs") -> None:
    """An expander with the exact source of the given core functions or classes."""
    with st.expander(label):
        for obj in objects:
            st.caption(f"`{obj.__module__}.{obj.__qualname__}`")
            st.code(inspect.getsource(obj), language="python")


# what Markdown, LaTeX ($) or Streamlit's own syntax reads inside a line: emphasis, code, links and images ([ ] !),
# HTML and autolinks (< >), entities (&), strikethrough (~), tables (|); a colon before a non-space (:red[..],
# :emoji:, http://); and what starts a block at the beginning of the text: a heading, a list, a quote
_INLINE = re.compile(r"([\\`*_{}\[\]<>!$~&|])|(:)(?=\S)")
_BLOCK_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])")


def literal(text) -> str:
    """Text the learner typed or uploaded, made safe to put inside a message (st.markdown, st.info, st.warning,
    st.caption …): every character Markdown would read escaped, so it shows exactly as written, never as a link,
    an image that fetches a remote URL, a heading, a formula or a coloured span. Line breaks become spaces
    (a message is one paragraph) and NUL characters are dropped.

    >>> print(literal("![p](http://x.example/i.png) **bold** $x$ :red[hi] 1: fine"))
    \\!\\[p\\](http\\://x.example/i.png) \\*\\*bold\\*\\* \\$x\\$ \\:red\\[hi\\] 1: fine
    >>> print(literal("# not a heading"), literal("- not a list"), literal("3. not a list"))
    \\# not a heading \\- not a list 3\\. not a list
    """
    text = str(text).replace("\x00", "").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = _INLINE.sub(lambda m: "\\" + (m.group(1) or m.group(2)), text)
    return _BLOCK_START.sub(lambda m: m.group(1) + "".join("\\" + c if not c.isdigit() else c for c in m.group(2)), text)


def text_box(label: str, value: str = "", limit: int = 2_000, area: bool = False, container=st, **kw) -> str:
    """The one way a page takes typed text: a text input (or a text `area`) that refuses more than `limit`
    characters, and says so in its help. Read what comes back as literal text, never as Markdown."""
    box = container.text_area if area else container.text_input
    kw.setdefault("help", f"Up to {limit:,} characters.")
    return box(label, value, max_chars=limit, **kw)


def scroll_box(text: str, height_rem: float = 16) -> None:
    """Long generated or typed text as it is (monospace, line breaks kept, never read as Markdown or HTML),
    in a box of fixed height that scrolls."""
    st.markdown(f"<div style='font-family:monospace;font-size:0.8rem;white-space:pre-wrap;height:{height_rem}rem;overflow:auto'>"
                f"{html.escape(text).replace(chr(10), '&#10;')}</div>", unsafe_allow_html=True)  # &#10;: a blank line would end the HTML


def text_table(frame, formats: dict[str, str] | None = None) -> None:
    """A table that shows every text cell whole (wrapped, line breaks kept, never read as Markdown or HTML), where
    st.dataframe would cut long texts to one line: for texts a learner must read and compare side by side.
    `formats`: a format spec per numeric column, e.g. {"perplexity": ".2f"}."""
    formats = formats or {}
    cell = "padding:4px 8px;border-bottom:1px solid #e6e6e6;vertical-align:top;text-align:left"

    def show(column, value) -> str:
        text = format(value, formats[column]) if column in formats else str(value)
        return html.escape(text).replace("\n", "&#10;")  # &#10;: a blank line would end the HTML block

    head = "".join(f"<th style='{cell};font-weight:600'>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td style='{cell};white-space:pre-wrap'>{show(c, v)}</td>" for c, v in row.items()) + "</tr>"
                   for _, row in frame.iterrows())
    st.markdown(f"<table style='width:100%;border-collapse:collapse;font-size:0.85rem'><tr>{head}</tr>{body}</table>",
                unsafe_allow_html=True)


def quantity(x: float, unit: str = "bits") -> str:
    """A measured amount for a metric: three decimals and its unit, or ∞ (an infinite KL is an answer, not an error).

    >>> quantity(1.5), quantity(float("inf")), quantity(0.25, "nats")
    ('1.500 bits', '∞', '0.250 nats')
    """
    return "∞" if math.isinf(x) else f"{x:.3f} {unit}"


@contextmanager
def friendly_errors(literal_text: bool = False):
    """Show a LabError (bad input, missing optional model or data) as a warning, not a traceback.

    Use it around the part of a page that depends on the input; the rest of the page still draws.
    `literal_text=True` escapes the message's Markdown: for messages that quote what the learner typed.
    """
    try:
        yield
    except LabError as e:
        st.warning(literal(e) if literal_text else str(e), icon="⚠️")  # literal: messages that quote the input


def or_stop(fn, *args, **kwargs):
    """fn(*args, **kwargs), or, when the input is bad (a LabError), its message as a warning and the page stops there:
    for a result everything below needs."""
    try:
        return fn(*args, **kwargs)
    except LabError as e:
        st.warning(literal(e), icon="⚠️")
        st.stop()
