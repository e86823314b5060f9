"""What the probability pages show a learner: rare priors in reach, colours that keep one meaning,
claims computed from the data on screen, and odd input refused clearly."""

import pytest

from tests.app.conftest import assert_clean, metric, open_page, widget
from tests.app.vega_specs import chart, charts

pytestmark = pytest.mark.slow  # each test starts the app and reruns a page several times


def test_bayes_rare_prior_is_one_step_away_and_the_positives_view_keeps_only_positives():
    at = open_page("pages/bayes.py")
    prior = widget(at.select_slider, "Prior")
    assert 0.001 in prior.options or "0.1%" in prior.options
    prior.set_value(0.001).run()
    assert_clean(at)
    assert metric(at, "Before testing") == "0.1%"
    assert metric(at, "After a positive test") == "1.77%"  # 0.9·0.001 / (0.9·0.001 + 0.05·0.999)
    at.toggle(key="bayes.only_positive").set_value(True).run()
    assert_clean(at)
    grid = next(c for c in charts(at) if "group" in c.frame().columns).frame()  # the squares, one per person
    assert set(grid.group) == {"ill, positive", "healthy, positive"} and len(grid) == 51  # 1 ill + 50 healthy of 1,000


def test_bayes_prior_posterior_bars_keep_one_neutral_colour():
    at = open_page("pages/bayes.py")
    for sensitivity, specificity in ((0.9, 0.95), (0.0, 1.0)):  # the second makes a positive impossible
        widget(at.slider, "Sensitivity").set_value(sensitivity)
        widget(at.slider, "Specificity").set_value(specificity).run()
        assert_clean(at)
        bars = chart(at, "Prior → posterior")
        for layer in bars.layers():
            assert "color" not in layer.get("encoding", {}), "a colour per bar changes with the data; red means ill here"
        colours = {layer["mark"].get("color") for layer in bars.layers() if layer["mark"]["type"] == "bar"}
        assert colours == {"#6b6b6b"}
        if sensitivity == 0.0:
            assert "impossible" in set(bars.frame().label)
