"""With no network, the BertViz views embedded in the heads page draw their SVG (not an empty frame).

Chromium runs with background networking off and every request leaving loopback is aborted, so a
view that still fetched require.js, d3 or jQuery from a CDN would stay blank and fail here.
"""

import pytest

from tests.e2e.browser import error_boxes, page_url, wait_idle

pytestmark = pytest.mark.e2e


def offline(page):
    """Abort any request that is not to the local app server: the page must not need the internet."""
    blocked = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "about:", "data:", "blob:")):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    return blocked


@pytest.mark.parametrize("tab, index, drawn", [
    ("BertViz: head view", 0, "svg text"),  # one text per token on each side, plus the attention lines
    ("BertViz: model view", 1, "svg rect, svg line"),  # a thumbnail per layer × head
])
def test_bertviz_draws_offline(app_server, page, screenshots, tab, index, drawn):
    blocked = offline(page)
    page.goto(page_url(app_server, "pages/attention_heads.py"))
    wait_idle(page)
    assert not error_boxes(page)
    page.get_by_role("tab", name=tab).click()
    frame = page.frame_locator("iframe").nth(index)
    svg = frame.locator("svg").first
    svg.wait_for(state="attached", timeout=60_000)
    frame.locator(drawn).first.wait_for(state="attached", timeout=60_000)
    assert frame.locator(drawn).count() > 20
    if index == 0:  # the tokens of the default sentence are drawn as text in the SVG
        assert "cat" in " ".join(frame.locator("svg text").all_text_contents())
    # the frame does not scroll, so the whole drawing must fit in it (the model view is 970 px wide:
    # its last heads were cut off before it was scaled to the frame)
    overflow = frame.locator("html").evaluate("e => [e.scrollWidth - e.clientWidth, e.scrollHeight - e.clientHeight]")
    assert max(overflow) <= 1, f"the view overflows its frame by {overflow} px (width, height)"
    page.screenshot(path=str(screenshots / f"bertviz_{index}.png"), full_page=False)
    assert not blocked, f"the page tried to reach the network: {blocked[:3]}"
