"""Every chart a page draws is a valid Vega-Lite spec, and the lab draws no Altair chart.

Pages hand Streamlit plain dicts (ui/vega.py), which nobody validates on the way (Altair used to, at
13-17 ms a chart: benchmarks/bench_charts.py). A typo in a dict would draw an empty box in the
browser and no error here, so each spec a page sent is checked against the Vega-Lite schema that
ships with Altair, the version Streamlit draws.
"""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.test_vega import VALIDATOR
from ui.curriculum import all_pages

APP = str(Path(__file__).parents[2] / "streamlit_app.py")
# pages that load no pretrained model and train nothing on their first run: quick enough for every test run
QUICK = ["pages/bayes.py", "pages/joint_distributions.py", "pages/coin_flips.py", "pages/gradient_descent.py", "pages/naive_bayes.py"]


def deepest(error):
    """The most specific of a schema error's causes (an anyOf failure names them all)."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def chart_errors(path: str) -> tuple[int, list[str]]:
    at = AppTest.from_file(APP, default_timeout=300).run().switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("vega_lite_chart")
    errors = []
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        title = spec.get("title", "(untitled)")
        errors += [f"{title}: {'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in map(deepest, VALIDATOR.iter_errors(spec))]
    return len(charts), errors


@pytest.mark.parametrize("path", QUICK)
def test_quick_pages_draw_valid_vega_lite(path):
    n, errors = chart_errors(path)
    assert n > 0 and not errors, errors


@pytest.mark.slow
@pytest.mark.parametrize("path", [p.path for p in all_pages() if p.path not in QUICK])
def test_every_other_page_draws_valid_vega_lite(path):
    _, errors = chart_errors(path)
    assert not errors, errors


def test_no_page_or_ui_module_imports_altair():
    root = Path(__file__).parents[2]
    offenders = [str(f.relative_to(root)) for folder in ("pages", "ui") for f in (root / folder).glob("*.py")
                 if "import altair" in f.read_text() or "from altair" in f.read_text()]
    assert not offenders, offenders
