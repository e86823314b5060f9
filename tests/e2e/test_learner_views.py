"""The foundations and neural-network pages in Chromium after their main interaction, as a learner uses them:
no error box, charts drawn at a readable size, and a full-page screenshot of each to look at
(artifacts/screenshots/learner-*.png)."""

import time

import pytest

from tests.e2e.browser import error_boxes, page_url, slider_keys, wait_idle

MIN_CHART_HEIGHT = 120  # px: a chart squashed below this reads as a line (the race charts once were ~50 px)

_CHART_SIZES = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
  .filter(el => el.getClientRects().length > 0)
  .map(el => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; })"""


# formulas wider than their box are cut off (the RMSprop rule once ended at "(√s +")
_CUT_FORMULAS = """() => [...document.querySelectorAll('.katex-display, [data-testid="stMarkdownContainer"] .katex')]
  .filter(el => el.getClientRects().length > 0 && el.scrollWidth > el.clientWidth + 2)
  .map(el => el.innerText.slice(0, 80))"""

# graphs scaled down to fit the page: their 12-pt text drawn below ~8 px is unreadable (autograd's graph once shrank to ~5 px)
_GRAPH_SCALES = """() => [...document.querySelectorAll('[data-testid="stGraphVizChart"] svg')]
  .filter(el => el.getClientRects().length > 0 && el.viewBox.baseVal && el.viewBox.baseVal.width > 0)
  .map(el => el.getBoundingClientRect().width / el.viewBox.baseVal.width)"""
MIN_GRAPH_SCALE = 0.65

_PAGE_HEIGHT = """() => document.querySelector('[data-testid="stMain"]').scrollHeight"""


def click(page, name: str) -> None:
    page.get_by_role("button", name=name).first.click()
    wait_idle(page)


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)  # not its help button, labelled "Help for …"
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).click()
    wait_idle(page)


def play_for(page, name: str, seconds: float) -> None:
    """Press a Play button, let it run, press Pause: no waiting for a quiet page in between (it never is while playing)."""
    page.get_by_role("button", name=name).first.click()
    time.sleep(seconds)
    page.get_by_role("button", name="⏸ Pause").first.click()
    wait_idle(page)


def play_and_see_the_boundary(page) -> None:
    """Play, and the decision boundary is on screen without scrolling (it once sat below the form)."""
    page.get_by_role("button", name="▶ Play").first.click()  # no wait for quiet: it keeps training until paused
    time.sleep(4)
    bottom = page.evaluate("""() => document.querySelector('[data-testid="stVegaLiteChart"]').getBoundingClientRect().bottom""")
    click(page, "⏸ Pause")
    assert bottom <= 1000, f"the decision boundary ends {bottom:.0f} px down, below the 1000 px window"


# page, what the learner does, screenshot name
INTERACTIONS = [
    ("pages/home.py", lambda p: None, "home"),
    ("pages/bayes.py", lambda p: (slider_keys(p, "Prior P(ill): how common the condition is", "Home", *["ArrowRight"] * 4),
                                  p.get_by_text("Keep only the people who test positive").click(), wait_idle(p)), "bayes-rare-positives"),
    ("pages/joint_distributions.py", lambda p: None, "joint"),
    ("pages/joint_distributions.py", lambda p: type_into(p, "Values of Y (commute), comma-separated: name a new one to add a column",
                                                         "bus, bike, bus"), "joint-repeated-column"),
    ("pages/naive_bayes.py", lambda p: None, "naive_bayes"),
    ("pages/coin_flips.py", lambda p: play_for(p, "▶ Play: keep flipping", 3), "coin_flips-played"),
    ("pages/information_theory.py", lambda p: choose(p, "Start from", "English letters"), "information_theory-letters"),
    # 20 steps (the slider's minimum) show every chart of the race at a tenth of the default's time
    ("pages/cross_entropy_loss.py", lambda p: (slider_keys(p, "Steps", "Home"), click(p, "Train both")), "cross_entropy_loss-race"),
    ("pages/autograd.py", lambda p: [click(p, "Step ▶") for _ in range(3)], "autograd-step3"),
    ("pages/gradient_descent.py", lambda p: (choose(p, "Surface", "saddle"), play_for(p, "▶ Play the descent", 2)),
     "gradient_descent-saddle-played"),
    ("pages/playground.py", play_and_see_the_boundary, "playground-played"),
    ("pages/mlp_digits.py", lambda p: None, "mlp_digits-trained"),  # the first visit trains the default network
]


@pytest.mark.parametrize("path, act, name", INTERACTIONS, ids=[i[2] for i in INTERACTIONS])
def test_page_after_its_main_interaction(path, act, name, app_server, page, screenshots):
    page.goto(page_url(app_server, path))
    wait_idle(page)
    act(page)
    wait_idle(page)
    # Streamlit scrolls inside its own container: a window as tall as the page shows all of it
    height = page.evaluate(_PAGE_HEIGHT)
    page.set_viewport_size({"width": 1400, "height": min(height + 50, 12_000)})
    wait_idle(page)
    page.screenshot(path=str(screenshots / f"learner-{name}.png"), full_page=True)
    assert not error_boxes(page), error_boxes(page)
    squashed = [size for size in page.evaluate(_CHART_SIZES) if size[1] < MIN_CHART_HEIGHT]
    assert not squashed, squashed
    tiny = [round(scale, 2) for scale in page.evaluate(_GRAPH_SCALES) if scale < MIN_GRAPH_SCALE]
    assert not tiny, f"graphs drawn at {tiny} of their size: their text is unreadable"
    cut = page.evaluate(_CUT_FORMULAS)
    assert not cut, cut
    assert not page.get_by_role("button", name="Stop", exact=True).count(), "a Stop button left after training"
