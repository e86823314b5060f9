"""The LoRA page with the real MiniLM: a one-step fine-tune from the form, everything shown after it,
bad input, and the isolation rule: the cached base model predicts exactly as before."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import models
from ui import state

APP = str(Path(__file__).parents[2] / "streamlit_app.py")
PAGE = "pages/lora_finetune.py"
SENTENCES = ["Not bad at all, actually.", "Oh great, another update that deletes my files."]


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300).run()
    return at.switch_page(PAGE).run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def embed(loaded: models.LoadedModel) -> torch.Tensor:
    batch = loaded.tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**batch).last_hidden_state


def tiny_run(at: AppTest, rows: int = 32) -> AppTest:
    at.number_input(key="lora.rows").set_value(rows)
    at.select_slider(key="lora.batch").set_value(32)
    at.slider(key="lora.epochs").set_value(1)
    return button(at, "Fine-tune with LoRA").click().run()


@pytest.mark.slow
def test_first_render_counts_parameters_and_does_not_train():
    at = open_page()
    clean(at)
    assert not any(m.label == "Held-out accuracy" for m in at.metric), "the first render must not train"
    # MiniLM: 6 layers × (query, value: 2·8·(384+384); attention dense 8·(384+384); two FFN denses 8·(384+1536) each)
    adapters = 6 * (3 * 8 * 768 + 2 * 8 * (384 + 1536))
    head = 384 * 2 + 2
    assert metric(at, "Trainable parameters") == f"{adapters + head:,}"
    assert metric(at, "Head (trained and saved too)") == f"{head:,}"
    at.select_slider(key="lora.r").set_value(64).run()
    assert metric(at, "Trainable parameters") == f"{8 * adapters + head:,}"
    at.multiselect(key="lora.targets").set_value([]).run()  # no target module: a message, no traceback
    clean(at)
    assert any("target module" in w.value for w in at.warning)


@pytest.mark.slow
def test_a_fine_tune_shows_results_and_leaves_the_cached_model_alone():
    cached = state.model("minilm")
    before = embed(cached)
    at = open_page()
    at = tiny_run(at)
    clean(at)
    accuracy = float(metric(at, "Held-out accuracy"))
    assert 0.0 <= accuracy <= 1.0
    assert metric(at, "Trainable") == metric(at, "Trainable parameters")
    # after training: confusion + mistakes, your own sentence, ΔW, merge and download
    assert any("held-out mistakes" in m.value for m in at.markdown)
    at.segmented_control(key="lora.view").set_value("Try your own sentence").run()
    at.text_input(key="lora.try").set_value("☃️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " * 200).run()  # odd and long text is cut at max length
    clean(at)
    at.text_input(key="lora.try").set_value("").run()
    clean(at)
    assert any(c.value.startswith("Prediction:") for c in at.caption)
    at.segmented_control(key="lora.view").set_value("The update ΔW").run()
    assert any("reproduces peft's output" in m.value for m in at.markdown)
    at.selectbox(key="lora.layer").set_value("encoder.encoder.layer.0.intermediate.dense").run()
    clean(at)
    at.segmented_control(key="lora.view").set_value("Merge and download").run()
    button(at, "Merge the adapter and compare predictions").click().run()
    clean(at)
    assert metric(at, "Same prediction") == "100%"
    assert at.get("download_button"), "the adapter download is offered"

    # isolation: the model every session shares predicts exactly as before, and is still read-only
    assert state.model("minilm") is cached
    assert torch.equal(embed(cached), before)
    assert torch.equal(embed(models.load("minilm")), before)
    assert not cached.model.training and not any(p.requires_grad for p in cached.model.parameters())
    assert cached.model.pooler is not None


@pytest.mark.slow
def test_the_three_way_comparison_and_bad_input():
    at = open_page()
    at.text_input(key="lora.hub").set_value("no-such-org/no-such-bert").run()  # offline in tests
    clean(at)
    assert any("no-such-org/no-such-bert" in i.value for i in at.info)
    at.radio(key="lora.source").set_value("sst2").run()  # online only: falls back to the bundled set
    clean(at)
    assert any("sentiment set instead" in i.value for i in at.info)
    at.number_input(key="lora.rows").set_value(32)
    at.select_slider(key="lora.batch").set_value(32)
    at.slider(key="lora.epochs").set_value(1)
    at.select_slider(key="lora.lr").set_value(0.1)  # an extreme learning rate must not break the page
    button(at, "Race probe vs LoRA vs full").click().run()
    clean(at)
    table = at.dataframe[-1].value
    assert list(table["method"]) == ["probe", "lora", "full"]
    trainable = dict(zip(table["method"], table["trainable parameters"]))
    assert trainable["probe"] < trainable["lora"] < trainable["full"]
    assert len(set(table["total parameters"])) == 2  # LoRA adds its adapters to the same encoder + head


@pytest.mark.slow
def test_uploads_good_and_bad():
    at = open_page()
    at.radio(key="lora.source").set_value("upload-csv").run()
    clean(at)
    assert any("Upload a CSV" in i.value for i in at.info)

    def upload(name: str, content: bytes) -> AppTest:
        at.file_uploader(key="lora.upload").set_value((name, content, "text/csv"))
        return at.run()

    upload("cols.csv", b"sentence,sentiment\nnice,1\nbad,0\n")
    clean(at)
    assert any("needs columns 'text' and 'label'" in w.value for w in at.warning)
    upload("big.csv", b"text,label\n" + b"a,b\n" * 1_600_000)  # 6.4 MB: over the lab's 5 MB limit
    clean(at)
    assert any("the limit is 5 MB" in w.value for w in at.warning)
    rows = "".join(f"sentence {i},{c}\n" for i in range(20) for c in ("red", "green", "blue"))
    upload("colours.csv", ("text,label\n,red\n" + rows).encode())  # string labels, 3 classes, an empty row
    clean(at)
    assert metric(at, "Head (trained and saved too)") == f"{384 * 3 + 3:,}"
    upload("one.csv", ("text,label\n" + "".join(f"s {i},same\n" for i in range(20))).encode())
    at = button(at, "Fine-tune with LoRA").click().run()
    clean(at)
    assert any("single class" in w.value for w in at.warning)
