"""The tokenization page in Chromium: step through merges with the buttons, then encode a preset; screenshots of both."""

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

pytestmark = pytest.mark.e2e


def test_step_through_merges_and_compare_tokenizers(app_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 4400})  # Streamlit scrolls inside its main block: a tall window shows it all
    page.goto(page_url(app_server, "pages/tokenization.py"))
    wait_idle(page)
    assert not error_boxes(page)
    for _ in range(3):
        page.get_by_role("button", name="▶").click()
        wait_idle(page, quiet_s=0.5)
    assert page.get_by_text("Merge 13 of 255").count() == 1
    page.screenshot(path=str(screenshots / "tokenization-merges.png"), full_page=True)

    page.locator('[data-testid="stSelectbox"]').filter(has_text="Text to encode").click()  # opens the list; typing filters it
    page.keyboard.type("Non-English")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert not error_boxes(page)
    assert page.get_by_text("exactly the ids of its Hugging Face tokenizer").count() == 1
    top = page.get_by_text("4 · Your tokenizer beside real ones").bounding_box()["y"]
    page.screenshot(path=str(screenshots / "tokenization-compare.png"), clip={"x": 0, "y": top - 20, "width": 1400, "height": 1500})
