"""Every registered page in a real browser, after its main interaction: no error box, every chart readable, and a
screenshot of the whole page (and of each of its tabs) to look at, in artifacts/screenshots/.

Readable (tests/e2e/browser.chart_problems): every row of a labelled heatmap or bar chart at least MIN_ROW_PX
tall with its label written (Vega drops labels that would overlap), no label cut short with "…", a plot with a
continuous y axis at least MIN_PLOT_PX tall, legends with one colour per entry and numbered entries in order.
Charts inside tabs are read after clicking each tab (the browser draws only the tab shown).

The main interaction of a page is what a learner does first (press Train, run the race); a page not in
INTERACTIONS is read as it opens, which for most pages is the interaction (their controls rerun live).
"""

import re
from pathlib import Path

import pytest

from tests.e2e.browser import chart_problems, charts, error_boxes, page_url, screenshot_whole, slider_keys, wait_idle
from ui.curriculum import all_pages


def press(label: str):
    def act(page):
        page.get_by_role("button", name=label).first.click()
    return act


def fewer(label: str, then: str):
    """Move the slider `label` to its minimum, then press `then`: the same charts as the default run, in a fraction of its time."""
    def act(page):
        slider_keys(page, label, "Home")
        press(then)(page)
    return act


# page → what a learner does first there (the defaults train for seconds, not minutes)
INTERACTIONS = {
    "pages/cross_entropy_loss.py": fewer("Steps", "Train both"),
    "pages/mlp_digits.py": press("Train"),
    "pages/tokenization.py": press("Train"),
    "pages/decoding.py": press("Run the five strategies"),
    "pages/prompting.py": fewer("Reviews from the lab's held-out sentiment set", "Measure the accuracy of each prompt"),
    "pages/lora_update.py": press("Sweep: train at every rank r = 1, 2, 4 … 32"),
    "pages/lora_finetune.py": fewer("Epochs", "Fine-tune with LoRA"),
}
TRAINING_TIMEOUT_S = 420  # the LoRA fine-tune on a busy 2-core machine


def stem(path: str) -> str:
    return Path(path).stem


@pytest.mark.parametrize("path", [p.path for p in all_pages()], ids=[stem(p.path) for p in all_pages()])
def test_page_after_its_main_interaction_reads_in_chromium(path, app_server, page, screenshots):
    page.goto(page_url(app_server, path))
    wait_idle(page)
    assert page.url == page_url(app_server, path)  # the page asked for, not the default one the router falls back to
    if path in INTERACTIONS:
        INTERACTIONS[path](page)
        wait_idle(page, TRAINING_TIMEOUT_S)
    assert not error_boxes(page), error_boxes(page)
    screenshot_whole(page, screenshots / f"{stem(path)}.png")
    problems = chart_problems(charts(page))
    tabs = page.get_by_role("tab")
    for i in range(1, tabs.count()):  # the first tab of each group is already shown
        tab = tabs.nth(i)
        if tab.get_attribute("aria-selected") == "true":
            continue
        name = tab.inner_text().strip()
        tab.click()
        wait_idle(page)
        assert not error_boxes(page), (name, error_boxes(page))
        problems += [f"[tab {name}] {p}" for p in chart_problems(charts(page))]
        screenshot_whole(page, screenshots / f"{stem(path)}.tab-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png")
    assert not problems, "\n".join(problems)
