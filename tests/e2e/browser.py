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
def streamlit_server(timeout_s: float = 60, chart_renderer: str | None = None):
    """Yield (base_url, process) of `streamlit run streamlit_app.py` on a free loopback port.

    `chart_renderer="svg"`: every chart drawn as SVG, so `charts` can read its axes (ui/vega.RENDERER)."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    if chart_renderer:
        env["LLM_LAB_CHART_RENDERER"] = chart_renderer
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


def slider_keys(page, label: str, *keys: str) -> None:
    """Move a slider with the keyboard, as a learner can ("Home": its minimum, "End": its maximum)."""
    page.get_by_role("slider", name=label).focus()
    for key in keys:
        page.keyboard.press(key)
    wait_idle(page)


def error_boxes(page) -> list[str]:
    """Texts of Streamlit's exception boxes and st.error alerts on the page."""
    boxes = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [boxes.nth(i).inner_text()[:500] for i in range(boxes.count())]


# ----------------------------------------------------------------------------- reading the charts a page drew

MIN_ROW_PX = 14  # a labelled row (a token, a class, a bar) thinner than this crowds its 12 px label
MIN_UNLABELLED_ROW_PX = 4  # a row with no label must still show as a row
MIN_PLOT_PX = 100  # the plot area of a chart with a continuous y axis

# Every drawn Vega-Lite chart's axes and legends, read from its SVG (the app draws SVG when
# LLM_LAB_CHART_RENDERER=svg, as the browser tests' server sets it). Vega-Lite describes each axis in its
# aria-label ("Y-axis titled 'token' for a discrete scale with 14 values: …"); a label Vega hid to avoid an
# overlap is still in the SVG, with opacity 0.
_CHARTS_JS = """() => {
  const shown = el => el.getClientRects().length > 0;
  const box = el => el.getBoundingClientRect();
  const visible = t => t.getAttribute('opacity') !== '0' && t.textContent.trim() !== '';
  return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].filter(shown).map(el => {
    const svg = el.querySelector('svg.marks');
    if (!svg) return {renderer: el.querySelector('canvas') ? 'canvas' : 'none', title: '', axes: [], legends: []};
    const title = [...svg.querySelectorAll('.role-title-text')].map(t => t.textContent).join(' ');
    const axes = [...svg.querySelectorAll('g.role-axis')].map(ax => {
      const aria = ax.getAttribute('aria-label') || '';
      const count = aria.match(/discrete scale with (\\d+) value/);
      let labels = [...ax.querySelectorAll('g.role-axis-label text')];
      if (labels.every(t => t.textContent.trim() === '')) labels = [];  // labels blanked on purpose (labelExpr '')
      const y = aria.startsWith('Y');
      const centres = labels.map(t => { const b = box(t); return y ? b.top + b.height / 2 : b.left + b.width / 2; });
      const cell = ax.parentElement.closest('g.mark-group');
      const bg = cell && cell.querySelector('path.background');
      const plot = bg ? box(bg) : box(ax);
      return {orient: y ? 'y' : 'x', aria: aria.slice(0, 120), discrete: !!count, values: count ? +count[1] : null,
              labels: labels.length, shown: labels.filter(visible).length, centres,
              cut: labels.filter(visible).map(t => t.textContent).filter(s => s.endsWith('…')),
              plot_height: plot.height, plot_width: plot.width};
    });
    const legends = [...svg.querySelectorAll('g.role-legend')].map(lg => {
      const labels = [...lg.querySelectorAll('g.role-legend-label text')].map(t => t.textContent);
      // a symbol's look: its fill, ring (stroke) and dashes; entries that differ in any of them can be told apart
      // (a legend of dash patterns in one colour, or of ring colours around one fill, is a legitimate legend)
      const paint = c => c && c !== 'transparent' && c !== 'none' ? c : '';
      const colours = [...lg.querySelectorAll('g.role-legend-symbol path')].map(p => {
        const look = [paint(p.getAttribute('fill')), paint(p.getAttribute('stroke')), p.getAttribute('stroke-dasharray') || '']
          .filter(Boolean).join(' ');
        return look || null; });
      return {labels, colours, cut: labels.filter(s => s.endsWith('…'))};
    });
    return {renderer: 'svg', title, axes, legends};
  });
}"""


def charts(page) -> list[dict]:
    """What `_CHARTS_JS` reads of every chart the page shows now (hidden tabs' charts are not drawn)."""
    return page.evaluate(_CHARTS_JS)


def _step(centres: list[float]) -> float | None:
    """The smallest distance between neighbouring labels of an axis: its band (row) step."""
    points = sorted(set(round(c, 1) for c in centres))
    gaps = [b - a for a, b in zip(points, points[1:])]
    return min(gaps) if gaps else None


def _numbered(labels: list[str]) -> list[int] | None:
    """The numbers of labels that are one word and a number ("head 3"), or None if they are not all like that."""
    parts = [label.rpartition(" ") for label in labels]
    if len(labels) < 3 or len({p[0] for p in parts}) != 1 or not all(p[2].isdigit() for p in parts):
        return None
    return [int(p[2]) for p in parts]


def _axis_problems(name: str, ax: dict) -> list[str]:
    what = f"{name}, {ax['orient']} axis ({ax['aria'][:70]})"
    problems = []
    if ax["discrete"] and ax["labels"]:
        if ax["shown"] < ax["values"]:
            problems.append(f"{what}: only {ax['shown']} of {ax['values']} labels shown")
        step = _step(ax["centres"])
        if ax["orient"] == "y" and step is not None and step < MIN_ROW_PX - 0.5:
            problems.append(f"{what}: rows {step:.1f} px apart (at least {MIN_ROW_PX})")
    elif ax["discrete"] and ax["orient"] == "y" and ax["values"] and ax["plot_height"] / ax["values"] < MIN_UNLABELLED_ROW_PX:
        problems.append(f"{what}: {ax['values']} rows in {ax['plot_height']:.0f} px")
    elif not ax["discrete"] and ax["orient"] == "y" and ax["plot_height"] < MIN_PLOT_PX:
        problems.append(f"{what}: plot {ax['plot_height']:.0f} px tall (at least {MIN_PLOT_PX})")
    if ax["cut"]:
        problems.append(f"{what}: labels cut short: {ax['cut'][:3]}")
    return problems


def _legend_problems(name: str, legend: dict) -> list[str]:
    problems = []
    colours = [c for c in legend["colours"] if c]
    if len(colours) > 1 and len(set(colours)) < len(colours):
        problems.append(f"{name}: legend repeats colours ({len(colours)} entries, {len(set(colours))} colours)")
    numbers = _numbered(legend["labels"])
    if numbers is not None and numbers != sorted(numbers):
        problems.append(f"{name}: legend out of order: {legend['labels'][:6]}…")
    if legend["cut"]:
        problems.append(f"{name}: legend labels cut short: {legend['cut'][:3]}")
    return problems


def chart_problems(drawn: list[dict]) -> list[str]:
    """What a learner could not read in the charts: thin rows, labels Vega dropped or cut, squashed plots,
    legends whose colours repeat or whose numbered entries are out of order."""
    problems = []
    for chart in drawn:
        name = f"chart {chart['title']!r}" if chart["title"] else "an untitled chart"
        for ax in chart["axes"]:
            problems += _axis_problems(name, ax)
        for legend in chart["legends"]:
            problems += _legend_problems(name, legend)
    return problems


def page_height(page) -> int:
    """The height of everything the page drew (Streamlit scrolls inside its own container, so a full-page
    screenshot of the window would miss the rest)."""
    return int(page.evaluate("""() => {
      const main = document.querySelector('[data-testid="stMainBlockContainer"]') || document.body;
      return main.getBoundingClientRect().top + main.scrollHeight + 80; }"""))


def screenshot_whole(page, path, width: int = 1400, max_height: int = 16_000) -> None:
    """A screenshot of the whole page: the window is made as tall as the page, drawn again, then put back."""
    before = page.viewport_size
    page.set_viewport_size({"width": width, "height": min(max(page_height(page), 600), max_height)})
    wait_idle(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(before)
