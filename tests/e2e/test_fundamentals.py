"""The week-0 pages in Chromium after their main interaction: no error box, and a screenshot of each to look at
(artifacts/screenshots/fundamentals-*.png)."""

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

TALL = {"width": 1400, "height": 2600}  # Streamlit scrolls inside its own container: a tall window shows the whole page


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).click()


def slide_to_end(page, label: str, key: str) -> None:
    """Move a slider to its maximum with the keyboard, as a learner can."""
    page.get_by_role("slider", name=label).focus()
    page.keyboard.press(key)


# page, what the learner does, screenshot name
INTERACTIONS = [
    ("pages/linear_algebra.py", lambda p: choose(p, "Start from a preset", "singular (rank 1)"), "linear_algebra-singular"),
    ("pages/linear_algebra.py", lambda p: choose(p, "Start from a preset", "rotation by 90° (no real eigenvectors)"),
     "linear_algebra-rotation"),
    ("pages/classical_ml.py", lambda p: p.get_by_text("Decision tree", exact=True).click(), "classical_ml-tree"),
    ("pages/classical_ml.py", lambda p: p.get_by_text("k-means clustering", exact=True).click(), "classical_ml-kmeans"),
    ("pages/classical_ml.py", lambda p: p.get_by_text("Linear regression", exact=True).click(), "classical_ml-regression"),
    ("pages/evaluation.py", lambda p: p.get_by_role("tab", name="Scores at a threshold").click(), "evaluation-threshold"),
    ("pages/evaluation.py", lambda p: (p.get_by_role("tab", name="Scores at a threshold").click(),
                                       slide_to_end(p, "Threshold: positive when score ≥", "End")), "evaluation-threshold-1"),
    ("pages/evaluation.py", lambda p: p.get_by_role("tab", name="Under- and overfitting").click(), "evaluation-overfitting"),
    ("pages/evaluation.py", lambda p: (p.get_by_role("tab", name="Under- and overfitting").click(),
                                       p.get_by_role("tab", name="Bias² + variance").click()), "evaluation-bias-variance"),
    ("pages/svd_pca.py", lambda p: slide_to_end(p, "Singular values kept, k", "Home"), "svd_pca-k1"),
    ("pages/svd_pca.py", lambda p: p.get_by_role("tab", name="PCA: the widest directions of a dataset").click(), "svd_pca-pca"),
    ("pages/svd_pca.py", lambda p: p.get_by_role("tab", name="Why LoRA works").click(), "svd_pca-lora"),
]


@pytest.mark.parametrize("path, act, name", INTERACTIONS, ids=[i[2] for i in INTERACTIONS])
def test_fundamentals_after_interaction(path, act, name, app_server, page, screenshots):
    page.set_viewport_size(TALL)
    page.goto(page_url(app_server, path))
    wait_idle(page)
    act(page)
    wait_idle(page)
    page.screenshot(path=str(screenshots / f"fundamentals-{name}.png"))
    assert not error_boxes(page), error_boxes(page)
