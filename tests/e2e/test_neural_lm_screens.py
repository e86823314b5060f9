"""The ladder and the RNN-memory pages after their main interaction (Train pressed), in Chromium: no error box,
the charts drawn, and a screenshot of each for a person to look at (artifacts/screenshots/).

Both train on short settings moved with the keyboard, as a learner can (CI time): the defaults' full runs are what
benchmarks/bench_neural_lm.py times."""

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

pytestmark = pytest.mark.e2e


def press(page, label: str) -> None:
    page.get_by_role("button", name=label).click()
    page.wait_for_timeout(1500)  # the rerun starts
    wait_idle(page, timeout_s=600, quiet_s=2.0)


def slide(page, label: str, *keys: str) -> None:
    """Move the slider labelled `label` with the keyboard (Home: its first option, ArrowRight: the next one)."""
    page.get_by_role("slider", name=label).focus()
    for key in keys:
        page.keyboard.press(key)


def test_ladder_trained_briefly(app_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 4600})  # Streamlit scrolls inside its own container: a tall window shows it all
    page.goto(page_url(app_server, "pages/neural_lm_ladder.py"))
    wait_idle(page)
    slide(page, "Training steps (each network)", "Home", "ArrowRight")  # 50 steps per network
    press(page, "Train the ladder")
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("Lowest held-out cross-entropy").count() == 1
    page.screenshot(path=str(screenshots / "neural_lm_ladder_trained.png"))


def test_rnn_memory_sweep(app_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.goto(page_url(app_server, "pages/rnn_memory.py"))
    wait_idle(page)
    distances = page.get_by_label("Distances d (comma-separated)")
    distances.fill("2, 24")
    distances.press("Tab")
    slide(page, "Training steps per run", "Home", "ArrowRight", "ArrowRight", "ArrowRight")  # 200 steps (runs stop once solved)
    press(page, "Train every contender at every distance")
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("Accuracy at the query").count() >= 1
    page.screenshot(path=str(screenshots / "rnn_memory_sweep.png"))
