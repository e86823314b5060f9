"""The GPT page (the training tests are marked slow): train a tiny model live on the Markov text, bad settings, odd text, stop and resume,
ablations and the sweep (AppTest; tiny models, a few seconds of training each)."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.infra import data
from core.lm.markov_source import MarkovSource
from core.lm.text_tokens import CharTokenizer, train_bpe
from core.transformers import gpt_train
from core.transformers.gpt import GPTConfig
from tests.app.conftest import text_tables, widget

APP = str(Path(__file__).parents[2] / "streamlit_app.py")


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300).run()
    return at.switch_page("pages/gpt.py").run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def tiny(at: AppTest, steps: int = 30, corpus: str = "markov", tokens: str = "characters") -> AppTest:
    at.selectbox(key="gpt.corpus").set_value(corpus)
    at.radio(key="gpt.tokens").set_value(tokens)
    at.slider(key="gpt.layers").set_value(1)
    at.select_slider(key="gpt.width").set_value(16)
    at.select_slider(key="gpt.heads").set_value(2)
    at.select_slider(key="gpt.context").set_value(16)
    at.select_slider(key="gpt.batch").set_value(8)
    at.select_slider(key="gpt.lr").set_value(1e-2)
    at.slider(key="gpt.warmup").set_value(5)
    at.number_input(key="gpt.steps").set_value(steps)
    return at


def train_button(at: AppTest):
    return next(b for b in at.button if b.label == "Train")


def test_first_visit_shows_the_labs_own_gpt_without_training():
    at = open_page()
    clean(at)
    assert any("the lab's own GPT" in c.value for c in at.caption)
    assert float(metric(at, "Held-out, bits/char")) < float(metric(at, "Best n-gram, bits/char"))  # it beats the n-gram
    assert at.dataframe, "the samples it wrote while training"


@pytest.mark.slow  # trains a model (seconds on an idle machine)
def test_training_on_the_markov_text_shows_the_loss_the_ngram_line_and_the_floor():
    at = tiny(open_page())
    train_button(at).click().run()
    clean(at)
    run = at.session_state["gpt.run"]
    assert run.finished and run.step == 30
    assert run.bits_per_char == run.val_bits  # characters: a token is a character
    assert metric(at, "Held-out, bits/char") == f"{run.bits_per_char:.3f}" and metric(at, "per token, bits") == f"{run.val_bits:.3f}"
    assert any(f"Held-out loss: {run.val_loss:.3f} nats = {run.val_bits:.3f} bits per token × 1.000 tokens per character" in c.value
               for c in at.caption)
    lines = at.session_state["gpt.lines"]
    assert lines["entropy rate (bits/char)"] == MarkovSource().entropy_rate_per_character
    assert lines["entropy rate (bits/char)"] < lines["n-gram (bits/char)"] < run.bits_per_char  # 30 steps: not yet past the n-gram
    captions = " ".join(c.value for c in at.caption)
    assert "0.288 bits per character" in captions and f"{lines['n-gram (bits/char)']:.3f} bits per character" in captions
    samples = at.dataframe[0].value
    assert list(samples.step) == [30, 27, 24, 21, 18, 15, 12, 9, 6, 3]  # every evaluation wrote one, latest first
    assert next(b for b in at.button if b.label == "Resume training").disabled  # finished: nothing to resume
    at.run()  # a rerun with nothing to train keeps the result
    clean(at)
    assert at.session_state["gpt.run"] is run


@pytest.mark.slow  # learns a BPE and trains a model (seconds on an idle machine)
def test_bpe_tokens_train_on_the_markov_text_and_are_judged_per_character():
    at = tiny(open_page(), steps=6, tokens="BPE")
    train_button(at).click().run()
    clean(at)
    run, baseline = at.session_state["gpt.run"], at.session_state["gpt.baseline"]
    assert run.finished and run.tokenizer.kind == "bpe"
    text = data.load_text("markov")
    assert run.tokenizer.merges == train_bpe(text[: int(len(text) * 0.9)], 512).merges  # learned from the training 90 % only
    assert run.tokenizer.vocab_size < 512  # the Markov text's few words allow fewer merges, and the caption says so
    assert any(f"this text allowed only {len(run.tokenizer.merges)} of the 256" in c.value for c in at.caption)
    ratio = len(run.data.val) / run.data.val_chars  # whole words: about a quarter of a token per character
    assert 0.15 < ratio < 0.5 and run.bits_per_char == pytest.approx(run.val_bits * ratio)
    assert metric(at, "Held-out, bits/char") == f"{run.bits_per_char:.3f}"
    lines = at.session_state["gpt.lines"]
    assert lines == {"n-gram (bits/char)": baseline.bits_per_char, "entropy rate (bits/char)": MarkovSource().entropy_rate_per_character}
    assert baseline.bits_per_char == pytest.approx(baseline.val_bits * ratio)
    assert any(f"{run.data.val_chars:,} characters in {len(run.data.val):,} tokens" in c.value for c in at.caption)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    heatmap = next(spec for spec in specs if str(spec.get("title", "")).startswith("Layer 0, head 0"))
    assert heatmap["encoding"]["y"]["sort"][:3] == ["0 the", "1 ␣cat", "2 ␣sat"]  # the probe's words as BPE pieces


@pytest.mark.slow  # trains a model (seconds on an idle machine)
def test_bad_settings_are_explained_not_crashed():
    at = tiny(open_page())
    at.select_slider(key="gpt.heads").set_value(3)  # 16 is not a multiple of 3
    train_button(at).click().run()
    clean(at)
    assert any("multiple of the number of heads" in w.value for w in at.warning)
    at.select_slider(key="gpt.heads").set_value(2)
    at.select_slider(key="gpt.lr").set_value(3.0)
    at.slider(key="gpt.warmup").set_value(0)
    at.select_slider(key="gpt.width").set_value(64)
    at.slider(key="gpt.layers").set_value(3)
    train_button(at).click().run()
    clean(at)
    assert any("Training stopped" in w.value and "learning rate" in w.value for w in at.warning)


@pytest.mark.slow  # trains a model (seconds on an idle machine)
def test_odd_text_in_the_inspect_box():
    at = open_page()  # the lab's byte-level GPT: any text has tokens
    for text, expect in [("", "Type some text"), ("😀 مرحبا <b>x</b> \x00", None), ("x" * 20_000, "the heatmaps read the first")]:
        at.text_area(key="gpt.probe").input(text).run()
        clean(at)
        said = " ".join(m.value for m in [*at.warning, *at.info])
        if expect:
            assert expect in said, said
    at = tiny(open_page())  # a character model of the Markov text has no token for an emoji
    train_button(at).click().run()
    at.text_area(key="gpt.probe").input("the cat 😀").run()
    clean(at)
    assert any("never appeared in the training text" in w.value for w in at.warning)


@pytest.mark.slow  # trains a model (seconds on an idle machine)
def test_a_stopped_run_says_so_and_resumes(monkeypatch):
    at = tiny(open_page(), steps=40)
    text = MarkovSource().sample(20_000, seed=0)  # the page's Markov corpus (core.infra.data.markov_text)
    tok = CharTokenizer.from_text(text)
    config = GPTConfig(vocab_size=tok.vocab_size, context=16, n_layer=1, n_head=2, n_embd=16)
    stopped = gpt_train.fit(config, gpt_train.TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup=5), text, tok,
                            on_step=lambda s, m: s < 12)  # what a Stop click leaves behind
    at.session_state["gpt.run"] = stopped
    at.session_state["gpt.lines"] = {"n-gram (bits/char)": 1.0}
    at.session_state["gpt.baseline"] = gpt_train.NGramBaseline(3, 0.1, 1.0, 1.0, 100, 10)
    at.session_state["gpt.corpus_used"] = "Synthetic Markov text, characters"
    at.run()
    clean(at)
    assert any("stopped at step 12 of 40" in i.value for i in at.info)
    resume = next(b for b in at.button if b.label == "Resume training")
    assert not resume.disabled
    resume.click().run()
    clean(at)
    run = at.session_state["gpt.run"]
    assert run is stopped and run.finished and run.step == 40
    assert run.history.steps == list(range(1, 41))


@pytest.mark.slow  # trains a model (seconds on an idle machine)
def test_ablations_and_sweep_fill_their_tables():
    at = tiny(open_page())
    at.multiselect(key="gpt.variants").set_value(["full model", "no residual connections"])
    at.slider(key="gpt.ablation_steps").set_value(20)
    next(b for b in at.button if b.label == "Train the variants").click().run()
    clean(at)
    tables = [d.value for d in at.dataframe if "run" in d.value.columns]
    assert list(tables[0].run) == ["full model", "no residual connections"]
    at.slider(key="gpt.sweep_steps").set_value(20)
    next(b for b in at.button if b.label.startswith("Train the") and "sizes" in b.label).click().run()
    clean(at)
    sweep = [d.value for d in at.dataframe if "FLOPs per token" in d.value.columns][0]
    assert len(sweep) == 6 and sweep.parameters.is_monotonic_increasing
    assert all(re.match(r"\d+ × \d+", r) for r in sweep.run)


@pytest.mark.slow  # the decoding and prompting pages load SmolLM2 (their default) first
def test_the_labs_gpt_works_in_the_decoding_prompting_and_heads_pages():
    at = AppTest.from_file(APP, default_timeout=600).run().switch_page("pages/decoding.py").run()
    at.selectbox(key="decoding.model").set_value("gpt-manual").run()
    widget(at.button, "Run the five strategies").click().run()  # the race runs on its button
    clean(at)
    (strategies,) = text_tables(at)
    assert len(strategies) == 5 and (strategies.tokens == "16").all()  # no EOS in a byte vocabulary: every text runs full length
    at = AppTest.from_file(APP, default_timeout=600).run().switch_page("pages/prompting.py").run()
    at.selectbox(key="prompting.model").set_value("gpt-manual").run()
    clean(at)
    assert float(metric(at, "Perplexity").replace(",", "")) > 1
    assert any("reads at most 128 tokens" in w.value for w in at.warning)  # the 4-shot prompt is longer than its context
    at = AppTest.from_file(APP, default_timeout=600).run().switch_page("pages/attention_heads.py").run()
    at.radio[0].set_value("The lab's own GPT (offline, 4 × 4 heads, bytes)").run()
    clean(at)
    assert any("4 layers × 4 heads" in c.value and "causal" in c.value for c in at.caption)
