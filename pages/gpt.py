from dataclasses import replace

import pandas as pd
import streamlit as st

from core.errors import Unavailable
from core.infra import data, models
from core.llm import generation
from core.lm.markov_source import MarkovSource
from core.lm.text_tokens import BPE_VOCAB, BPE_VOCABS, TOKENIZERS
from core.transformers import attention_heads as ah
from core.transformers import gpt_checkpoint, gpt_experiments, gpt_inspect, gpt_train
from core.transformers.gpt import GPT, Block, CausalSelfAttention, GPTConfig, count_parameters
from core.transformers.gpt_train import TrainConfig
from ui import live, state
from ui.page import friendly_errors, header, show_code
from ui.tokens import visible
from ui.vega import draw, field, values

header(
    "🤖 A GPT from scratch, trained here",
    "A small GPT in the shape of GPT-2, written in ~250 lines of PyTorch (`core/transformers/gpt.py`), learns to "
    "continue a text **one token at a time** while you watch. It is judged on the last 10 % of the corpus, which it "
    "never trains on, against the best n-gram model (counting, no learning) and, on the synthetic Markov text, against "
    "the source's exact entropy rate, which no model can beat. Then switch parts of it off, grow it, and look inside.",
)
st.latex(r"h_0 = E_{\text{tok}}[x] + E_{\text{pos}},\quad h \leftarrow h + \text{Attn}(\text{LN}(h)),\quad "
         r"h \leftarrow h + \text{MLP}(\text{LN}(h)),")  # two lines: one was wider than the page and cut off
st.latex(r"p(x_{t+1}\mid x_{\le t}) = \text{softmax}(\text{LN}(h_t)\,E_{\text{tok}}^\top)")

CORPORA = {"python-docs": "Python's manual (English, offline)", "markov": "Synthetic Markov text (exact entropy rate)",
           "tiny-shakespeare": "Tiny Shakespeare (online)", "upload": "Your own text file"}

# ----------------------------------------------------------------------------- 1. data and tokens
st.subheader("1 · The text and its tokens")
a, b = st.columns([3, 2])
source = a.selectbox("Corpus", list(CORPORA), format_func=CORPORA.get, key="gpt.corpus")
tokens = b.radio("Tokens", list(TOKENIZERS), horizontal=True, key="gpt.tokens",
                 help="characters: one token per distinct character of the corpus; bytes: one per UTF-8 byte (an emoji is 4); "
                      "BPE: the lab's byte-pair encoding (the tokenizer page), bytes merged into frequent pieces, learned from "
                      "the training 90 % only.")
bpe_vocab = b.select_slider("BPE vocabulary", BPE_VOCABS, BPE_VOCAB, key="gpt.bpe_vocab", disabled=tokens != "BPE",
                            help="256 single bytes + the merges BPE learns; more merges: fewer, longer tokens and a bigger "
                                 "embedding table. Learned once per text and size.")
text = None
with friendly_errors():
    if source == "upload":
        upload = st.file_uploader("A UTF-8 text file (up to 5 MB)", type=["txt", "md", "py", "csv", "json", "html"], key="gpt.text")
        text = data.text_from_upload(upload.getvalue(), upload.name) if upload is not None else None
    else:
        try:
            text = state.text(source)
        except Unavailable as e:
            st.info(f"{e}. Using Python's manual instead.", icon="📴")
            source, text = "python-docs", state.text("python-docs")
if text is None:
    st.info("Upload a text file to train on it, or pick another corpus.", icon="📄")
    st.stop()

tokenizer = None
with friendly_errors(), st.spinner("Building the tokenizer (BPE learns its merges once per text and size)…"):
    tokenizer = state.shared(gpt_train.tokenizer_for)(text, tokens, bpe_vocab)
if tokenizer is None:
    st.stop()
floor = state.shared(MarkovSource)().entropy_rate_per_character if source == "markov" else None
merges = len(getattr(tokenizer, "merges", ()))
vocabulary = (f"{tokenizer.vocab_size:,} BPE tokens (256 bytes + {merges:,} merges learned from the first 90 % only"
              + (f"; this text allowed only {merges:,} of the {bpe_vocab - 256:,} asked for: every word is already one token)"
                 if tokenizer.vocab_size < bpe_vocab else ")") if tokens == "BPE" else f"{tokenizer.vocab_size:,} {tokens}")
st.caption(f"{len(text):,} characters; a vocabulary of {vocabulary}. Every run trains on the first 90 % of "
           "the text and is judged on the last 10 %, the same cut every time, against the best add-k n-gram model on the same split "
           "(order and k chosen on the training part alone; fitted when you first train on this text)"
           + (f" and the source's exact entropy rate, **{floor:.3f} bits per character**: the floor no model can beat." if floor else ".")
           + " Losses are compared in **bits per character**, since a token's size depends on the tokenizer.")

# ----------------------------------------------------------------------------- 2. train
st.subheader("2 · The model and its training")
with st.form("gpt.form"):
    c = st.columns(5)
    config = dict(n_layer=c[0].slider("Layers", 0, 8, 2, key="gpt.layers"),
                  n_head=c[1].select_slider("Heads", [1, 2, 3, 4, 6, 8], 4, key="gpt.heads"),
                  n_embd=c[2].select_slider("Width", [8, 16, 24, 32, 48, 64, 96, 128, 192, 256], 64, key="gpt.width"),
                  context=c[3].select_slider("Context (tokens)", [8, 16, 32, 64, 128, 256], 64, key="gpt.context"),
                  dropout=c[4].slider("Dropout", 0.0, 0.5, 0.0, 0.05, key="gpt.dropout"))
    c = st.columns(5)
    train_config = TrainConfig(
        lr=c[0].select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0], 3e-3, key="gpt.lr"),
        warmup=c[1].slider("Warmup steps", 0, 500, 30, key="gpt.warmup",
                           help="the learning rate rises from 0 over these steps, then decays as a cosine"),
        batch_size=c[2].select_slider("Batch (windows)", [1, 2, 4, 8, 16, 32, 64], 32, key="gpt.batch"),
        steps=int(c[3].number_input("Steps", 1, 20_000, 400, step=50, key="gpt.steps")),
        seed=int(c[4].number_input("Seed", 0, 1_000_000, 0, key="gpt.seed")))
    submitted = st.form_submit_button("Train", type="primary")

run: gpt_train.Run | None = state.recall("gpt.run")
with friendly_errors():
    if submitted:
        run = gpt_train.start(GPTConfig(vocab_size=tokenizer.vocab_size, **config), train_config, text, tokenizer)
        with st.spinner("Fitting the n-gram models to beat (once per text and tokenizer)…"):
            baseline = state.cached(gpt_train.ngram_baseline)(text, tokens, bpe_vocab)
        state.remember("gpt.run", run)
        state.remember("gpt.lines", {"n-gram (bits/char)": baseline.bits_per_char} | ({"entropy rate (bits/char)": floor} if floor else {}))
        state.remember("gpt.corpus_used", f"{CORPORA[source]}, {tokens}")
        state.remember("gpt.baseline", baseline)
resume = st.button("Resume training", key="gpt.resume", disabled=run is None or run.finished,
                   help="go on from the step where the last run stopped, with its model, optimiser and schedule")
if run is not None and (submitted or resume):
    samples_box = st.empty()
    live.train("gpt", lambda on_step: gpt_train.fit(run.config, run.train_config, text, run.tokenizer, on_step, resume_from=run,
                                                    lines=state.recall("gpt.lines"), on_sample=lambda s, t: samples_box.code(
                                                        f"step {s}: {t}", language=None, wrap_lines=True)),
               total_steps=run.train_config.steps, metrics=("train_bits_per_char", "val_bits_per_char", *state.recall("gpt.lines")))
    st.rerun()  # draw the page afresh around the finished run (its Resume button greyed out, its results below)
live.last("gpt")
lab = None
with friendly_errors():
    try:
        lab = state.shared(gpt_checkpoint.load_folder)(str(models.lab_gpt_folder()))
    except Unavailable as e:
        st.info(str(e), icon="📦")

# what the rest of the page shows: the learner's run, else the lab's own checkpoint
if run is not None and run.step:
    run.model.eval()  # a run interrupted mid-training is still in training mode (dropout on)
    model, shown_tokenizer, history, samples, final = run.model, run.tokenizer, run.history, run.samples, run.val_loss
    shown_lines, what = state.recall("gpt.lines"), f"your run on {state.recall('gpt.corpus_used')}"
    tokens_per_char = run.data.tokens_per_char
    baseline = state.recall("gpt.baseline")
    if baseline:
        st.caption(f"Best n-gram on this split: order {baseline.order}, k = {baseline.k:g}, {baseline.val_bits:.3f} bits per token "
                   f"on the held-out {baseline.val_tokens:,} tokens (trained on {baseline.train_tokens:,}): "
                   f"{baseline.bits_per_char:.3f} bits per character, as the held-out text is {run.data.val_chars:,} characters in "
                   f"{len(run.data.val):,} tokens, {tokens_per_char:.3f} tokens per character.")
    if run.stop_reason:
        st.warning(f"Training stopped: {run.stop_reason}.", icon="💥")
    elif not run.finished:
        st.info(f"Your run stopped at step {run.step:,} of {run.train_config.steps:,}; the model below is the one from that step. "
                "Resume training to go on.", icon="⏸️")
elif lab is not None:
    model, shown_tokenizer, history, samples = lab.model, lab.tokenizer, lab.history, lab.samples
    final = lab.meta.get("results", {}).get("val loss (nats)")
    shown_lines = {"n-gram (bits/char)": lab.meta.get("results", {}).get("ngram", {}).get("bits_per_char")}
    what, tokens_per_char = "the lab's own GPT (press Train for yours)", lab.tokens_per_char
    st.caption(f"Until you train one, the page shows **the lab's own GPT**, trained by `./lab train gpt` "
               f"(`{lab.meta.get('command', '')}`).")
else:
    st.stop()
if tokens_per_char is None:  # a checkpoint whose config.json lost its results: its losses stay per token
    st.caption("This checkpoint does not record its held-out text's tokens per character, so its losses are shown per token.")
    tokens_per_char, shown_lines = 1.0, {}

h = history
held_out = gpt_train.held_out_loss(h, tokens_per_char, final)  # the whole split once a run has finished, else its last evaluation
cols = st.columns(3) + st.columns(2)  # two rows: five metrics in one row cut their labels short
cols[0].metric("Held-out, bits/char", f"{held_out.bits_per_char:.3f}" if held_out else "–",
               help="cross-entropy on the held-out 10 %, in bits per character: bits per token (nats ÷ ln 2) × the held-out "
                    "text's tokens per character. The whole split at the end of a run, else the last evaluation's windows")
cols[1].metric("per token, bits", f"{held_out.bits:.3f}" if held_out else "–",
               help="the same loss per token: comparable only between runs with the same tokenizer")
ngram_bpc = shown_lines.get("n-gram (bits/char)")
if held_out and ngram_bpc:
    cols[2].metric("Best n-gram, bits/char", f"{ngram_bpc:.3f}", delta=f"{held_out.bits_per_char - ngram_bpc:+.3f}", delta_color="inverse",
                   help="the GPT's held-out bits per character minus the n-gram's: below 0 (green), the GPT beats it")
cols[3].metric("Parameters", f"{count_parameters(model):,}")
cols[4].metric("Tokens / s", f"{h.last('tokens_per_s'):,.0f}" if "tokens_per_s" in h.metrics else "–")
if held_out:
    st.caption(f"Held-out loss: {held_out.nats:.3f} nats = {held_out.bits:.3f} bits per token × {tokens_per_char:.3f} tokens per "
               f"character (counted on the held-out text) = **{held_out.bits_per_char:.3f} bits per character**.")

curves = gpt_train.loss_curves(h, tokens_per_char)
rules = pd.DataFrame([{"line": k, "bits": v} for k, v in shown_lines.items() if v is not None])
draw({"title": f"Loss of {what}, bits per character", "height": 280, "data": curves, "layer": [
    {"mark": {"type": "line", "point": False},
     "encoding": {"x": field("step:Q"), "y": field("value:Q", title="bits per character", scale={"zero": False}),
                  "color": field("metric:N", title="loss on", scale={"domain": ["train", "held-out"], "range": ["#9ecae9", "#1f77b4"]}),
                  "tooltip": [field("step:Q"), field("metric:N"), field("value:Q", format=".3f")]}},
    {"data": values(rules), "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 2},
     "encoding": {"y": field("bits:Q"), "strokeDash": field("line:N", title="to beat"),
                  "color": {"value": "#d62728"}, "tooltip": [field("line:N"), field("bits:Q", format=".3f")]}},
]})
if samples:
    st.markdown("**Samples as it learned** (the held-out text's first tokens continued at temperature 0.8, "
                "the same random draws each time)")
    st.dataframe(pd.DataFrame(samples, columns=["step", "sample"]).iloc[::-1], hide_index=True, width="stretch",
                 column_config={"sample": st.column_config.TextColumn(width="large")}, height=min(400, 38 + 35 * len(samples)))

# ----------------------------------------------------------------------------- 3. look inside, ablate, scale, save
inspect, ablate, sweep, files = st.tabs(["Look inside", "Ablations", "Scaling sweep", "Download / upload"])

with files:  # first, so that an upload is ready for "Look inside" in the same run
    st.markdown("Your run as a checkpoint: `model.safetensors` (the weights), `config.json` (model, tokenizer, training "
                "settings) and `training_log.json` (curves and samples), zipped. Upload it later to look inside again.")
    if run is not None and run.step:
        meta = {"corpus": state.recall("gpt.corpus_used"), "train": run.train_config.__dict__, "results": gpt_train.summary(run)}
        log = {"steps": run.history.steps, "metrics": run.history.metrics, "samples": run.samples}
        st.download_button("Download your run (.zip)", lambda: gpt_checkpoint.zipped(run.model, run.tokenizer, meta, log),
                           file_name=f"gpt-run-step{run.step}.zip", mime="application/zip", on_click="ignore", key="gpt.download")
    else:
        st.caption("Train a model first to download it.")
    ups = st.file_uploader("Upload a checkpoint (the .zip, or model.safetensors + config.json)", type=["zip", "safetensors", "json"],
                           accept_multiple_files=True, key="gpt.upload_ckpt")
    uploaded = None
    with friendly_errors():
        if ups:  # checked and built once per distinct upload (cached by its bytes); a bad one warns on every rerun
            uploaded = state.cached(gpt_checkpoint.load_upload, max_entries=4)({u.name: u.getvalue() for u in ups})
            c = uploaded.model.config
            st.success(f"Loaded a GPT with {count_parameters(uploaded.model):,} parameters ({c.n_layer} layers × {c.n_head} heads, "
                       f"width {c.n_embd}, {uploaded.tokenizer.vocab_size:,} {uploaded.tokenizer.kind} tokens). "
                       "Pick it under Look inside.", icon="📦")


with inspect:
    choices = {"shown": "the model above"} | ({"uploaded": "the checkpoint you uploaded"} if uploaded else {})
    pick = st.radio("Model", list(choices), format_func=choices.get, horizontal=True, key="gpt.inspect_model")
    m, tok = (uploaded.model, uploaded.tokenizer) if pick == "uploaded" else (model, shown_tokenizer)
    probe = st.text_area("Your text", "the cat sat on the mat and the dog ran to the river", max_chars=20_000, height=70, key="gpt.probe")
    with friendly_errors():
        att = gpt_inspect.attentions(m, tok, probe)
        n_layers, n_heads, n_tok, _ = att.weights.shape if att.weights.size else (0, 0, len(att.tokens), 0)
        if att.truncated:
            st.info(f"Your text has {att.n_tokens:,} tokens; the heatmaps read the first {n_tok} (the model's context, or "
                    f"{gpt_inspect.MAX_TOKENS} at most).", icon="✂️")
        if n_layers == 0:
            st.info("This model has no layers, so no attention: each prediction comes from the current token alone (a bigram model).")
        else:
            names = [f"{i} {visible(t)}" for i, t in enumerate(att.tokens)]
            stats = ah.head_stats(att)
            label = stats.set_index(["layer", "head"])["label"]
            c = st.columns(2)
            layer = c[0].slider("Layer", 0, n_layers - 1, n_layers - 1, key="gpt.layer") if n_layers > 1 else 0
            head = c[1].slider("Head", 0, n_heads - 1, 0, key="gpt.head") if n_heads > 1 else 0
            cells = pd.DataFrame([(names[i], names[j], float(att.weights[layer, head, i, j])) for i in range(n_tok) for j in range(i + 1)],
                                 columns=["query", "key", "weight"])
            draw({"title": f"Layer {layer}, head {head}: {label[layer, head]}", "data": cells, "mark": "rect",
                  "height": {"step": 20},  # a label's box moves with its glyphs (␣, ↵): 20 px keeps neighbours apart
                  "encoding": {"x": field("key:N", sort=names, title="looks at (key)", axis={"labelOverlap": False, "labelAngle": -90}),
                               "y": field("query:N", sort=names, title="token (query)", axis={"labelOverlap": False}),
                               "color": field("weight:Q", scale={"scheme": "purples", "domain": [0, 1]}, title="attention weight"),
                               "tooltip": [field("query:N"), field("key:N"), field("weight:Q", format=".3f")]}})
            st.caption("Each row is a token looking back (causal: nothing to the right of the diagonal); darker = more attention. "
                       f"Head types, as on the heads page: {', '.join(f'{k} {v}' for k, v in stats.label.value_counts().items())}.")
            st.dataframe(stats, hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(format="%.2f") for c in stats.columns[2:-1]})
        nxt = gpt_inspect.next_token_table(m, tok, probe, top_n=15)
        nxt["shown"] = [f"{r} · {visible(t)}" for r, t in zip(nxt["rank"], nxt.token)]
        draw({"title": "What it predicts after your text", "data": nxt, "mark": {"type": "bar", "color": "#72b7b2"}, "height": {"step": 20},
              "encoding": {"y": field("shown:N", sort=None, title=None, axis={"labelOverlap": False}),  # every rank keeps its token
                           "x": field("probability:Q", axis={"format": "%"}),
                           "tooltip": [field("token:N"), field("id:Q"), field("probability:Q", format=".2%")]}})
    with st.form("gpt.generate"):
        g = st.columns(5)
        compare = generation.CompareConfig(max_new_tokens=g[0].slider("New tokens", 1, 120, 60),
                                           num_beams=g[1].slider("Beam width", 1, 8, 3),
                                           temperature=g[2].slider("Sampling: T", 0.05, 2.0, 0.8, 0.05),
                                           top_k=g[3].slider("top-k: k", 1, 100, 10),
                                           top_p=g[4].slider("top-p: p", 0.05, 1.0, 0.9, 0.05))
        go = st.form_submit_button("Continue my text with every strategy")
    with friendly_errors():
        if go:
            ids, _ = gpt_inspect.encode_prompt(m, tok, probe, room=compare.max_new_tokens)
            outs = {name: run(m, ids, None) for name, run in generation.strategies(compare).items()}  # bytes: no EOS
            state.remember("gpt.generated", pd.DataFrame([{"strategy": k, "continuation": tok.decode(r.new_ids),
                                                           "log-prob": r.total_logprob, "perplexity": r.perplexity}
                                                          for k, r in outs.items()]))
        if state.recall("gpt.generated") is not None:
            st.dataframe(state.recall("gpt.generated"), hide_index=True, width="stretch")
            st.caption("The decoding page's own code (core/llm/generation.py: greedy, beam search with a KV cache, seeded sampling) "
                       "running on this GPT; a prompt longer than the context keeps its end.")

with ablate:
    st.markdown("Train the model of the form above again with one part switched off, **same steps, batch, learning rate and "
                "seed**, and compare the held-out loss. Depth vs width keeps the parameter count (nearly) equal.")
    with st.form("gpt.ablations_form"):
        chosen = st.multiselect("Variants", list(gpt_experiments.ABLATIONS),
                                ["full model", "no position embedding", "no residual connections", "no LayerNorm"], key="gpt.variants")
        ablation_steps = st.slider("Steps each", 20, 2000, 150, 10, key="gpt.ablation_steps")
        go_ablate = st.form_submit_button("Train the variants")
    with friendly_errors():
        if go_ablate:
            base, tc = GPTConfig(vocab_size=tokenizer.vocab_size, **config), replace(train_config, steps=ablation_steps)
            live.train("gpt.ablations", lambda on_step: gpt_experiments.run_ablations(base, tc, text, tokenizer, chosen, on_step),
                       total_steps=ablation_steps * len(chosen), metrics=("train_bits",))
        result = live.last("gpt.ablations")
        if result is not None and len(result.table):
            table = result.table
            st.dataframe(table.drop(columns=["stopped because", "held-out tokens per character"]).style.format(precision=3),
                         hide_index=True, width="stretch")
            bits = field("val loss (bits):Q", title="held-out bits per token")
            draw({"data": table, "height": {"step": 28}, "encoding": {"y": field("run:N", sort=None, title=None), "x": bits}, "layer": [
                {"mark": {"type": "bar", "color": "#1f77b4"}, "encoding": {"tooltip": [
                    field("run:N"), field("val loss (bits):Q", format=".3f"), field("parameters:Q", format=",")]}},
                {"mark": {"type": "text", "align": "left", "dx": 3}, "encoding": {"text": field("val loss (bits):Q", format=".3f")}}]})
            for name, why in zip(table.run, table["stopped because"]):
                if why:
                    st.warning(f"{name}: {why}.", icon="💥")

with sweep:
    st.markdown("The same budget of steps for models of growing size (layers × width): does a bigger model buy a lower "
                "held-out loss, and at what cost in parameters and FLOPs (6 per weight per token, plus attention)?")
    with st.form("gpt.sweep_form"):
        sweep_steps = st.slider("Steps each", 20, 2000, 150, 10, key="gpt.sweep_steps")
        go_sweep = st.form_submit_button(f"Train the {len(gpt_experiments.SWEEP)} sizes")
    with friendly_errors():
        if go_sweep:
            base, tc = GPTConfig(vocab_size=tokenizer.vocab_size, **config), replace(train_config, steps=sweep_steps)
            live.train("gpt.sweep", lambda on_step: gpt_experiments.run_sweep(base, tc, text, tokenizer, on_step=on_step),
                       total_steps=sweep_steps * len(gpt_experiments.SWEEP), metrics=("train_bits",))
        result = live.last("gpt.sweep")
        if result is not None and len(result.table):
            table = result.table
            c = st.columns(2)
            for column, x in zip(c, ["parameters", "training FLOPs"]):
                draw({"data": table, "height": 260, "encoding": {
                    "x": field(f"{x}:Q", scale={"type": "log"}),
                    "y": field("val loss (bits):Q", title="held-out bits per token", scale={"zero": False})}, "layer": [
                    {"mark": {"type": "line", "point": True, "color": "#1f77b4"},
                     "encoding": {"tooltip": [field("run:N"), field(f"{x}:Q", format=".3s"), field("val loss (bits):Q", format=".3f")]}},
                    {"mark": {"type": "text", "dy": -10}, "encoding": {"text": field("run:N")}}]}, column)
            st.dataframe(table.drop(columns=["stopped because", "held-out tokens per character"]).style.format(precision=3),
                         hide_index=True, width="stretch")

show_code(GPT, Block, CausalSelfAttention, gpt_train.fit, label="The code: the GPT and its training loop")
