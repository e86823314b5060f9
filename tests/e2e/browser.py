"""Start `streamlit run` on loopback and drive it with headless Chromium (Debian's package).

Shared by the browser tests and benchmarks/bench_app.py.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# without the background-networking flags Chromium keeps calling Google hosts this sandbox refuses
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(timeout_s: float = 60):
    """Yield (base_url, process) of `streamlit run streamlit_app.py` on a free loopback port."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit run did not start") from e
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def page_url(base: str, path: str) -> str:
    """URL of a page file: st.navigation serves pages/<stem>.py at /<stem>, the default page at /."""
    stem = Path(path).stem
    return base + "/" if path == "pages/home.py" else f"{base}/{stem}"


# True once the browser has drawn what the script sent: no grey placeholder left (Streamlit shows a
# stSkeleton while an element's code loads) and every visible chart holds its SVG or canvas.
# Hidden ones (a closed tab) are skipped: the browser draws them only when they are shown.
_DRAWN_JS = """() => {
  const shown = el => el.getClientRects().length > 0;
  const skeletons = [...document.querySelectorAll('[data-testid="stSkeleton"]')].filter(shown);
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stGraphVizChart"]')]
    .filter(shown).filter(el => !el.querySelector('svg, canvas'));
  return skeletons.length + charts.length;
}"""


def wait_idle(page, timeout_s: float = 180, quiet_s: float = 1.0) -> None:
    """Wait until the page's script has run and stayed finished for `quiet_s` in a row, and the
    browser has drawn it: no loading placeholder, every visible chart and graph rendered.

    Streamlit's app root carries the script state in `data-test-script-state` ("running" while
    the script runs, "notRunning" once it is done); a quiet spell catches a rerun that a widget
    starts right after the first run. Charts and Graphviz graphs draw after the script is done
    (their code loads lazily), so a screenshot taken then showed grey boxes: we wait for them too.
    """
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_s * 1000)
    app = page.locator('[data-testid="stApp"]')
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    undrawn = 0
    while time.monotonic() < deadline:
        undrawn = page.evaluate(_DRAWN_JS)
        if app.get_attribute("data-test-script-state") != "notRunning" or undrawn:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.1)
    what = f"{undrawn} placeholder(s) or chart(s) still not drawn" if undrawn else "the script still running"
    raise TimeoutError(f"page not idle after {timeout_s:.0f} s: {what}")


def error_boxes(page) -> list[str]:
    """Texts of Streamlit's exception boxes and st.error alerts on the page."""
    boxes = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [boxes.nth(i).inner_text()[:500] for i in range(boxes.count())]
