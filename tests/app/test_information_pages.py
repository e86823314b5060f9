"""The information-theory, cross-entropy-loss and n-gram pages: numbers shown, extremes, bad input."""

import json
import math
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import assert_clean, metric, open_page, widget

# ----------------------------------------------------------------------------- information_theory.py


def test_information_page_defaults_to_a_loaded_die():
    """A die with P(six) = 0.5 and 0.1 for each other face, worked by hand."""
    at = open_page("pages/information_theory.py")
    assert_clean(at)
    assert metric(at, "Entropy H(p)") == "2.161 bits"  # 0.5·1 + 5·0.1·log2 10 = 0.5 + 0.5·3.3219
    assert metric(at, "Maximum") == "2.585 bits"  # log2 6
    assert metric(at, "Huffman code for p") == "2.200 bits"  # lengths 1, 3, 3, 3, 4, 4
    # q starts as p^0.5 normalised: 0.1382 for faces 1-5, 0.3090 for the six; Shannon lengths ceil(-log2 q) = 3 and 2
    assert metric(at, "Shannon code for q") == "2.500 bits"  # 0.5·3 + 0.5·2
    assert any("blank cell counts as 0" in c.value for c in at.caption)  # the page says how it reads a new row


def test_bad_typed_distributions_give_a_warning_not_a_traceback():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "Start from").select("typed by you").run()
    for typed, shown in [("1, -1", "negative"), ("0 0 0", "all zeros"), ("1, nan", "NaN"), ("a, b", "numbers"), ("", "no outcomes")]:
        widget(at.text_area, "Weights").input(typed).run()
        assert_clean(at)
        assert any(shown in w.value for w in at.warning), (typed, [w.value for w in at.warning])


def test_typed_extremes_unnormalised_single_outcome_and_thousands():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "Start from").select("typed by you").run()
    area = widget(at.text_area, "Weights")
    area.input("2 2").run()
    assert metric(at, "Entropy H(p)") == "1.000 bits"
    assert any("sum to 4" in i.value for i in at.info)  # normalised, and the page says so
    area.input("5").run()
    assert_clean(at)
    assert metric(at, "Entropy H(p)") == "0.000 bits" and metric(at, "Huffman code for p") == "0.000 bits"
    area.input(" ".join(["1"] * 3000)).run()
    assert_clean(at)
    assert metric(at, "Entropy H(p)") == f"{math.log2(3000):.3f} bits"


def test_a_q_that_misses_an_outcome_gives_infinite_kl_explained():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "q starts as").select("missing p's least likely outcome").run()
    assert_clean(at)
    assert metric(at, "KL(p ‖ q) =") == "∞" and metric(at, "Huffman code for q") == "∞"
    assert metric(at, "KL(q ‖ p) =") != "∞" and metric(at, "Jensen–Shannon") != "∞"
    assert any("infinite, and that is the right answer" in i.value for i in at.info)


def test_presets_and_extreme_sliders():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "Start from").select("biased coin").run()
    widget(at.slider, "P(heads)").set_value(1.0).run()
    assert_clean(at)
    assert metric(at, "Entropy H(p)") == "0.000 bits"
    widget(at.selectbox, "Start from").select("uniform").run()
    widget(at.slider, "Outcomes").set_value(4096).run()
    assert_clean(at)
    assert metric(at, "Entropy H(p)") == "12.000 bits" and metric(at, "Huffman code for p") == "12.000 bits"


@pytest.mark.slow
def test_language_model_preset_gives_a_next_token_distribution():
    at = open_page("pages/information_theory.py")
    widget(at.selectbox, "Start from").select("next token of a language model").run()
    assert_clean(at)
    assert 0 < float(metric(at, "Entropy H(p)").split()[0]) < math.log2(11)
    assert any(c.value.startswith("SmolLM2") and "offline" in c.value for c in at.caption)
    widget(at.text_input, "Prompt").input("   ").run()
    assert any("type a prompt" in w.value for w in at.warning)


# ----------------------------------------------------------------------------- cross_entropy_loss.py


def test_loss_page_shows_the_overflow_and_matches_torch():
    at = open_page("pages/cross_entropy_loss.py")
    assert_clean(at)
    assert any("naive formula broke" in i.value for i in at.info)  # default multiplier 100 overflows float32
    assert metric(at, "Our loss") == metric(at, "torch.nn.functional.cross_entropy")
    widget(at.select_slider, "Multiply the logits by").set_value(1).run()
    assert not any("naive formula broke" in i.value for i in at.info)
    widget(at.slider, "Label smoothing").set_value(1.0).run()
    assert_clean(at)
    assert metric(at, "Our loss") == metric(at, "torch.nn.functional.cross_entropy")
    widget(at.text_input, "This prediction's logits").input("1e30, -1e30").run()
    assert_clean(at)
    assert metric(at, "Our loss") == metric(at, "torch.nn.functional.cross_entropy")


def test_loss_page_bad_logits():
    at = open_page("pages/cross_entropy_loss.py")
    for typed in ["a, b", "3", "", "1e39, 0", "nan, 1", "1e37, 0"]:  # 1e37 x 100 overflows float32
        widget(at.text_input, "Logits z").input(typed).run()
        assert_clean(at)
        assert at.warning, typed


@pytest.mark.slow
def test_loss_race_trains_and_reports_both_models():
    at = open_page("pages/cross_entropy_loss.py")
    widget(at.slider, "Steps").set_value(20)
    widget(at.button, "Train both").click().run()
    assert_clean(at)
    for name in ("cross-entropy", "squared error"):
        assert metric(at, f"{name}: test accuracy").endswith("%")


# ----------------------------------------------------------------------------- ngram_perplexity.py


@pytest.mark.slow  # trains n-grams on growing corpora, several seconds
def test_ngram_page_never_beats_the_entropy_rate():
    at = open_page("pages/ngram_perplexity.py")
    assert_clean(at)
    rate = float(metric(at, "Entropy rate"))
    assert float(metric(at, "Trigram, 100k")) > rate
    assert float(metric(at, "Unigram, 100k")) > rate + 1


def measured_trigram(at: AppTest) -> float:
    caption = next(c.value for c in at.caption if c.value.startswith("Measured on one sample"))
    return float(re.search(r"trigram (\d+\.\d+)", caption).group(1))


@pytest.mark.slow  # each case solves a source and trains its n-grams
@pytest.mark.parametrize("order, concentration, k", [(2, 0.1, 0.001), (1, 1.0, 0.1), (1, 0.1, 0.001)])
def test_ngram_headline_never_beats_the_rate_where_one_sample_does(order, concentration, k):
    """At these settings the measured held-out trigram lands below the entropy rate (a lucky
    sample); the headline is the exact expectation, which cannot."""
    at = open_page("pages/ngram_perplexity.py")
    widget(at.slider, "Source order").set_value(order)
    widget(at.select_slider, "Concentration").set_value(concentration)
    widget(at.select_slider, "Smoothing k").set_value(k)
    widget(at.button, "Train the models").click().run()
    assert_clean(at)
    rate = float(metric(at, "Entropy rate"))
    assert measured_trigram(at) < rate  # the old headline showed this number
    headline = "Bigram, 100k" if order == 1 else "Trigram, 100k"  # the model with the source's own memory
    assert float(metric(at, headline)) >= rate and float(metric(at, "Unigram, 100k")) >= rate
    assert any("can land a little below the floor by chance" in c.value for c in at.caption)


def curve_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Lines: each model's exact expected"))


def chart_title(at: AppTest, start: str) -> str:
    return next(t for t in (json.loads(c.proto.spec).get("title", "") for c in at.get("vega_lite_chart")) if t.startswith(start))


@pytest.mark.slow  # each setting trains its n-grams on 100k tokens
def test_ngram_claims_follow_the_curve_on_screen():
    """The caption and the title say what the table under "The numbers" shows: which model starts best and worst
    with the least text, and whether any reaches the floor (the old caption said the trigram starts worst, while at
    100 tokens it is the best, and the title said "down to the floor" when no model could reach it)."""
    at = open_page("pages/ngram_perplexity.py")
    for order in (2, 3):
        widget(at.slider, "Source order").set_value(order)
        widget(at.button, "Train the models").click().run()
        assert_clean(at)
        curve = at.dataframe[0].value
        first = curve[curve.train_tokens == curve.train_tokens.min()].set_index("model").exact_bits
        assert f"starts best and the {first.idxmax()} worst" in curve_caption(at)
        assert f"the {first.idxmin()} starts best" in curve_caption(at)
        last = curve[curve.train_tokens == curve.train_tokens.max()].set_index("model").excess_bits
        title = chart_title(at, "Learning curves")
        assert title.endswith("down to the floor") == (last.min() <= 0.05), title
        assert set(curve.model) == ({"unigram", "bigram", "trigram", "4-gram"} if order == 3 else {"unigram", "bigram", "trigram"})
    assert first.idxmin() == "4-gram" and "4-gram" in title  # order 3: the model with its memory is offered, and closest


@pytest.mark.slow  # builds a 4,096-context source before refusing the next size
def test_ngram_page_refuses_a_source_too_large_to_solve():
    at = open_page("pages/ngram_perplexity.py")
    widget(at.slider, "Source order").set_value(3)
    widget(at.slider, "Source vocabulary").set_value(26)
    widget(at.button, "Train the models").click().run()
    assert_clean(at)
    assert any("17,576 contexts" in w.value for w in at.warning)


@pytest.mark.slow
def test_ngram_page_extremes_and_real_english():
    at = open_page("pages/ngram_perplexity.py")
    widget(at.slider, "Source order").set_value(1)  # form widgets: set them all, then submit
    widget(at.slider, "Next words allowed").set_value(1)  # a deterministic source: entropy rate 0
    widget(at.button, "Train the models").click().run()
    assert_clean(at)
    assert float(metric(at, "Entropy rate")) == 0.0
    assert any("order 1" in i.value for i in at.info)
    widget(at.radio, "Text").set_value("Python's reference manual (real English)").run()
    assert_clean(at)
