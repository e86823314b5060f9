"""Home draws the curriculum as the sidebar orders it, one line per page on what the learner does there,
with the planned topics apart; its self-check tables wrap their text rather than cut it off."""

from pathlib import Path

from tests.app.conftest import assert_clean, open_page
from ui.curriculum import PAGES, TOPICS, pages_by_section, planned_topics


def test_every_page_has_a_short_blurb():
    for page in PAGES:
        assert page.blurb and len(page.blurb) <= 110 and "\n" not in page.blurb, page


def test_home_lists_the_pages_in_sidebar_order_with_their_blurbs_and_planned_topics_apart():
    at = open_page("pages/home.py")
    assert_clean(at)
    linked = [link.proto.page for link in at.get("page_link")]
    sidebar = [Path(p.path).stem for pages in pages_by_section().values() for p in pages]
    assert linked == sidebar
    shown = [m.value for m in at.markdown]
    for page in PAGES:
        assert page.blurb in shown, page.title
    planned = [m.value for m in at.markdown if "(no page yet)" in m.value]
    assert len(planned) == 1
    listing = shown[shown.index(planned[0]) + 1]
    assert all(t.title in listing for t in planned_topics())
    assert not any(t.title in listing for t in TOPICS if t.page)  # taught topics are not listed as planned
    assert shown.index(planned[0]) > max(shown.index(p.blurb) for p in PAGES)  # after every page


def test_home_tables_wrap_instead_of_scrolling():
    at = open_page("pages/home.py")
    assert not at.dataframe, "a dataframe cuts long cells off; the self-check uses st.table"
    assert len(at.table) == 2
