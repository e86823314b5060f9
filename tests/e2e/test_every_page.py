"""Every registered page loads in a real browser without an error box; a screenshot of each is saved."""

from pathlib import Path

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle
from ui.curriculum import all_pages


@pytest.mark.parametrize("path", [p.path for p in all_pages()])
def test_page_renders_in_chromium(path, app_server, page, screenshots):
    page.goto(page_url(app_server, path))
    wait_idle(page)
    page.screenshot(path=str(screenshots / f"{Path(path).stem}.png"), full_page=True)
    assert not error_boxes(page), error_boxes(page)
    # the page asked for, not the default one the router falls back to for an unknown path
    assert page.url == page_url(app_server, path)
