"""The ladder and the RNN-memory pages after their main interaction (Train pressed), in Chromium: no error box,
the charts drawn, and a screenshot of each for a person to look at (artifacts/screenshots/)."""

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

pytestmark = pytest.mark.e2e


def press(page, label: str) -> None:
    page.get_by_role("button", name=label).click()
    page.wait_for_timeout(1500)  # the rerun starts
    wait_idle(page, timeout_s=900, quiet_s=2.0)


def test_ladder_trained_with_its_defaults(app_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 4600})  # Streamlit scrolls inside its own container: a tall window shows it all
    page.goto(page_url(app_server, "pages/neural_lm_ladder.py"))
    wait_idle(page)
    press(page, "Train the ladder")
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("Lowest held-out cross-entropy").count() == 1
    page.screenshot(path=str(screenshots / "neural_lm_ladder_trained.png"))


def test_rnn_memory_sweep(app_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.goto(page_url(app_server, "pages/rnn_memory.py"))
    wait_idle(page)
    press(page, "Train every contender at every distance")
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("Accuracy at the query").count() >= 1
    page.screenshot(path=str(screenshots / "rnn_memory_sweep.png"))
