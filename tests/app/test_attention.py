"""Widget tests of the attention pages: extremes, bad input, the numbers shown."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import assert_clean, open_page
from tests.stand_ins import save, tiny_encoder, tiny_gpt2

ODD_TEXTS = ["", "   ", "a", "🙂🚀 emoji only 🎉", "注意力就是你所需要的", "שלום עולם, مرحبا بالعالم", "word " * 600]

MINILM_VOCAB = 30_522  # the stand-ins share MiniLM's tokenizer
pytestmark = pytest.mark.slow


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec).get("title", "") for c in at.get("vega_lite_chart")]


def scaling_table(at: AppTest):
    return next(df.value for df in at.dataframe if "mean largest weight" in df.value.columns).set_index("")


def test_step_by_step_controls_and_scaling_saturation():
    at = open_page("pages/attention.py")
    assert_clean(at)
    table = scaling_table(at)
    # without 1/√d the softmax is peakier: larger top weight, lower entropy
    assert table.loc["without 1/√d", "mean largest weight"] > table.loc["with 1/√d", "mean largest weight"]
    assert table.loc["without 1/√d", "mean entropy (bits)"] < table.loc["with 1/√d", "mean entropy (bits)"]
    gaps = {m.label: m.value for m in at.metric}
    assert float(gaps["Without positions: max |MHA(shuffled) − shuffled MHA|"]) < 1e-4
    assert float(gaps["With positions"]) > 0.01
    titles = chart_titles(at)
    assert "Scaled: Q Kᵀ × 0.177" in titles and not any("Causal mask" in t for t in titles)  # 1/√32, no mask
    # the token picked (by default "it") has its row outlined with its weights written in, and a sentence saying where it looks
    softmax = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                   if json.loads(c.proto.spec).get("title", "").startswith("Softmax"))
    picked = next(m.value for m in at.markdown if " puts **" in m.value)
    row = int(picked.split("(row ")[1].split(")")[0])
    assert softmax["layer"][2]["mark"]["type"] == "text" and f"{row} it" in softmax["layer"][2]["transform"][0]["filter"]
    assert picked.startswith("**it**") and "output[" in picked
    # why the shuffle moves the token in slot 0: said, with the gaps of that very token
    assert any(m.value.startswith("Why does the token in slot") and "slot 0 included" in m.value for m in at.markdown)
    at.slider[0].set_value(11)
    for toggle in at.toggle:
        toggle.set_value(not toggle.value)
    at.run()
    assert_clean(at)
    # causal on, scaling off: the scaled scores and the masked ones are separate steps, in that order
    titles = chart_titles(at)
    scaled = titles.index("Scaled: Q Kᵀ × 1.000 (no 1/√d)")
    assert titles[scaled + 1].startswith("Causal mask") and titles[scaled + 2].startswith("Softmax")


def each_odd_text(at: AppTest, box):
    """Type each of ODD_TEXTS into the page's text box `box(at)`; yield it once the page has rerun without an
    error (an empty one with a warning that says so)."""
    for text in ODD_TEXTS:
        box(at).set_value(text).run()
        assert_clean(at)
        assert text.strip() or at.warning, "an empty sentence says so"
        yield text


def test_step_by_step_odd_input():
    at = open_page("pages/attention.py")
    for text in each_odd_text(at, lambda at: at.text_input[0]):
        if len(text) > 1000:
            assert any("first 24" in i.value for i in at.info), "a long text says it was cut"
        shuffle_metrics = [m for m in at.metric if m.label == "With positions"]
        if text == "a":  # one token: nothing to shuffle, so no gaps to show
            assert any("One token cannot be shuffled" in w.value for w in at.warning)
            assert not shuffle_metrics
        elif text.strip():
            assert shuffle_metrics


def test_positional_extremes():
    at = open_page("pages/positional_encodings.py")
    assert_clean(at)
    for n, d, base in [(8, 8, 100), (128, 256, 100_000)]:
        at.slider[0].set_value(n)
        at.select_slider[0].set_value(d)
        at.select_slider[1].set_value(base)
        at.run()
        assert_clean(at)
    heads = next(s for s in at.slider if s.label == "ALiBi heads")
    heads.set_value(16).run()
    next(s for s in at.slider if s.label == "Head to draw").set_value(5).run()
    assert_clean(at)
    next(s for s in at.slider if s.label == "ALiBi heads").set_value(12).run()  # head 5 still exists: it stays drawn
    assert next(s for s in at.slider if s.label == "Head to draw").value == 5
    next(s for s in at.slider if s.label == "ALiBi heads").set_value(1).run()  # one head: nothing to choose, no crash
    assert_clean(at)
    assert not any(s.label == "Head to draw" for s in at.slider)
    assert any(c.value.startswith("Slopes of the 1 heads: 0.0039") for c in at.caption)  # 2^(-8·1/1)


def test_heads_page_default_hub_fallback_and_ablation():
    at = open_page("pages/attention_heads.py")
    assert_clean(at)
    assert len(at.get("iframe")) == 2, "BertViz head view and model view"
    labels = at.dataframe[0].value["label"]
    assert len(labels) == 72 and labels.nunique() >= 3
    effect = next(m for m in at.metric if m.label.startswith("embedding change"))
    assert 0 < float(effect.value) < 1
    at.toggle[0].set_value(True).run()  # scan every head
    assert_clean(at)
    at.multiselect[0].set_value([]).run()
    assert_clean(at)
    assert any("at least one head" in i.value for i in at.info)
    at.radio[0].set_value("A Hugging Face Hub model (online)").run()  # tests run offline
    assert_clean(at)
    assert any("Staying with minilm" in w.value for w in at.warning)


def test_heads_page_odd_input():
    at = open_page("pages/attention_heads.py")
    for text in each_odd_text(at, lambda at: at.text_area[0]):
        if len(text) > 1000:
            assert any("cut off" in i.value for i in at.info)


def heads_page_on_a_folder(model, folder: Path) -> AppTest:
    """The heads page's online option, given a tiny local stand-in saved where a Hub id would be read."""
    from transformers import AutoTokenizer

    from core.infra import models

    save(model, AutoTokenizer.from_pretrained(models.minilm_path()), folder)
    at = open_page("pages/attention_heads.py")
    at.radio[0].set_value("A Hugging Face Hub model (online)").run()
    at.text_input[0].set_value(str(folder)).run()
    assert_clean(at)
    assert not at.warning, [w.value for w in at.warning]
    return at


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_heads_page_reads_an_encoder_through_the_hub_path(lab_folder, family):
    """A Hub BERT or DistilBERT, tested offline: a tiny one saved to a folder, read by the same loader."""
    at = heads_page_on_a_folder(tiny_encoder(family, MINILM_VOCAB), lab_folder)  # the box takes 100 characters: no deeper folder
    assert at.selectbox[0].value == "encoder"
    assert any("2 layers × 4 heads" in c.value and "causal" not in c.value for c in at.caption)
    assert len(at.get("iframe")) == 2 and len(at.dataframe[0].value) == 8  # BertViz views, 8 heads labelled
    effect = next(m for m in at.metric if m.label.startswith("embedding change"))
    assert 0 <= float(effect.value) < 1


def test_heads_page_reads_a_gpt2_through_the_hub_path(lab_folder):
    """The online option, tested offline with a tiny local stand-in: a GPT-2-shaped model in a folder."""
    at = heads_page_on_a_folder(tiny_gpt2(MINILM_VOCAB), lab_folder)
    assert at.selectbox[0].value == "causal-lm"
    assert any("2 layers × 4 heads" in c.value and "causal" in c.value for c in at.caption)
    kl = next(m for m in at.metric if m.label.startswith("next-token change"))
    assert float(kl.value) >= 0
    top = at.dataframe[-1].value
    assert list(top.columns) == ["next token", "P (all heads)", "P (heads off)"] and len(top) == 5
