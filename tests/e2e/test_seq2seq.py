"""The seq2seq page in a real browser: the first visit trains the three models, then a translation of the
learner's own input by beam search, odd input, the warmup and smoothing runs; screenshots of each."""

from tests.e2e.browser import error_boxes, page_url, wait_idle


def test_seq2seq_trains_translates_draws_alignments_and_compares(app_server, page, screenshots):
    page.goto(page_url(app_server, "pages/seq2seq.py"))
    wait_idle(page, timeout_s=900)  # the first visit trains the three models with the defaults
    assert not error_boxes(page), error_boxes(page)
    page.set_viewport_size({"width": 1400, "height": 4200})  # Streamlit scrolls inside its own container: a tall window shows it all
    wait_idle(page)
    page.screenshot(path=str(screenshots / "seq2seq.png"))
    box = page.get_by_label("Source (words)")
    box.fill("seven thousand three hundred eighty four")
    box.press("Enter")
    wait_idle(page)
    page.get_by_text("beam", exact=True).click()
    wait_idle(page)
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("The rule's answer: '7384'.").count() == 1
    page.get_by_role("heading", name="Where each model looks: translate any number").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "seq2seq_alignment.png"))
    box.fill("seven thousand three hundred eighty four 🙂")
    box.press("Enter")
    wait_idle(page)
    assert page.get_by_text("outside the task's vocabulary").count() >= 1
    assert not error_boxes(page), error_boxes(page)
    # the two comparison runs: without warmup, and with label smoothing
    page.get_by_role("button", name="Train the transformer again without warmup").click()
    wait_idle(page, timeout_s=600)
    page.get_by_role("button", name="Train the transformer again with this ε").click()
    wait_idle(page, timeout_s=600)
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("no warmup:").count() >= 1 and page.get_by_text("With ε = 0.1 instead of 0").count() == 1
    page.get_by_role("heading", name="Learning-rate warmup").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "seq2seq_warmup_smoothing.png"))
