"""What every AppTest of a page shares: open a page of the app, check it drew no error, find an
element by its label. (Import them: `from tests.app.conftest import open_page, assert_clean, metric`.)"""

import html
import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parents[2] / "streamlit_app.py")


def open_page(path: str, timeout: float = 180) -> AppTest:
    """The app opened straight at `path` (found by its file name), without drawing Home first: Home's
    self-check costs more than most pages. (tests/app/test_pages.py opens Home first, so a page the
    navigation does not register fails there.)"""
    return AppTest.from_file(APP, default_timeout=timeout).switch_page(path).run()


def assert_clean(at: AppTest) -> None:
    """No exception and no st.error on the page (bad input shows as a warning, which is fine)."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def widget(elements, label: str):
    """The element whose label is `label`, else the first whose label starts with it."""
    elements = list(elements)
    exact = [w for w in elements if w.label == label]
    return exact[0] if exact else next(w for w in elements if w.label.startswith(label))


def metric(at: AppTest, label: str) -> str:
    """The value a metric shows, found by its label (or the label's start)."""
    return widget(at.metric, label).value


def text_tables(at: AppTest) -> list[pd.DataFrame]:
    """The tables a page drew with ui.page.text_table (HTML in a Markdown element), as DataFrames of strings."""
    frames = []
    for m in at.markdown:
        if not m.value.startswith("<table"):
            continue
        rows = [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", m.value, re.S)]
        frames.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return frames
