"""The two embedding pages in Chromium after their main interactions: no error box, and a screenshot of each step."""

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

pytestmark = pytest.mark.e2e

TALL = {"width": 1400, "height": 4200}  # Streamlit scrolls inside its main block: a tall window shows the whole page
STEPS = ["1 · Documents as counts (TF-IDF)", "2 · Co-occurrence → PPMI → SVD", "3 · word2vec, trained live", "4 · Explore the vectors"]


def test_word_vectors_steps(app_server, page, screenshots):
    page.set_viewport_size(TALL)
    page.goto(page_url(app_server, "pages/word_vectors.py"))
    wait_idle(page)
    for number, step in enumerate(STEPS, 1):
        page.get_by_text(step, exact=True).click()
        wait_idle(page)
        assert not error_boxes(page), (step, error_boxes(page))
        page.screenshot(path=str(screenshots / f"word_vectors_step{number}.png"), full_page=True)
    page.get_by_text("t-SNE", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Run t-SNE").click()
    wait_idle(page)
    assert not error_boxes(page)
    page.mouse.move(0, 0)  # no tooltip of the clicked button left over the controls in the screenshot
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "word_vectors_tsne.png"), full_page=True)


def test_semantic_search_query(app_server, page, screenshots):
    page.set_viewport_size(TALL)
    page.goto(page_url(app_server, "pages/semantic_search.py"))
    wait_idle(page, timeout_s=420)  # the first visit loads MiniLM and embeds the default documents
    box = page.get_by_role("textbox", name="Query")
    box.fill("my order never arrived and nobody answered")
    box.press("Enter")
    wait_idle(page)
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("By meaning: MiniLM sentence embeddings").count() == 1
    page.screenshot(path=str(screenshots / "semantic_search.png"), full_page=True)
