"""Every page the navigation registers runs without an exception (AppTest, no browser).

The list comes from ui.curriculum, the same list streamlit_app.py builds its navigation from,
and AppTest.switch_page refuses a page the navigation did not register, so a page can't be
left out of the test or out of the app without this failing.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.curriculum import all_pages

APP = str(Path(__file__).parents[2] / "streamlit_app.py")
PAGE_TIMEOUT_S = 180  # a page's first run may load a pretrained model


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT_S).run()
    return at.switch_page(path).run()


@pytest.mark.parametrize("path", [p.path for p in all_pages()])
def test_page_runs_without_exception(path):
    at = run_page(path)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page starts with a title (ui.page.header)"
    at.run()  # a rerun with the same widgets (what any click does) must work too
    assert not at.exception, [e.value for e in at.exception]


def test_home_links_every_registered_page():
    at = run_page("pages/home.py")
    linked = {link.proto.page for link in at.get("page_link")}
    assert linked == {Path(p.path).stem for p in all_pages()[1:]}


def test_home_self_check_reports_models_data_and_network():
    at = run_page("pages/home.py")
    frames = [df.value for df in at.dataframe]
    assert {"all-MiniLM-L6-v2 (BERT encoder, 6 layers × 12 heads)"} <= set(frames[0]["model"])
    assert "Tiny Shakespeare" in set(frames[1]["data"])
    assert any("Hugging Face Hub" in m.value for m in at.markdown)
