"""The GPT page in a real browser: the lab's checkpoint on first visit, a short run trained from the
form, its attention heatmap, and a damaged checkpoint upload refused with a message. Screenshots
go to artifacts/screenshots/gpt_*.png."""

import io
import zipfile

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

pytestmark = pytest.mark.e2e


def test_train_look_inside_and_a_bad_upload(app_server, page, screenshots, tmp_path):
    page.set_viewport_size({"width": 1400, "height": 3400})  # Streamlit scrolls inside its main block: a tall window shows it all
    page.goto(page_url(app_server, "pages/gpt.py"))
    wait_idle(page)
    assert not error_boxes(page), error_boxes(page)
    assert page.get_by_text("the lab's own GPT", exact=False).count()
    page.screenshot(path=str(screenshots / "gpt_first_visit.png"), full_page=True)

    steps = page.get_by_role("spinbutton", name="Steps", exact=True)
    steps.fill("60")
    steps.press("Tab")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("your run on", exact=False).first.wait_for(timeout=600_000)
    wait_idle(page, timeout_s=600)
    assert not error_boxes(page), error_boxes(page)
    page.screenshot(path=str(screenshots / "gpt_trained.png"), full_page=True)

    page.get_by_role("tab", name="Look inside").click()
    wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').nth(1).screenshot(path=str(screenshots / "gpt_attention.png"))

    page.get_by_role("tab", name="Download / upload").click()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("config.json", '{"format": "llm-lab-gpt"}')
    damaged = tmp_path / "run.zip"
    damaged.write_bytes(buffer.getvalue()[:-30])  # cut short
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(damaged))
    page.get_by_text("not a readable zip file", exact=False).first.wait_for(timeout=60_000)
    wait_idle(page)
    assert not error_boxes(page), error_boxes(page)
    page.screenshot(path=str(screenshots / "gpt_bad_upload.png"), full_page=False)
