"""The LoRA page with the real MiniLM: a one-step fine-tune from the form, everything shown after it,
bad input, and the isolation rule: the cached base model predicts exactly as before in another session."""


import json

import pytest
import torch
import transformers
from streamlit.testing.v1 import AppTest

from core.infra import models
from core.infra.network import Reachability
from core.llm import finetune as ft
from core.llm import finetune_analysis
from tests.app.conftest import assert_clean, metric, open_page, widget
from ui import state

PAGE = "pages/lora_finetune.py"
SENTENCES = ["Not bad at all, actually.", "Oh great, another update that deletes my files."]


def embed(loaded: models.LoadedModel) -> torch.Tensor:
    batch = loaded.tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**batch).last_hidden_state


def base_model_session():
    """Another user's session: the shared (cached) MiniLM embeds two sentences; the page keeps the
    last hidden states, and the id of the model object, in its session state."""
    import streamlit as st
    import torch

    from ui import state

    loaded = state.model("minilm")
    batch = loaded.tokenizer(["Not bad at all, actually.", "Oh great, another update that deletes my files."],
                             padding=True, return_tensors="pt")
    with torch.no_grad():
        st.session_state["hidden"] = loaded.model(**batch).last_hidden_state
    st.session_state["model id"] = id(loaded.model)
    st.write("predicted")


def tiny_run(at: AppTest, rows: int = 32) -> AppTest:
    at.number_input(key="lora.rows").set_value(rows)
    at.select_slider(key="lora.batch").set_value(32)
    at.slider(key="lora.epochs").set_value(1)
    return widget(at.button, "Fine-tune with LoRA").click().run()


@pytest.mark.slow
def test_first_render_counts_parameters_and_does_not_train():
    at = open_page(PAGE, timeout=300)
    assert_clean(at)
    assert not any(m.label == "Held-out accuracy" for m in at.metric), "the first render must not train"
    # MiniLM: 6 layers × (query, value: 2·8·(384+384); attention dense 8·(384+384); two FFN denses 8·(384+1536) each)
    adapters = 6 * (3 * 8 * 768 + 2 * 8 * (384 + 1536))
    head = 384 * 2 + 2
    assert metric(at, "Trainable parameters") == f"{adapters + head:,}"
    assert metric(at, "Head (trained and saved too)") == f"{head:,}"
    # the target chips get the right half's whole width (in a quarter column "dense" was cut to "de")
    quarter = [c for c in at.columns if [w.label for w in c.select_slider] == ["Alpha α"]]  # the innermost column of α
    assert quarter and not any(w.label == "Target modules" for c in quarter for w in c.multiselect)
    assert any(w.label == "Target modules" for c in at.columns for w in c.multiselect)
    at.select_slider(key="lora.r").set_value(64).run()
    assert metric(at, "Trainable parameters") == f"{8 * adapters + head:,}"
    at.multiselect(key="lora.targets").set_value([]).run()  # no target module: a message, no traceback
    assert_clean(at)
    assert any("target module" in w.value for w in at.warning)


@pytest.mark.slow
def test_a_fine_tune_shows_results_and_leaves_the_cached_model_alone():
    cached = state.model("minilm")
    before = embed(cached)
    at = open_page(PAGE, timeout=300)
    at = tiny_run(at)
    assert_clean(at)
    result: ft.FinetuneResult = at.session_state["lora.run"]
    assert result.history.steps == [1]
    predicted = ft.predict(result, result.test.text.tolist()).idxmax(axis=1).to_numpy()
    assert metric(at, "Held-out accuracy") == f"{(predicted == result.test.label.to_numpy()).mean():.3f}"
    assert metric(at, "Trainable") == metric(at, "Trainable parameters")
    assert not any(b.key == "lora.run.stop" for b in at.button), "no Stop button once training is over"
    progress = next(s for s in map(json.loads, (c.proto.spec for c in at.get("vega_lite_chart")))
                    if s["encoding"].get("color", {}).get("field") == "metric")
    # the final chart: training accuracy too, each metric in the colour the live chart gave it (live.metric_chart)
    assert progress["encoding"]["color"]["scale"]["domain"] == ["loss", "acc", "test_loss", "test_acc"]
    assert any(f"1 steps in {result.train_s:.1f} s" in c.value for c in at.caption)
    at.run()  # the next rerun states the speed of the run just made, not a promise
    assert any(f"Your last run trained at {1 / result.train_s:.2f} steps/s" in c.value for c in at.caption)
    # after training: confusion + mistakes, your own sentence, ΔW, merge and download
    assert any("held-out mistakes" in m.value for m in at.markdown)
    at.segmented_control(key="lora.view").set_value("Try your own sentence").run()
    at.text_input(key="lora.try").set_value("☃️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " * 200).run()  # odd and long text is cut at max length
    assert_clean(at)
    at.text_input(key="lora.try").set_value("").run()
    assert_clean(at)
    assert any(c.value.startswith("Prediction:") for c in at.caption)
    at.segmented_control(key="lora.view").set_value("The update ΔW").run()
    assert any("reproduces peft's output" in m.value for m in at.markdown)
    layer = "encoder.encoder.layer.0.intermediate.dense"
    at.selectbox(key="lora.layer").set_value(layer).run()
    assert_clean(at)
    update = finetune_analysis.lora_update(result, layer)  # the numbers shown are core's, for the layer picked
    assert metric(at, "‖ΔW‖ / ‖W₀‖ (Frobenius)") == f"{update.relative_norm:.4f}" != "0.0000"
    assert metric(at, "Directions holding 90% of ΔW") == f"{update.directions_90} of r = 8"
    assert metric(at, "Numbers stored (full ΔW: 589,824)") == f"{8 * (384 + 1536):,}"
    assert any(f"**{update.gap_to_ours:.1e}**" in m.value for m in at.markdown)
    at.segmented_control(key="lora.view").set_value("Merge and download").run()
    widget(at.button, "Merge the adapter and compare predictions").click().run()
    assert_clean(at)
    assert metric(at, "Same prediction") == "100%"
    assert at.get("download_button"), "the adapter download is offered"
    first_zip = at.session_state["lora.zip"]

    # a second run: the merge check and the zip of the first one must not be shown as this one's
    at = tiny_run(at)
    assert_clean(at)
    assert at.session_state["lora.run"] is not result
    at.segmented_control(key="lora.view").set_value("Merge and download").run()
    assert not any(m.label == "Same prediction" for m in at.metric), "a merge check of the previous run is stale"
    assert at.session_state["lora.zip"][0] == first_zip[0] + 1

    # the model every session shares predicts exactly as before, and is still read-only
    assert state.model("minilm") is cached
    assert torch.equal(embed(cached), before)
    assert torch.equal(embed(models.load("minilm")), before)
    assert not cached.model.training and not any(p.requires_grad for p in cached.model.parameters())
    assert cached.model.pooler is not None


@pytest.mark.slow
def test_a_fine_tune_in_one_session_leaves_another_sessions_base_model_predictions_identical():
    other = AppTest.from_function(base_model_session, default_timeout=300).run()
    assert not other.exception
    before, model_id = other.session_state["hidden"], other.session_state["model id"]
    at = open_page(PAGE, timeout=300)
    for method in ("lora", "full"):  # full fine-tuning moves every encoder weight: of its own copy
        if method == "full":
            at.select_slider(key="lora.lr").set_value(1e-3)
            widget(at.button, "Race probe vs LoRA vs full").click().run()
        else:
            at = tiny_run(at)
        assert_clean(at)
    assert at.session_state["lora.run"].history.steps == [1]
    assert at.session_state["lora.compare.full"].history.steps == [1]
    other.run()  # the other user predicts again with the shared model
    assert not other.exception
    assert other.session_state["model id"] == model_id, "the same cached object, not a reload"
    assert torch.equal(other.session_state["hidden"], before)


@pytest.mark.slow
def test_stop_during_training_keeps_no_result_and_says_where():
    at = open_page(PAGE, timeout=300)
    at = tiny_run(at, rows=64)  # two steps
    assert_clean(at)
    # what a click on Stop leaves behind: the loop interrupted after step 1, its result never stored
    history = at.session_state["lora.run.history"]
    history.steps, history.metrics = history.steps[:1], {k: v[:1] for k, v in history.metrics.items()}
    at.session_state["lora.run.running"] = True
    at.session_state["lora.run"] = None
    at.run()  # the rerun a click on Stop starts (the button itself is gone once the run is over)
    assert_clean(at)
    assert any("stopped at step 1 of 2" in i.value for i in at.info)
    assert not any(m.label == "Held-out accuracy" for m in at.metric)
    at.run()  # a later rerun still shows no result, and no longer says it is running
    assert_clean(at)
    assert not any(m.label == "Held-out accuracy" for m in at.metric)
    assert at.session_state["lora.run.running"] is False


@pytest.mark.slow
def test_a_model_id_the_hub_does_not_know_is_explained(monkeypatch):
    def not_found(model_id, *args, **kwargs):  # what the Hub answers for a repo that does not exist
        raise OSError(f"{model_id} is not a local folder and is not a valid model identifier listed on "
                      "'https://huggingface.co/models'")

    monkeypatch.setattr(models, "hub_reachable", lambda: Reachability(True, "huggingface.co answers"))
    for auto in (transformers.AutoTokenizer, transformers.AutoModel):
        monkeypatch.setattr(auto, "from_pretrained", not_found)
    at = open_page(PAGE, timeout=300)
    at.text_input(key="lora.hub").set_value("no-such-org/no-such-bert").run()
    assert_clean(at)
    message = next(w.value for w in at.warning if "no-such-org/no-such-bert" in w.value)
    assert "not a valid model identifier" in message and "Staying with minilm" in message
    assert metric(at, "Trainable parameters")  # the page goes on with the offline encoder


@pytest.mark.slow
def test_the_three_way_comparison_and_bad_input():
    at = open_page(PAGE, timeout=300)
    at.text_input(key="lora.hub").set_value("no-such-org/no-such-bert").run()  # offline in tests
    assert_clean(at)
    assert any("no-such-org/no-such-bert" in w.value for w in at.warning)
    at.radio(key="lora.source").set_value("sst2").run()  # online only: falls back to the bundled set
    assert_clean(at)
    assert any("sentiment set instead" in i.value for i in at.info)
    at.number_input(key="lora.rows").set_value(32)
    at.select_slider(key="lora.batch").set_value(32)
    at.slider(key="lora.epochs").set_value(1)
    at.select_slider(key="lora.lr").set_value(0.1)  # an extreme learning rate must not break the page
    widget(at.button, "Race probe vs LoRA vs full").click().run()
    assert_clean(at)
    table = at.dataframe[-1].value
    assert list(table["method"]) == ["probe", "lora", "full"]
    trainable = dict(zip(table["method"], table["trainable parameters"]))
    assert trainable["probe"] < trainable["lora"] < trainable["full"]
    assert len(set(table["total parameters"])) == 2  # LoRA adds its adapters to the same encoder + head


@pytest.mark.slow
def test_uploads_good_and_bad():
    at = open_page(PAGE, timeout=300)
    at.radio(key="lora.source").set_value("upload-csv").run()
    assert_clean(at)
    assert any("Upload a CSV" in i.value for i in at.info)

    def upload(name: str, content: bytes) -> AppTest:
        at.file_uploader(key="lora.upload").set_value((name, content, "text/csv"))
        return at.run()

    upload("cols.csv", b"sentence,sentiment\nnice,1\nbad,0\n")
    assert_clean(at)
    assert any("needs columns 'text' and 'label'" in w.value for w in at.warning)
    upload("big.csv", b"text,label\n" + b"a,b\n" * 1_600_000)  # 6.4 MB: over the lab's 5 MB limit
    assert_clean(at)
    assert any("the limit is 5 MB" in w.value for w in at.warning)
    huge = b"text,label\n" + b"a fine sentence,positive\n" * 2_000_000  # 50 MB, the case
    assert len(huge) >= 50_000_000
    upload("huge.csv", huge)
    assert_clean(at)
    assert any(w.value.startswith(f"huge.csv is {len(huge) / 1e6:.1f} MB; the limit is 5 MB") for w in at.warning)
    rows = "".join(f"sentence {i},{c}\n" for i in range(20) for c in ("red", "green", "blue"))
    upload("colours.csv", ("text,label\n,red\n   ,red\n" + rows).encode())  # string labels, 3 classes, empty rows
    assert_clean(at)
    assert metric(at, "Head (trained and saved too)") == f"{384 * 3 + 3:,}"
    caption = next(c.value for c in at.caption if "training rows" in c.value)
    assert "48 training rows, 12 held-out rows" in caption  # the 60 rows with a text, 20% held out
    assert "red: 16" in caption and "blue: 16" in caption  # the rows without a text are not counted
    upload("one.csv", ("text,label\n" + "".join(f"s {i},same\n" for i in range(20))).encode())
    at = widget(at.button, "Fine-tune with LoRA").click().run()
    assert_clean(at)
    assert any("single class" in w.value for w in at.warning)


@pytest.mark.slow
def test_an_uploaded_split_column_decides_the_training_and_held_out_rows(monkeypatch):
    seen = {}
    real_fit = ft.fit

    def recording_fit(config, train, test, on_step=None, base=None):  # what the page hands to core
        seen["train"], seen["test"] = train.text.tolist(), test.text.tolist()
        return real_fit(config, train, test, on_step, base)

    monkeypatch.setattr(ft, "fit", recording_fit)
    rows = [(f"review number {i} was {'great' if i % 2 else 'awful'}", "pos" if i % 2 else "neg",
             "test" if i % 4 == 3 else "train") for i in range(32)]  # every 4th row held out: not what a random split picks
    at = open_page(PAGE, timeout=300)
    at.radio(key="lora.source").set_value("upload-csv").run()
    csv = "text,label,split\n" + "".join(f"{t},{label},{' Test' if s == 'test' and i == 3 else s}\n"  # case and spaces allowed
                                         for i, (t, label, s) in enumerate(rows))
    at.file_uploader(key="lora.upload").set_value(("split.csv", csv.encode(), "text/csv"))
    at.run()
    assert_clean(at)
    assert any("24 training rows, 8 held-out rows" in c.value for c in at.caption)
    at = tiny_run(at, rows=100)
    assert_clean(at)
    assert seen["train"] == [t for t, _, s in rows if s == "train"]
    assert seen["test"] == [t for t, _, s in rows if s == "test"]
    assert at.session_state["lora.run"].test.text.tolist() == seen["test"]  # evaluated on exactly those rows
