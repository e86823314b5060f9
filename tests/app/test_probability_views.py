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


def test_joint_refuses_a_repeated_column_but_keeps_its_table():
    at = open_page("pages/joint_distributions.py")
    at.text_input(key="joint.columns").set_value("bus, bike, bus").run()
    assert_clean(at)
    assert any("'bus' appears more than once" in w.value and "keeps its columns (bus, bike, walk)" in w.value for w in at.warning)
    assert at.get("arrow_data_frame") or at.dataframe, "the table editor must stay on the page"
    assert metric(at, "p-value") == "4.62e-07"  # the table as it was: nothing lost
    at.text_input(key="joint.columns").set_value("bus, bike, walk, train").run()
    assert_clean(at)
    assert not at.warning
    assert metric(at, "Chi-square").endswith("(dof 4)")  # the empty column says nothing about dependence


def test_joint_and_independent_tables_share_one_colour_scale_beside_their_difference():
    at = open_page("pages/joint_distributions.py")
    joint, independent = chart(at, "Joint P(x, y)"), chart(at, "If independent")
    scale = lambda c: c.layers()[0]["encoding"]["color"]["scale"]  # noqa: E731
    assert scale(joint)["domain"] == scale(independent)["domain"]
    assert scale(joint)["domain"][1] == max(joint.frame().value.max(), independent.frame().value.max())
    difference = chart(at, "Difference")
    d = scale(difference)
    assert d["domainMid"] == 0 and d["domain"][0] == -d["domain"][1]
    expected = joint.frame().value.to_numpy() - independent.frame().value.to_numpy()
    assert difference.frame().value.to_numpy() == pytest.approx(expected)


def test_joint_verdict_states_its_cut_off_and_suggests_editing_only_an_editable_table():
    at = open_page("pages/joint_distributions.py")
    said = " ".join(m.value for m in at.markdown)
    assert "p = 4.6e-07 is below the cut-off 0.01" in said
    assert any("Try it" in c.value for c in at.caption)
    widget(at.select_slider, "Cut-off").set_value(0.001).run()
    assert "below the cut-off 0.001" in " ".join(m.value for m in at.markdown)
    at.radio[0].set_value("Sentiment set: label × negation").run()
    assert_clean(at)
    said = " ".join(m.value for m in at.markdown)
    assert "cut-off 0.001" in said
    assert not any("Try it" in c.value or "edit" in c.value.lower() for c in at.caption), "this table can't be edited"


def test_naive_bayes_word_pushes_take_the_colour_of_the_class_they_push_towards():
    at = open_page("pages/naive_bayes.py")
    assert_clean(at)
    priors, pushes = chart(at, "Class priors"), next(c for c in charts(at) if "towards" in c.frame().columns)
    colour = pushes.spec["encoding"]["color"]
    assert colour["field"] == "towards" and colour["scale"] == priors.spec["encoding"]["color"]["scale"]
    scale = dict(zip(colour["scale"]["domain"], colour["scale"]["range"]))
    assert scale["negative"] != scale["positive"]
    frame = pushes.frame()
    leader = "negative"  # the default sentence's prediction
    assert (frame[frame.push > 0].towards == leader).all() and (frame[frame.push < 0].towards == "positive").all()


def test_naive_bayes_word_pair_hint_is_computed_not_assumed():
    at = open_page("pages/naive_bayes.py")
    said = " ".join(m.value for m in [*at.markdown, *at.caption])
    # in the lab's set "not bad" occurs once, in a negative row: word pairs push the default sentence further to negative
    assert "try the word-pair features" not in said
    assert "don't turn it around" in said and "1 in negative, 0 in positive" in said
    at.text_input[0].set_value("the soup was not good").run()
    assert_clean(at)
    said = " ".join(m.value for m in at.markdown)
    assert "try the word-pair features" in said  # "not good" was seen in a negative row: here pairs do turn it around


def test_naive_bayes_gives_every_class_its_own_telling_words_panel():
    at = open_page("pages/naive_bayes.py")
    at.radio(key="nb.source").set_value("Upload a CSV (columns text, label)").run()
    three = "text,label\n" + "".join(f"{w} {w} film {i},{c}\n" for i in range(10) for w, c in
                                      (("great", "good"), ("awful", "bad"), ("fine", "meh")))
    at.file_uploader(key="nb.upload").set_value(("three.csv", three.encode(), "text/csv")).run()
    assert_clean(at)
    panels = [c for c in charts(at) if "log-likelihood ratio" in c.frame().columns]
    assert sorted(p.title for p in panels) == ["bad", "good", "meh"]
    for p in panels:
        assert p.spec["height"] == {"step": 20} and "column" not in p.spec["encoding"]  # no facet squeezed into one chart
        assert set(p.frame()["class"]) == {p.title}


def test_coin_flips_play_keeps_flipping_until_paused():
    at = open_page("pages/coin_flips.py")
    assert widget(at.slider, "Flips seen").value == 3
    at.button(key="coin.play").click().run()  # each run of the playing view (a tick) adds flips
    assert_clean(at)
    first = widget(at.slider, "Flips seen").value
    at.run()
    assert 3 < first < widget(at.slider, "Flips seen").value
    assert at.button(key="coin.play").label.startswith("⏸")
    at.button(key="coin.play").click().run()  # pause: the count stays
    paused = widget(at.slider, "Flips seen").value
    at.run()
    assert widget(at.slider, "Flips seen").value == paused and at.button(key="coin.play").label.startswith("▶")


def test_coin_flips_axis_counts_whole_flips_and_the_mle_survives_a_missing_prior():
    at = open_page("pages/coin_flips.py")  # 3 flips: the axis would read 1.0, 1.1, … 3.0
    estimates = chart(at, "Estimates as the flips arrive")
    for layer in estimates.layers():
        x = layer.get("encoding", {}).get("x", {})
        if x.get("field") == "flips":
            assert x["axis"]["tickMinStep"] == 1 and x["axis"]["format"] == "d"
    widget(at.slider, "Prior strength").set_value(0.0).run()  # no prior, and only heads so far: no posterior yet
    widget(at.slider, "The coin's true").set_value(1.0).run()
    assert_clean(at)
    assert any("at least one head and one tail" in w.value for w in at.warning)
    assert metric(at, "Maximum likelihood") == "1.000"  # 3 heads in 3 flips, no prior needed
    assert metric(at, "Posterior mean") == "no distribution yet"
