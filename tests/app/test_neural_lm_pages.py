"""The LM ladder and the RNN-memory pages: every control at both ends, odd text, Train pressed, numbers shown."""

import pytest
from streamlit.testing.v1 import AppTest

from core.errors import LabError
from core.lm import ladder
from core.lm.ngram import NGramConfig
from core.nn import forgetting
from tests.app.conftest import assert_clean as clean
from tests.app.conftest import metric, open_page

ODD_TEXTS = ["", " \n\t ", "😀" * 50, "שלום עולם " * 40, "<b>bold</b> & <script>alert(1)</script> " * 30, "a\x00b " * 300,
             "x" * 20_000, "The cat sat. 🐈‍⬛ Le chat s'assit. 猫が座った。 " * 40]


def by_prefix(elements, prefix: str):
    """The widget whose key starts with `prefix` (keys that end in the corpus's id)."""
    return next(w for w in elements if (w.key or "").startswith(prefix))


def submit(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label.startswith(label)).click().run()


# ----------------------------------------------------------------------------- the ladder


def test_ladder_first_load_counts_the_ngram_rung_and_explains_a_context():
    at = open_page("pages/neural_lm_ladder.py")
    clean(at)
    corpus = ladder.load_corpus("markov")
    assert metric(at, "Training tokens") == f"{len(corpus.train):,}"
    assert any("entropy rate" in c.value and f"{corpus.entropy_rate:.4f}" in c.value for c in at.caption)
    lm = ladder.fit_ngram(corpus, NGramConfig(order=3, smoothing="kneser-ney"))
    context = by_prefix(at.text_input, "lad.ctx.").value
    view = ladder.explore(lm, corpus, context)
    assert any(f"= {view['explain'][0]['probability']:.4g}" in m.value for m in at.markdown)
    assert any("press **Train the ladder**" in i.value for i in at.info)


@pytest.mark.slow  # 13 reruns, fitting n-grams up to order 8
def test_every_smoothing_and_both_ends_of_the_order():
    at = open_page("pages/neural_lm_ladder.py")  # one page for every smoothing: each AppTest run costs CI time
    for smoothing in ("mle", "add-k", "interpolated", "kneser-ney"):
        at.selectbox(key="lad.smooth").set_value(smoothing).run()
        for order in (1, 8):
            at.slider(key="lad.order.word").set_value(order).run()
            clean(at)
        if smoothing == "mle":
            assert any("Infinite cross-entropy" in w.value for w in at.warning)  # order 8 of raw counts meets unseen 8-grams
    at.slider(key="lad.order.word").set_value(1).run()
    assert any("needs n ≥ 2" in i.value for i in at.info)  # Kneser-Ney at n = 1
    at.slider(key="lad.d").set_value(1.0).run()
    at.slider(key="lad.d").set_value(0.05).run()
    clean(at)


def test_odd_contexts_and_words_never_break_the_explainer():
    at = open_page("pages/neural_lm_ladder.py")
    for text in ["", "zebra unicorn", "😀 שלום", "<b>x</b>", "the " * 100]:
        by_prefix(at.text_input, "lad.ctx.").input(text).run()
        by_prefix(at.text_input, "lad.word.").input(text[:100]).run()
        clean(at)


@pytest.mark.slow  # trains networks
def test_training_two_rungs_shows_them_on_the_chart_with_samples():
    at = open_page("pages/neural_lm_ladder.py")
    at.multiselect(key="lad.rungs").set_value(["n-gram", "MLP", "GRU", "GPT"])
    at.select_slider(key="lad.steps").set_value(50)
    at.select_slider(key="lad.hidden").set_value(16)
    submit(at, "Train the ladder")
    clean(at)
    table = at.dataframe[-1].value
    assert {"MLP (k=3)", "GRU", "GPT", "2-gram", "3-gram"} <= set(table.model)
    assert (table.heldout_bits > ladder.load_corpus("markov").entropy_rate - 0.1).all()  # near or above the floor, never far below
    assert any("Lowest held-out cross-entropy" in c.value for c in at.caption)
    assert len([t for t in at.text if t.value]) >= 3  # a sample per rung
    at.run()  # a later rerun keeps the trained rungs
    assert {"MLP (k=3)", "GRU"} <= set(at.dataframe[-1].value.model)


@pytest.mark.slow  # trains networks
def test_training_extremes_one_step_tiny_sizes_and_a_diverging_learning_rate():
    at = open_page("pages/neural_lm_ladder.py")
    at.multiselect(key="lad.rungs").set_value(["MLP", "RNN", "GPT"])
    at.slider(key="lad.gptl").set_value(4)
    at.select_slider(key="lad.gptlr").set_value(0.02)
    at.select_slider(key="lad.steps").set_value(1)
    at.select_slider(key="lad.hidden").set_value(4)
    at.select_slider(key="lad.embed").set_value(2)
    at.select_slider(key="lad.batch").set_value(1)
    at.select_slider(key="lad.block").set_value(16)
    at.slider(key="lad.k.word").set_value(16)
    at.slider(key="lad.n.word").set_value(12)
    at.select_slider(key="lad.lr").set_value(1.0)
    at.select_slider(key="lad.clip").set_value("off")
    at.number_input(key="lad.seed").set_value(10_000)
    submit(at, "Train the ladder")
    clean(at)
    assert {"MLP (k=16)", "RNN", "GPT"} <= set(at.dataframe[-1].value.model)
    at.multiselect(key="lad.rungs").set_value([])
    submit(at, "Train the ladder")
    clean(at)
    assert any("at least one rung" in i.value for i in at.info)


@pytest.mark.slow  # several seconds of AppTest reruns
def test_your_own_text_odd_inputs_give_a_message_or_a_model():
    at = open_page("pages/neural_lm_ladder.py")
    at.radio(key="lad.corpus").set_value("text").run()
    for text in ODD_TEXTS:
        at.text_area(key="lad.text").input(text).run()
        for unit in ("word", "char"):
            at.radio(key="lad.unit").set_value(unit).run()
            clean(at)
            try:
                corpus = ladder.load_corpus("text", unit, text)
            except LabError as e:  # too little text, no words, a NUL: the page says so, in the same words
                assert [w.value for w in at.warning] == [str(e)], text[:20]
            else:
                assert metric(at, "Training tokens") == f"{len(corpus.train):,}", text[:20]


@pytest.mark.slow  # several seconds of AppTest reruns
def test_python_manual_in_characters():
    at = open_page("pages/neural_lm_ladder.py")
    at.radio(key="lad.corpus").set_value("python-docs").run()
    clean(at)
    assert metric(at, "Vocabulary") == f"{len(ladder.load_corpus('python-docs', 'char').vocab):,}"


# ----------------------------------------------------------------------------- why RNNs forget


@pytest.mark.slow  # 17 reruns, 400 steps and 256 units at the ends
def test_gradient_flow_controls_at_both_ends():
    at = open_page("pages/rnn_memory.py")
    clean(at)
    rows = forgetting.gradient_flow(forgetting.FlowConfig(seq_len=60, hidden=32, clip=1.0))
    assert metric(at, "RNN: factor per step back") == f"{forgetting.decay_per_step(rows, 'RNN'):.3f}"
    for key, ends in {"mem.T": (2, forgetting.MAX_SEQ_LEN), "mem.H": (2, 256), "mem.scale": (0.25, 8.0), "mem.keep": (-2.0, 5.0),
                      "mem.clip": ("off", 10.0)}.items():
        for value in ends:
            widget = at.slider(key=key) if key in ("mem.T", "mem.keep") else at.select_slider(key=key)
            widget.set_value(value).run()
            clean(at)
        widget = at.slider(key=key) if key in ("mem.T", "mem.keep") else at.select_slider(key=key)
        widget.set_value({"mem.T": 60, "mem.H": 32, "mem.scale": 1.0, "mem.keep": 0.0, "mem.clip": 1.0}[key]).run()
    at.radio(key="mem.nl").set_value("relu").run()
    clean(at)


@pytest.mark.slow  # trains networks
def test_copy_sweep_trains_and_reports_the_rnn_failing_first():
    at = open_page("pages/rnn_memory.py")
    at.multiselect(key="mem.kinds.Forgetting").set_value(["RNN", "attention"])  # the GRU at d = 24: tests/core/test_forgetting.py
    at.text_input(key="mem.d.Forgetting").input("2, 24")
    at.slider(key="mem.L.Forgetting").set_value(25)
    at.select_slider(key="mem.steps.Forgetting").set_value(200)
    submit(at, "Train every contender")
    clean(at)
    table = at.dataframe[-1].value.set_index(["contender", "distance"])
    assert table.loc[("RNN", 2), "accuracy"] > 0.9 and table.loc[("RNN", 24), "accuracy"] < 0.5
    assert table.loc[("attention", 24), "accuracy"] > 0.95
    assert any("RNN learned up to d = 2, failed at d = 24" in c.value for c in at.caption)


def test_bad_distances_are_refused_with_a_sentence():
    at = open_page("pages/rnn_memory.py")
    for typed, message in [("", "at least one distance"), ("two", "whole numbers"), ("40", "does not fit"),
                           ("1,2,3,4,5,6,7,8,9", "at most 8"), ("0", "does not fit"), ("😀", "whole numbers")]:
        at.text_input(key="mem.d.Forgetting").input(typed)
        submit(at, "Train every contender")
        clean(at)
        assert any(message in w.value for w in at.warning), (typed, [w.value for w in at.warning])


@pytest.mark.slow  # trains networks
def test_exploding_preset_stops_with_an_explanation_and_clipping_rescues_it():
    at = open_page("pages/rnn_memory.py")
    at.radio(key="mem.preset").set_value("Exploding gradients").run()
    at.select_slider(key="mem.steps.Exploding gradients").set_value(50)
    submit(at, "Train every contender")
    clean(at)
    assert any("gradient exploded" in w.value and "Clipping" in w.value for w in at.warning)
    at.select_slider(key="mem.clip.Exploding gradients").set_value(1.0)
    submit(at, "Train every contender")
    clean(at)
    assert not any("exploded" in w.value for w in at.warning)
    assert at.dataframe[-1].value["steps run"].iloc[0] > 2
