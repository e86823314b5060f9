import numpy as np
import pandas as pd
import streamlit as st

from core.errors import Unavailable
from core.foundations.nb_experiments import TextNBConfig, fit_text
from core.infra import data
from core.llm import finetune as ft
from core.llm import finetune_analysis, finetune_data
from core.llm.lora import LoRALinear
from ui import live, model_picker, state
from ui.heatmaps import heatmap
from ui.page import friendly_errors, header, literal, show_code, text_box
from ui.vega import confusion, curves, draw, field, lines, share_bars

header(
    "🪡 Fine-tune BERT with LoRA",
    "A pretrained encoder already knows a lot about English; to make it a sentiment classifier we "
    "put a small **head** on top and fine-tune. Full fine-tuning changes all 22 M weights. **LoRA** "
    "freezes them and learns, for a few chosen layers, a low-rank update **B·A** (r numbers wide) "
    "that is added to the frozen weight. Below: the data, a real LoRA run with peft, what it learned "
    "(mistakes, your own sentences, the update ΔW itself), and a race against a linear probe and full fine-tuning.",
)
st.latex(r"h = W_0x + \frac{\alpha}{r}\,B A x,\qquad "
         r"A\in\mathbb{R}^{r\times d_{in}},\; B\in\mathbb{R}^{d_{out}\times r},\; B_{\text{init}} = 0")

ONLINE_TEST_ROWS = 500  # evaluation runs every few steps: keep the held-out set small on a CPU
METRICS = ("loss", "acc", "test_loss", "test_acc")  # the live chart and the final one: the same metrics in the same colours


# ----------------------------------------------------------------------------- 1. data
st.subheader("1 · The data")
SOURCES = ["sentiment", "upload-csv", "sst2", "imdb"]
source = st.radio("Labelled text", SOURCES, format_func=lambda k: data.DATASETS[k].title, horizontal=True, key="lora.source")
train = test = None
with friendly_errors():
    if source == "upload-csv":
        st.caption(f"A CSV with a `text` and a `label` column (any labels; {data.LABELLED_LIMITS}). "
                   "A `split` column with `train`/`test` values is used if present; otherwise 20% is held out.")
        upload = st.file_uploader("Your CSV", type=["csv"], key="lora.upload")
        if upload is not None:
            train, test = finetune_data.split_upload(data.labelled_from_upload(upload.getvalue(), upload.name))
    elif source in ("sst2", "imdb"):
        try:
            rows = state.cached(data.load_labelled)(source)
            train, test = rows[rows.split == "train"], finetune_data.sample_rows(rows[rows.split == "test"], ONLINE_TEST_ROWS)
        except Unavailable as e:
            st.info(f"{literal(e)}. Using the lab's own sentiment set instead.", icon="📴")
            source = "sentiment"
    if source == "sentiment":
        train, test = data.sentiment("train"), data.sentiment("test")
        counts = data.sentiment().label.value_counts()
        words_nb = state.cached(fit_text)(TextNBConfig(), data.sentiment()).accuracy  # the baseline the page quotes, measured
        st.markdown(
            f"**The LLM Lab sentiment set**: {counts.sum():,} English remarks about films, food, hotels, gadgets, apps, "
            f"games, homes, travel and services, written by hand for this lab, balanced ({counts['positive']} positive, "
            f"{counts['negative']} negative) with a fixed split of **{len(train)} train / {len(test)} test**. Many are "
            "deliberately hard: negation (*“Not bad at all, actually.”*), contrast (*“The food was great but the service "
            "ruined it.”*), sarcasm (*“Oh great, another update that deletes my files.”*), neutral-sounding verdicts "
            "(*“Returned it.”*), plain accounts of what happened (*“We cancelled the membership after the second visit.”*) "
            "and words whose polarity depends on context (*cheap, scary*). Counting words is not "
            f"enough: naive Bayes gets **{words_nb:.2f}** on the test rows.")
if train is None:
    st.info("Upload a CSV to go on.", icon="📄")
    st.stop()
st.caption(f"{data.DATASETS[source].description} · {len(train):,} training rows, {len(test):,} held-out rows · "
           + ", ".join(f"{literal(k)}: {v:,}" for k, v in train.label.astype(str).value_counts().sort_index().items()))
with st.expander("Look at some rows"):
    st.dataframe(data.csv_safe(train.head(12)[["text", "label"]]), hide_index=True, width="stretch")

# ----------------------------------------------------------------------------- 2. model and adapter
st.subheader("2 · The model and the adapter")
cols = st.columns(2)
with cols[0]:
    base = model_picker.pick("encoder", key="lora.model", label="Encoder")
    base = model_picker.typed(base, "…or any BERT-family model from the Hub (online)", key="lora.hub",
                              placeholder="e.g. distilbert-base-uncased")
with cols[1]:
    c = st.columns(2)
    r = c[0].select_slider("Rank r", [1, 2, 4, 8, 16, 32, 64], 8, key="lora.r")
    alpha = c[1].select_slider("Alpha α", [1, 2, 4, 8, 16, 32, 64, 128], 16, key="lora.alpha",
                               help="The update is scaled by α/r: doubling r with α fixed halves each direction's step.")
    dropout = c[0].slider("LoRA dropout", 0.0, 0.5, 0.1, 0.05, key="lora.dropout")
    targets = st.multiselect("Target modules", ft.TARGETS, ["query", "value", "dense"], key="lora.targets",  # its own row: chips whole
                             help="dense = the attention output projection and both feed-forward layers of every block")

labels = sorted(train.label.astype(str).unique())
counted = None
with friendly_errors():
    counted = ft.parameter_count(base.model, ft.FinetuneConfig(r=r, targets=tuple(targets)), max(len(labels), 2))
if counted:
    m = st.columns(4)
    m[0].metric("Trainable parameters", f"{counted['trainable']:,}")
    m[1].metric("of total", f"{counted['total']:,}")
    m[2].metric("Trainable share", f"{100 * counted['trainable'] / counted['total']:.2f} %")
    m[3].metric("Head (trained and saved too)", f"{counted['head']:,}")
    st.caption(f"Adapters: {counted['adapters']:,} = r·(d_in + d_out) summed over the {', '.join(targets)} layers · head: "
               f"hidden × {len(labels)} classes + bias. The head is new, so it must be trained **and saved with the adapter** "
               "(peft's `modules_to_save=['classifier']`); without it the saved adapter reloads with a random head.")

# ----------------------------------------------------------------------------- 3. train
st.subheader("3 · Fine-tune")
with st.form("lora.form"):
    c = st.columns(4)
    lr = c[0].select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 1e-1], 3e-3,
                            format_func=lambda v: f"{v:g}", key="lora.lr")
    epochs = c[1].slider("Epochs", 1, 10, ft.FinetuneConfig.epochs, key="lora.epochs")
    batch = c[2].select_slider("Batch size", [4, 8, 16, 32, 64], 32, key="lora.batch")
    max_length = c[3].select_slider("Max length (tokens)", [16, 32, 64, 128, 256], 64, key="lora.maxlen")
    c = st.columns(4)
    n_rows = c[0].number_input("Training rows (at most)", 8, finetune_data.MAX_ROWS, min(len(train), 2000), key="lora.rows",
                               help="A random sample when the data has more; SST-2 has 67k rows, too many for a CPU.")
    pooling = c[1].radio("Pooling", ["mean", "cls"], horizontal=True, key="lora.pool",
                         help="Average all token vectors (how MiniLM was trained) or take the [CLS] one")
    seed = c[2].number_input("Seed", 0, 10_000, 0, key="lora.seed")
    submitted = c[3].form_submit_button("Fine-tune with LoRA", type="primary")
    c = st.columns(4)
    lr_probe = c[0].select_slider("Probe learning rate (race)", [1e-3, 3e-3, 1e-2, 3e-2, 1e-1], ft.DEFAULT_LR["probe"], key="lora.lr_probe",
                                  format_func=lambda v: f"{v:g}")
    lr_full = c[1].select_slider("Full fine-tuning learning rate (race)", [1e-5, 3e-5, 1e-4, 3e-4, 1e-3], ft.DEFAULT_LR["full"],
                                 key="lora.lr_full", format_func=lambda v: f"{v:g}")
    compare = c[3].form_submit_button("Race probe vs LoRA vs full", help="Section 4: the same settings through all three methods")

config = ft.FinetuneConfig(method="lora", model=base.key, r=r, alpha=float(alpha), dropout=dropout, targets=tuple(targets),
                           lr=lr, epochs=epochs, batch_size=batch, max_length=max_length, pooling=pooling, seed=int(seed))
train_rows = finetune_data.sample_rows(train, int(n_rows), int(seed))
steps = ft.total_steps(config, len(train_rows))
previous: ft.FinetuneResult | None = state.recall("lora.run")
if previous is not None and previous.history.steps and previous.train_s > 0:  # durations from a run on this server, not a promise
    speed = previous.history.steps[-1] / previous.train_s
    st.caption(f"{steps} steps of {batch} sentences. Your last run trained at {speed:.2f} steps/s ({previous.history.steps[-1]} "
               f"steps in {previous.train_s:.1f} s, reaching {previous.test_acc:.3f} held-out accuracy): at that speed this one "
               f"would take about {steps / speed:.0f} s, plus the held-out evaluations.")
else:
    st.caption(f"{steps} steps of {batch} sentences. The progress bar shows the steps per second as it trains; the time it "
               "took and the accuracy it reached are reported when it ends.")
del previous  # its model copy (~90 MB) must not outlive the session's own reference while a new run waits and trains
with friendly_errors():
    if submitted:
        # each run gets its own number: the merge check and the zip below belong to the run they were made from
        state.remember("lora.run_no", state.recall("lora.run_no", 0) + 1)
        live.train("lora.run", lambda on_step: ft.fit(config, train_rows, test, on_step, base), steps, metrics=METRICS)
result: ft.FinetuneResult | None = live.last("lora.run")
run_no = state.recall("lora.run_no", 0)

if result is not None and result.history.diverged:
    st.warning(f"The loss became infinite or NaN at step {result.history.steps[-1]}, so training stopped and the model is "
               "broken (its outputs are NaN): lower the learning rate and train again.", icon="💥")
elif result is not None:
    h = result.history
    m = st.columns(5)
    m[0].metric("Held-out accuracy", f"{result.test_acc:.3f}")
    m[1].metric("Training time", f"{result.train_s:.1f} s")
    m[2].metric("Steps/s", f"{h.last('steps_per_s'):.2f}" if h.steps else "–")
    m[3].metric("Peak memory", f"{result.peak_memory / 1e6:,.0f} MB")
    m[4].metric("Trainable", f"{result.trainable:,}")
    draw(live.metric_chart(h, METRICS, height=260))
    st.caption("loss / acc: cross-entropy and accuracy of each training batch · test_loss / test_acc: on the held-out rows, every "
               f"{result.config.eval_every} steps. Trained: {result.config.method}, r={result.config.r}, α={result.config.alpha:g}, "
               f"lr={result.config.lr:g}, {h.steps[-1] if h.steps else 0} steps in {result.train_s:.1f} s.")

    # a segmented control, not st.tabs: tabs jump back to the first one when the rerun after training
    # draws fewer elements above them, and only the chosen view needs computing
    views = ["Mistakes", "Try your own sentence", "The update ΔW", "Merge and download"]
    view = st.segmented_control("Look at", views, default=views[0], key="lora.view") or views[0]
    if view == views[0]:
        c = st.columns([1, 2])
        with c[0]:
            draw(confusion(finetune_analysis.confusion_table(result)))
        with c[1]:
            wrong = result.test[result.test.label != result.test.predicted].sort_values("confidence", ascending=False)
            wrong = wrong[["label", "predicted", "confidence", "text"]]
            st.markdown(f"**{len(wrong)} held-out mistakes**, most confident first:")
            st.dataframe(data.csv_safe(wrong), hide_index=True, width="stretch",
                         column_config={"confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0,
                                                                                       format="%.2f", width="small"),
                                        "text": st.column_config.TextColumn("text", width="large")})
    elif view == views[1]:
        sentence = text_box("A sentence", "Not bad at all, actually.", limit=1000, key="lora.try")
        probs = ft.predict(result, [sentence]).iloc[0]
        draw(share_bars(probs.index, probs.to_numpy(), value_title="probability", whole=True))
        st.caption(f"Prediction: **{literal(probs.idxmax())}** ({probs.max():.1%}).")
    elif view == views[2]:
        layers = finetune_analysis.lora_layers(result)
        if not layers:
            st.info("This run has no LoRA layers.")
        else:
            values = [i for i, name in enumerate(layers) if name.endswith("attention.self.value")]
            default = values[-1] if values else 0  # the last block's value projection
            layer = st.selectbox("Layer", layers, index=default, key="lora.layer")
            update = finetune_analysis.lora_update(result, layer)
            delta = update.delta
            trained, (d_out, d_in) = result.config, delta.shape
            st.latex(rf"\Delta W = \frac{{\alpha}}{{r}} B A = \frac{{{trained.alpha:g}}}{{{trained.r}}}\,"
                     rf"B_{{{d_out}\times{trained.r}}}\,A_{{{trained.r}\times{d_in}}}")
            c = st.columns(3)
            c[0].metric("‖ΔW‖ / ‖W₀‖ (Frobenius)", f"{update.relative_norm:.4f}")
            c[1].metric("Directions holding 90% of ΔW", f"{update.directions_90} of r = {result.config.r}",
                        help="How many singular directions carry 90% of the update's energy (squared singular values)")
            c[2].metric(f"Numbers stored (full ΔW: {delta.size:,})", f"{update.stored:,}")
            draw(curves({"ΔW (LoRA update)": update.singular[:48], "W₀ (pretrained)": update.base_singular[:48]}, "index",
                        "singular value", "Singular values (first 48), log scale", height=260, log_y=True, start=1, point=True))
            st.caption(f"ΔW has at most r = {result.config.r} non-zero singular values, then a cliff to rounding error: its "
                       "rank is at most r by construction. W₀'s spectrum decays slowly: it is full rank. The bet of LoRA is "
                       "that the *change* a new task needs fits in a few directions, not the weights themselves.")
            heatmap(delta[:48, :48], title="ΔW, top-left 48 × 48 block", scheme="redblue", row_title="output", col_title="input",
                    domain=[-float(np.abs(delta).max()), float(np.abs(delta).max())], height=360)
            st.markdown(f"The lab's 40-line `LoRALinear`, given this layer's W₀, A, B and α/r, reproduces peft's output to "
                        f"**{update.gap_to_ours:.1e}** (max |difference| on 8 random inputs):")
            show_code(LoRALinear, label="LoRA from scratch (core/llm/lora.py)")
    elif view == views[3]:
        if result.config.method == "lora":
            st.markdown("**Merging** folds B·A into W₀ (W ← W₀ + α/r·B·A): one plain BERT again, no adapter, no extra cost at inference.")
            if st.button("Merge the adapter and compare predictions", key="lora.merge"):
                with state.heavy("Merging"), st.spinner("Merging a copy and predicting the held-out rows…"):
                    state.remember("lora.merged", (run_no, finetune_analysis.merge_check(result, result.test.text.tolist())))
            merged = state.recall("lora.merged")
            if merged and merged[0] == run_no:
                c = st.columns(3)
                c[0].metric("Same prediction", f"{merged[1]['same prediction']:.0%}")
                c[1].metric("max |Δ probability|", f"{merged[1]['max |Δp|']:.1e}")
                c[2].metric("Parameters after merge", f"{int(merged[1]['parameters after merge']):,}")
            cached_zip = state.recall("lora.zip")
            if not cached_zip or cached_zip[0] != run_no:
                cached_zip = (run_no, ft.adapter_zip(result))
                state.remember("lora.zip", cached_zip)
            st.download_button(f"Download the adapter ({len(cached_zip[1]) / 1e6:.1f} MB zip)", cached_zip[1], "lora-adapter.zip",
                               "application/zip", key="lora.download")
            st.caption("The zip is peft's adapter folder: `adapter_config.json`, `adapter_model.safetensors` (A and B of every "
                       "layer, and the head) and `labels.json`. Reload it with `core.llm.finetune.load_adapter(bytes, base)` or "
                       "`PeftModel.from_pretrained`.")

# ----------------------------------------------------------------------------- 4. compare
st.subheader("4 · Linear probe vs LoRA vs full fine-tuning")
st.markdown("The same data, batches, seed, epochs and head; only what trains differs. Each method gets its own "
            "learning rate (set in the form above): a fresh head alone can take big steps, moving all pretrained "
            "weights needs small ones. Press **Race probe vs LoRA vs full** to run them one after the other.")
with friendly_errors():
    if compare:
        for method, cfg in ft.race_configs(config, {"probe": lr_probe, "full": lr_full}).items():
            st.markdown(f"**{method}**")
            live.train(f"lora.compare.{method}", lambda on_step, cfg=cfg: ft.fit(cfg, train_rows, test, on_step, base).slim(),
                       steps, metrics=("loss", "test_acc"))
runs = {m: live.last(f"lora.compare.{m}") for m in ft.METHODS}
runs = {m: r for m, r in runs.items() if r is not None}
if runs:
    st.dataframe(pd.DataFrame([r.summary() for r in runs.values()]), hide_index=True, width="stretch",
                 column_config={"trainable %": st.column_config.NumberColumn(format="%.2f"),
                                "train s": st.column_config.NumberColumn(format="%.1f"),
                                "wall s": st.column_config.NumberColumn(format="%.1f"),
                                "peak memory MB": st.column_config.NumberColumn(format="%.0f"),
                                "steps/s": st.column_config.NumberColumn(format="%.2f"),
                                "held-out accuracy": st.column_config.NumberColumn(format="%.3f")})
    histories = pd.concat([r.history.frame().assign(method=m) for m, r in runs.items()])
    c = st.columns(2)
    loss = histories[histories.metric == "loss"]
    draw(lines(loss, "step:Q", field("value:Q", title="loss"), "method:N", "Training loss per step", 300), c[0])
    acc = pd.concat([pd.DataFrame({"train s": r.history.metrics["train_s"], "held-out accuracy": r.history.metrics["test_acc"]})
                     .dropna().assign(method=m) for m, r in runs.items()])
    draw(lines(acc, "train s:Q", field("held-out accuracy:Q", scale={"zero": False}), "method:N",
               "Held-out accuracy against training time", 300, point=True), c[1])
    per_step = {m: r.history.metrics["train_cpu_s"][-1] / r.history.steps[-1] for m, r in runs.items()
                if r.history.steps and r.history.metrics.get("train_cpu_s")}
    st.caption("The methods ran one after the other, so a busy server can slow one more than another: CPU seconds per "
               "training step (the machine's other programs do not inflate these as they do wall time) were "
               + ", ".join(f"{m} {1000 * v:,.0f} ms" for m, v in per_step.items()) + ".")
    st.caption("Peak memory is measured: the most bytes held at once by the tensors this run allocated while training "
               "(torch counts each as it is made and freed, so other learners' runs on the server never count). On a CPU, "
               "LoRA saves the gradients and Adam moments of 22 M frozen weights (memory, and a 1 MB adapter to save instead "
               "of a 90 MB model) but still runs the whole backward pass, so its steps take about as long as full "
               "fine-tuning's; the probe computes the features once and then trains only the head.")

show_code(ft.fit, ft.build, ft.Classifier)
