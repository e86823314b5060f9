"""The seq2seq page: tiny training runs, every control at its ends, odd text in the source box, the comparison runs.

Training settings are put in the session before the first run, so the first visit trains tiny models."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.transformers import seq2seq_train as s2s
from core.transformers import translation_task as tt

APP = str(Path(__file__).parents[2] / "streamlit_app.py")
TINY = {"s2s.steps": 20, "s2s.warmup": 5, "s2s.width": 16, "s2s.heads": 2, "s2s.layers": 1, "s2s.hidden": 8, "s2s.digits": 2,
        "s2s.cap": 13, "s2s.batch": 16}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (and two threads crawl on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def open_page(**settings) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.switch_page("pages/seq2seq.py")
    for key, value in (TINY | settings).items():
        at.session_state[key] = value
    return at.run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def widget(items, label: str):
    return next(w for w in items if w.label == label)


def source_box(at: AppTest):
    return next(w for w in at.text_input if w.label.startswith("Source"))


def test_first_visit_trains_three_models_and_shows_their_numbers():
    at = open_page()
    clean(at)
    summary = at.dataframe[0].value
    assert list(summary.model) == list(s2s.MODELS) and (summary.steps == 20).all()
    task = at.session_state["s2s.task"]
    runs = {name: at.session_state[f"s2s.{name}"] for name in s2s.MODELS}
    expected = s2s.summary_table(runs, s2s.score_runs(runs, task), 13)
    assert summary["test exact match"].tolist() == pytest.approx(expected["test exact match"].tolist())
    caption = next(c.value for c in at.caption if c.value.startswith("Held-out pairs only"))
    assert f"{len(task.test):,} test pairs" in caption and "exact" in caption


@pytest.mark.slow  # scores the three kept models on every held-out pair, then trains three tiny ones
def test_a_first_visit_at_the_defaults_shows_the_kept_models_and_trains_nothing():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/seq2seq.py").run()
    clean(at)
    assert any("`checkpoints/seq2seq-numbers`" in i.value for i in at.info)
    assert all(at.session_state[f"s2s.{name}.history"] is None for name in s2s.MODELS)  # live.train never ran
    assert (at.dataframe[0].value.steps == s2s.TrainConfig().steps).all()
    for key, value in TINY.items():  # the learner's own settings: the button trains them live, and the note goes
        at.session_state[key] = value
    next(b for b in at.button if b.label == "Train the three models").click().run()
    clean(at)
    assert not any("checkpoints/" in i.value for i in at.info) and (at.dataframe[0].value.steps == 20).all()


ODD = [("", "empty"), ("x" * 20_000, "20,000 characters"), ("q" * 20_000, "outside the task's vocabulary"),
       ("one " * 5_000, "20,000 characters"), ("forty two 🙂", "'🙂'"), ("עשרים", "outside"), ("forty\x00two", "'\\x00'"),
       ("<script>alert(1)</script>", "'<'"), ("Forty", "'F'")]


@pytest.mark.slow  # several seconds of AppTest reruns
def test_odd_text_in_the_source_box_gives_a_message():
    at = open_page()
    for text, message in ODD:
        source_box(at).input(text).run()
        clean(at)
        assert any(message in w.value for w in at.warning), (text[:20], [w.value for w in at.warning])
        assert len(at.dataframe) == 1  # the summary stays; no translation table for bad input


@pytest.mark.slow  # several seconds of AppTest reruns
def test_own_input_is_translated_by_greedy_and_beam_with_the_rules_answer():
    at = open_page()
    source_box(at).input("ninety one").run()
    clean(at)
    assert any(c.value == "The rule's answer: '91'." for c in at.caption)
    widget(at.radio, "Decoding").set_value("beam").run()
    for width in (1, 8):
        widget(at.slider, "Beam width").set_value(width).run()
        clean(at)
        assert len(at.dataframe[1].value) == 3
        assert any(f"Beam search (width {width})" in c.value for c in at.caption)
    source_box(at).input("ninety ninety").run()  # in the vocabulary, but no number the rule writes
    clean(at)
    assert any("no right answer" in c.value for c in at.caption)


@pytest.mark.parametrize("settings, message", [
    ({"s2s.digits": 1, "s2s.cap": 1}, "too few"),  # shorter than every source
    ({"s2s.lr": 100.0, "s2s.warmup": 1}, "training stopped"),  # diverges
])
def test_controls_at_their_ends_give_messages_not_tracebacks(settings, message):
    at = open_page(**settings)
    clean(at)
    assert any(message in w.value for w in at.warning) or any(message in i.value for i in at.info), \
        [w.value for w in at.warning] + [i.value for i in at.info]


@pytest.mark.slow  # seven small training runs, one of them 9-digit numbers at batch 1
def test_other_ends_train_and_draw():
    at = open_page(**{"s2s.digits": 9, "s2s.cap": 100, "s2s.batch": 1, "s2s.steps": 10, "s2s.width": 8, "s2s.heads": 8,
                      "s2s.hidden": 4, "s2s.eps": 0.5, "s2s.norm": "post-LN (2017 paper)", "s2s.direction": "digits → words",
                      "s2s.seed": 10_000})
    clean(at)
    assert at.session_state["s2s.task"].config.max_digits == 9 and not at.session_state["s2s.task"].longer  # nothing is longer than 100
    assert source_box(at).label == "Source (digits)"
    at2 = open_page(**{"s2s.budget": "same seconds", "s2s.seconds": 2, "s2s.steps": 3000, "s2s.batch": 256, "s2s.layers": 6,
                       "s2s.width": 256, "s2s.heads": 1, "s2s.hidden": 256, "s2s.lr": 1e-4, "s2s.warmup": 1000})
    clean(at2)
    assert (at2.dataframe[0].value.steps < 3000).all()


@pytest.mark.slow  # five small training runs
def test_warmup_and_smoothing_comparison_runs():
    at = open_page()
    widget(at.button, "Train the transformer again without warmup").click().run()
    clean(at)
    assert any(c.value.startswith("warmup 5:") and "no warmup:" in c.value for c in at.caption)
    widget(at.slider, "ε for the comparison run").set_value(0.5)
    widget(at.button, "Train the transformer again with this ε").click().run()
    clean(at)
    table = at.dataframe[-1].value
    assert table["label smoothing ε"].tolist() == [0.0, 0.5]
    assert any(c.value.count("With ε = 0.5 instead of 0") for c in at.caption)
    # a new main run (another seed) makes the old comparison runs stale: they are not shown beside it
    widget(at.number_input, "Seed").set_value(1)
    next(b for b in at.button if b.label == "Train the three models").click().run()
    clean(at)
    assert not any("no warmup:" in c.value for c in at.caption)


def test_rule_and_task_helpers_used_by_the_page():
    assert tt.true_translation("forty two", "words → digits") == "42"
    assert tt.true_translation("042", "digits → words") is None and tt.true_translation("42", "digits → words") == "forty two"
