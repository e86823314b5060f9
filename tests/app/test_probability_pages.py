"""The probability lab's pages: widgets at their extremes, bad input, and the numbers they show."""


import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from core.foundations.joint import table_from_dataset
from core.infra import data
from tests.app.conftest import assert_clean, metric, open_page, widget

pytestmark = pytest.mark.slow  # each test starts the app and reruns a page many times (~45 s in all)



def test_bayes_page_posterior_and_extremes():
    at = open_page("pages/bayes.py")
    assert_clean(at)
    assert metric(at, "After a positive test") == "15.4%"  # 0.9*0.01 / (0.9*0.01 + 0.05*0.99)
    assert any("59 test positive" in m.value for m in at.markdown)
    widget(at.slider, "Sensitivity").set_value(0.0).run()
    widget(at.slider, "Specificity").set_value(1.0).run()  # a positive result is now impossible
    assert_clean(at)
    assert metric(at, "After a positive test") == "impossible"
    widget(at.select_slider, "Prior").set_value(1.0).run()
    assert_clean(at)
    at.text_input[0].set_value("+-+-").run()  # impossible positives in a sequence: a warning, no traceback
    assert_clean(at)
    assert any("probability 0" in w.value for w in at.warning)
    assert any("Test 1 (+) is impossible: the beliefs stop at the prior" in w.value for w in at.warning)
    widget(at.slider, "Sensitivity").set_value(1.0).run()  # a perfect test: after "+", P(ill) = 1 and "−" can't happen
    widget(at.select_slider, "Prior").set_value(0.5).run()
    at.text_input[0].set_value("+ + - +").run()
    assert_clean(at)
    assert any("Test 3 (−) is impossible: the beliefs stop after test 2" in w.value for w in at.warning)
    assert any(m.value.startswith("After 2 tests: **P(ill) = 100.00%**") for m in at.markdown)  # drawn up to test 2
    widget(at.slider, "Sensitivity").set_value(0.9).run()
    widget(at.slider, "Specificity").set_value(0.95).run()
    widget(at.select_slider, "Prior").set_value(0.0).run()
    at.text_input[0].set_value("+ + + +").run()
    assert_clean(at)
    assert any("P(ill) = 0.00%" in m.value for m in at.markdown)
    at.text_input[0].set_value("no results here").run()
    assert_clean(at)
    assert at.info


def test_coin_page_flips_and_improper_prior():
    at = open_page("pages/coin_flips.py")
    assert_clean(at)
    next(b for b in at.button if b.label == "Flip once").click().run()  # 3 -> 4 flips
    assert widget(at.slider, "Flips seen").value == 4
    widget(at.slider, "Prior strength").set_value(0.0).run()
    widget(at.slider, "The coin's true").set_value(1.0).run()  # only heads: Beta(0 + h, 0) is improper
    assert_clean(at)
    assert any("at least one head and one tail" in w.value for w in at.warning)
    widget(at.slider, "Prior strength").set_value(100.0).run()
    widget(at.slider, "Flips seen").set_value(1000).run()
    assert_clean(at)
    assert metric(at, "Maximum likelihood") == "1.000"
    assert float(metric(at, "Posterior mean")) == pytest.approx((50 + 1000) / 1100, abs=1e-3)
    next(b for b in at.button if b.label == "Start over").click().run()  # no flips
    assert_clean(at)
    assert metric(at, "Maximum likelihood").startswith("undefined")
    widget(at.slider, "Prior guess").set_value(0.0).run()  # a certain prior with strength > 0: improper until a head
    widget(at.slider, "The coin's true").set_value(0.0).run()
    widget(at.slider, "Flips seen").set_value(20).run()
    assert_clean(at)
    assert any("exactly 0 says heads never happen" in w.value for w in at.warning)


def mutual_information_bits(counts) -> str:
    """scikit-learn's mutual information of a table of counts, in bits, as the page prints it."""
    return f"{mutual_info_score(None, None, contingency=np.asarray(counts)) / np.log(2):.4f} bits"


def test_joint_page_example_and_datasets():
    at = open_page("pages/joint_distributions.py")
    assert_clean(at)
    assert metric(at, "p-value") == "4.62e-07"
    assert metric(at, "Mutual information") == mutual_information_bits([[30, 5, 5], [20, 15, 15], [10, 30, 20]])
    # an edit as the browser sends it (AppTest's data_editor takes no set_value): one cell changed, one row added
    at.session_state["joint.editor"] = {"edited_rows": {0: {"bus": 45}}, "deleted_rows": [],
                                        "added_rows": [{"weather": "snow", "bus": 8, "bike": 1, "walk": 6}]}
    at.run()
    assert_clean(at)
    assert metric(at, "Mutual information") == mutual_information_bits([[45, 5, 5], [20, 15, 15], [10, 30, 20], [8, 1, 6]])
    at.text_input(key="joint.columns").set_value("bus, bike, walk, train").run()  # a new column; the edits so far stay
    assert_clean(at)
    assert metric(at, "Chi-square").endswith("(dof 6)")  # 4 x 3: the new column is empty so far
    at.session_state["joint.editor"] = {"edited_rows": {0: {"train": 10}}, "deleted_rows": [], "added_rows": []}
    at.run()
    assert_clean(at)
    assert metric(at, "Chi-square").endswith("(dof 9)")
    assert metric(at, "Mutual information") == mutual_information_bits([[45, 5, 5, 10], [20, 15, 15, 0], [10, 30, 20, 0], [8, 1, 6, 0]])
    at.session_state["joint.editor"] = {"edited_rows": {1: {"weather": "rain"}}, "deleted_rows": [], "added_rows": []}
    at.run()
    assert_clean(at)
    assert any("'rain' appears more than once" in w.value for w in at.warning)
    at.text_input(key="joint.columns").set_value("bus, walk, bus").run()
    assert_clean(at)
    assert any("'bus' appears more than once" in w.value for w in at.warning)
    at.text_input(key="joint.columns").set_value("bus, bike, walk, train").run()  # back to four columns: every edit kept,
    assert_clean(at)
    assert any("'rain' appears more than once" in w.value for w in at.warning)  # the repeated label too, until fixed
    at.radio[0].set_value("Iris: species × a measurement").run()
    assert_clean(at)
    at.slider[0].set_value(10).run()
    assert_clean(at)
    assert metric(at, "Mutual information") == mutual_information_bits(table_from_dataset("iris", 2, 10)[0])
    at.radio[0].set_value("Sentiment set: label × negation").run()
    assert_clean(at)
    assert metric(at, "Mutual information") == mutual_information_bits(table_from_dataset("sentiment")[0])


def test_naive_bayes_text_controls_and_bad_sentences():
    at = open_page("pages/naive_bayes.py")
    assert_clean(at)
    assert metric(at, "Held-out accuracy") == "71.2%"  # scikit-learn's CountVectorizer + MultinomialNB: 171 of the 240 test rows
    assert metric(at, "Training rows") == str(len(data.sentiment("train")))
    at.select_slider[0].set_value(1e-4).run()
    assert_clean(at)
    at.checkbox[0].uncheck().run()  # random split with a held-out share slider
    widget(at.slider, "Held-out share").set_value(0.9).run()
    assert_clean(at)
    assert metric(at, "Training rows") == "110"  # 10% of each class of 545 rows: 545 - round(0.9 · 545) = 55, twice
    at.text_input[0].set_value("xyzzy qwertyuiop").run()  # only unknown words
    assert_clean(at)
    assert any("class prior alone" in i.value for i in at.info)
    # the sentiment set's own training rows are balanced: equal priors, so a tie and no winner named
    assert any(m.value.startswith("Prediction: **a tie** between negative and positive (negative: 50.0%, positive: 50.0%)")
               for m in at.markdown)
    assert not any(m.value.startswith("Prediction: **negative**") for m in at.markdown)
    at.text_input[0].set_value("!!! ?").run()  # no countable words at all
    assert_clean(at)
    assert at.warning
    at.radio[2].set_value(2).run()  # word pairs
    assert_clean(at)


def test_naive_bayes_uploads():
    at = open_page("pages/naive_bayes.py")
    at.radio(key="nb.source").set_value("Upload a CSV (columns text, label)").run()
    assert_clean(at)
    assert any("Upload a CSV" in i.value for i in at.info)
    one_class = "text,label\n" + "".join(f"review number {i},pos\n" for i in range(12))
    at.file_uploader(key="nb.upload").set_value(("one.csv", one_class.encode(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("at least two classes" in w.value for w in at.warning)
    three = "text,label\n" + "".join(f"{w} {w} film {i},{c}\n" for i in range(10) for w, c in
                                      (("great", "good"), ("awful", "bad"), ("fine", "meh")))
    at.file_uploader(key="nb.upload").set_value(("three.csv", three.encode(), "text/csv")).run()
    assert_clean(at)
    assert metric(at, "Held-out accuracy") == "100.0%"  # each class has its own word
    assert metric(at, "Training rows") == "24"  # 10 rows a class, a quarter of each held out: round(2.5) = 2, 6 in all
    next(n for n in at.number_input if n.label == "Split seed").set_value(7).run()  # another split, still clean
    assert_clean(at)


def test_naive_bayes_gaussian_extremes():
    at = open_page("pages/naive_bayes.py")
    at.radio[0].set_value("Numbers: Gaussian naive Bayes").run()
    assert_clean(at)
    at.select_slider[0].set_value(0.0).run()
    at.radio[1].set_value("wine").run()
    assert_clean(at)
    at.selectbox[1].set_value(0).run()  # the same feature twice
    assert_clean(at)
    assert any("two different features" in i.value for i in at.info)
    at.selectbox[1].set_value(12).run()
    widget(at.slider, "Held-out share").set_value(0.9).run()
    assert_clean(at)
    assert float(metric(at, "Held-out accuracy").rstrip("%")) > 50


def test_markov_page_orders_levels_and_corpora():
    at = open_page("pages/markov_chains.py")
    assert_clean(at)
    assert len([m for m in at.markdown if m.value.startswith("**k = ")]) == 5
    at.radio[0].set_value("word").run()
    assert_clean(at)
    at.selectbox[0].set_value("markov").run()
    assert_clean(at)
    widget(at.slider, "Order k").set_value(12).run()
    assert_clean(at)
    at.select_slider[0].set_value(100.0).run()  # heavy smoothing of the letter chain
    assert_clean(at)
    at.selectbox[0].set_value("upload").run()  # no file yet: a hint, not an error
    assert_clean(at)
    assert at.info
    at.radio[0].set_value("char").run()
    at.file_uploader(key="markov.upload").set_value(("short.txt", b"hello", "text/plain")).run()  # 5 characters
    assert_clean(at)
    assert any(i.value == "an order-5 chain needs more than 5 tokens of training text; this corpus has 5" for i in at.info)
    assert len([m for m in at.markdown if m.value.startswith("**k = ")]) == 5  # orders 1-4 still sample


def stationary_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith(("All three agree", "They part")))


def test_markov_stationary_caption_says_what_the_bars_show():
    """"All three agree" only when they do: with α = 100, π and the text's letter frequencies part (the old caption
    said they agree at every α). The numbers in the caption are π solved here from the same counts."""
    from core.infra import data
    from core.lm.markov_matrix import letter_ids, stationary_distribution, transition_matrix

    at = open_page("pages/markov_chains.py")
    assert stationary_caption(at).startswith("All three agree")
    widget(at.select_slider, "Add-alpha smoothing").set_value(100.0).run()
    assert_clean(at)
    caption = stationary_caption(at)
    assert caption.startswith("They part: with α = 100")
    ids = letter_ids(data.load_text("python-docs"))
    counts = np.zeros((27, 27))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)  # counted by hand, not by the page's function
    P = (counts + 100) / (counts + 100).sum(1, keepdims=True)
    assert np.allclose(P, transition_matrix(ids, 27, 100.0))
    pi = np.linalg.eig(P.T)[1][:, 0].real
    pi /= pi.sum()
    assert np.allclose(pi, stationary_distribution(P), atol=1e-9)
    observed = np.bincount(ids, minlength=27) / len(ids)
    worst = int(np.argmax(np.abs(pi - observed)))
    assert worst == 0 and f"space {pi[0]:.1%} of the time while the text has it {observed[0]:.1%}" in caption


def test_markov_transition_matrix_labels_every_row_and_has_a_legend():
    import json

    at = open_page("pages/markov_chains.py")
    spec = next(s for s in (json.loads(c.proto.spec) for c in at.get("vega_lite_chart")) if s.get("title", "").startswith("Transition"))
    assert spec["height"]["step"] >= 14  # 27 rows, each as tall as its label (the browser test measures it too)
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False  # Vega may not drop every other letter
    assert spec["layer"][0]["encoding"]["color"]["legend"]["title"] == "P(next | current)"  # a legend says what the blues mean
