from dataclasses import replace

import pandas as pd
import streamlit as st

from core.infra.data import csv_safe
from core.transformers import seq2seq_checkpoint as s2s_checkpoint
from core.transformers import seq2seq_train as s2s
from core.transformers import translation_task as tt
from ui import live, state
from ui import seq2seq_charts as charts
from ui.page import friendly_errors, header, show_code
from ui.vega import draw

header(
    "🔁 Sequence to sequence: why attention was invented",
    "Translate numbers between English words and digits, one character at a time, with three models trained on the same "
    "pairs, batches and budget: an **RNN encoder-decoder with one fixed context vector** (everything the decoder learns "
    "about the source squeezed into one vector), **the same with additive (Bahdanau) attention** (at every step it looks "
    "back at the source characters it needs), and the **encoder-decoder transformer** (self-attention, masked "
    "self-attention, cross-attention, MLPs, residuals and LayerNorm: the GPT's blocks in three roles). "
    "Watch accuracy against source length, where each model looks while it writes, what learning-rate warmup and "
    "label smoothing do, and translate your own numbers with greedy and beam search.",
)

MODELS = s2s.MODELS
KEYS = {name: f"s2s.{name}" for name in MODELS}
DEFAULT_TASK, DEFAULT_TRAIN = tt.TaskConfig(), s2s.TrainConfig()

# ----------------------------------------------------------------------------- the task and the training budget

with st.form("s2s.form"):
    st.markdown("**The task**")
    c = st.columns(4)
    direction = c[0].selectbox("Direction", tt.DIRECTIONS, key="s2s.direction")
    digits = c[1].slider("Numbers up to (digits)", 1, tt.MAX_DIGITS, DEFAULT_TASK.max_digits, key="s2s.digits",
                         help="Numbers from 0 to 10^digits − 1; the same count of each length in digits.")
    cap = c[2].slider("Longest training source (characters)", 1, 100, DEFAULT_TASK.train_max_chars, key="s2s.cap",
                      help="Pairs with longer sources are never trained on: they form the held-out 'longer' set.")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key="s2s.seed", help="Which numbers are drawn, the initial weights and the batches.")
    st.markdown("**The budget (the same for all three models)**")
    c = st.columns(4)
    budget = c[0].radio("Budget", ["same steps", "same seconds"], horizontal=True, key="s2s.budget")
    steps = c[1].slider("Steps", 10, 3000, DEFAULT_TRAIN.steps, 10, key="s2s.steps",
                        help="With 'same seconds', the most steps any model takes.")
    seconds = c[2].slider("Seconds per model", 2, 120, 15, key="s2s.seconds", help="Used with 'same seconds'.")
    batch_size = c[3].select_slider("Batch size", [1, 4, 8, 16, 32, 64, 128, 256], DEFAULT_TRAIN.batch_size, key="s2s.batch")
    c = st.columns(4)
    peak_lr = c[0].select_slider("Peak learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0, 10.0, 100.0], DEFAULT_TRAIN.peak_lr,
                                 key="s2s.lr", help="Reached at the end of the warmup; then it decays ∝ 1/√step.")
    warmup = c[1].slider("Warmup steps", 1, 1000, DEFAULT_TRAIN.warmup, key="s2s.warmup")
    smoothing = c[2].slider("Label smoothing ε", 0.0, 0.5, 0.0, 0.05, key="s2s.eps")
    norm = c[3].radio("Transformer LayerNorm", ["pre-LN", "post-LN (2017 paper)"], key="s2s.norm")
    with st.expander("Model sizes"):
        c = st.columns(4)
        hidden = c[0].slider("RNN state width H", 4, 256, DEFAULT_TRAIN.hidden, 4, key="s2s.hidden")
        width = c[1].select_slider("Transformer width d", [8, 16, 32, 64, 128, 256], DEFAULT_TRAIN.n_embd, key="s2s.width")
        layers = c[2].slider("Transformer layers (each side)", 1, 6, DEFAULT_TRAIN.n_layer, key="s2s.layers")
        heads = c[3].select_slider("Heads", [1, 2, 4, 8], DEFAULT_TRAIN.n_head, key="s2s.heads")
    submitted = st.form_submit_button("Train the three models", type="primary")

runs, task = {}, None
with friendly_errors():
    task_config = tt.TaskConfig(direction=direction, max_digits=digits, train_max_chars=cap, seed=int(seed))
    tc = s2s.TrainConfig(steps=steps, seconds=float(seconds) if budget == "same seconds" else 0.0, batch_size=batch_size, peak_lr=peak_lr,
                         warmup=warmup, label_smoothing=smoothing, hidden=hidden, n_embd=width, n_layer=layers, n_head=heads,
                         norm_first=norm == "pre-LN", seed=int(seed))
    s2s.check_train_config(tc)
    new_task = state.cached(tt.make_task)(task_config)
    first_visit = all(state.recall(k) is None and state.recall(f"{k}.history") is None for k in KEYS.values())
    if submitted or first_visit:
        for key in [*KEYS.values(), "s2s.nowarm", "s2s.smooth"]:  # a new comparison: no model of an older one is shown beside it
            state.remember(key, None)
            state.remember(f"{key}.history", None)
        state.remember("s2s.scores", None)
        kept = None
        if not submitted and s2s_checkpoint.made_with(s2s_checkpoint.FOLDER) == (task_config, tc):
            with friendly_errors():  # a damaged checkpoint is named, and the three models train live instead
                kept = state.shared(s2s_checkpoint.load_folder)(str(s2s_checkpoint.FOLDER))
        state.remember("s2s.kept", kept is not None)
        if kept is not None:  # a first visit at the defaults: the models our own command trained with exactly these settings
            state.remember("s2s.task", kept[0])
            for name, run in kept[1].items():
                state.remember(KEYS[name], run)
        else:
            state.remember("s2s.task", new_task)
            for i, name in enumerate(MODELS):
                live.train(KEYS[name], lambda on_step, name=name: s2s.fit(replace(tc, model=name), new_task, on_step),
                           total_steps=tc.steps, metrics=("loss",), title=f"Training **{name}** ({i + 1} of {len(MODELS)})…")
    task = state.recall("s2s.task")
    runs = {name: live.last(KEYS[name]) for name in MODELS}

if task is None or any(run is None for run in runs.values()):
    st.info("Train the three models (the button above) to compare them.", icon="🔁")
    st.stop()

scores = state.recall("s2s.scores")
if scores is None:
    scores = s2s.score_runs(runs, task)
    state.remember("s2s.scores", scores)
cap = task.config.train_max_chars
if state.recall("s2s.kept"):
    st.info(f"These three models were trained with the page's default settings by the lab's own command (`./lab train seq2seq`, "
            f"{sum(r.seconds for r in runs.values()):.0f} s of training in all) and kept in `checkpoints/seq2seq-numbers`, so they "
            "show at once. Press **Train the three models** to train them here, live, with any settings.", icon="📦")
for name, run in runs.items():
    if run.stop_reason:
        st.warning(f"{name}: training stopped at step {run.steps:,}: {run.stop_reason}.", icon="💥")

st.subheader("Exact match against source length")
summary = s2s.summary_table(runs, scores, cap)
st.dataframe(summary, hide_index=True, width="stretch", column_config={
    "seconds": st.column_config.NumberColumn(format="%.1f"), "test exact match": st.column_config.NumberColumn(format="percent"),
    "longer exact match": st.column_config.NumberColumn(format="percent",
                                                        help=f"sources longer than {cap} characters: never seen in training"),
    "test loss (nats/char)": st.column_config.NumberColumn(format="%.3f")})
by_length = s2s.accuracy_by_length(scores, s2s.length_bins(task.max_source), cap)
draw(charts.accuracy_by_length(by_length, cap))
st.caption(f"Held-out pairs only: {len(task.test):,} test pairs with sources of at most {cap} characters (the lengths trained on, "
           f"{len(task.train):,} training pairs) and {len(task.longer):,} longer ones. "
           + s2s.describe_degradation(s2s.degradation(scores, cap)))

# ----------------------------------------------------------------------------- alignments and the learner's own input

st.subheader("Where each model looks: translate any number")
examples = s2s.example_pairs(task)
labels = [f"{p.source}  →  {p.target}" + ("   (longer than training)" if len(p.source) > cap else "") for p in examples]
c = st.columns([3, 1, 1])
longest_test = max(sum(len(p.source) <= cap for p in examples) - 1, 0)  # the default: the longest trained length
choice = c[0].selectbox("Start from a held-out pair", range(len(examples)), index=longest_test, format_func=lambda i: labels[i],
                        key="s2s.example")
strategy = c[1].radio("Decoding", ["greedy", "beam"], horizontal=True, key="s2s.strategy")
beams = c[2].slider("Beam width", 1, 8, 4, key="s2s.beams", disabled=strategy == "greedy")
text = st.text_input(f"Source ({task.config.direction.split(' → ')[0]})", examples[choice].source if examples else "", max_chars=20_000,
                     key=f"s2s.text.{choice}.{task.config.direction}")
with friendly_errors():
    outs = {name: s2s.translate(run.model, task.vocab, text, strategy, beams) for name, run in runs.items()}
    truth = tt.true_translation(text, task.config.direction)
    st.dataframe(csv_safe(pd.DataFrame([{"model": name, "output": o.output, "right": None if truth is None else o.output == truth,
                                "log-probability (nats)": o.logprob} for name, o in outs.items()])),
                 hide_index=True, width="stretch", column_config={"log-probability (nats)": st.column_config.NumberColumn(format="%.3f")})
    st.caption(f"The rule's answer: {truth!r}." if truth is not None else "This input is not a number the task's rule writes, so "
               "there is no right answer to compare with: see what each model makes of it.")
    st.caption(f"{'Greedy decoding' if strategy == 'greedy' else f'Beam search (width {beams})'} by the lab's decoding code "
               "(core/llm/generation.py): the encoder reads the source once, the decoder then speaks the causal-LM call convention "
               "with that memory fixed.")
    attention, out = outs["additive attention"], outs["transformer"]
    cols = [f"{j} {'␣' if ch == ' ' else ch}" for j, ch in enumerate(text)]
    cell = max(6, min(16, 900 // max(len(cols), 1)))  # every source character keeps a column, however long the source
    st.markdown("**Additive attention: α**")
    draw(charts.alignment(s2s.alignment_table(attention, task.vocab), "RNN decoder → source",
                          [f"{i} {task.vocab.token(t)}" for i, t in enumerate(attention.ids)], cols, cell))
    st.caption("Row t: the weights α_t the decoder gave each source character while writing output t (each row sums to 1). "
               "The fixed-context model has no such row: it sees one vector, the same at every step.")
    frame = s2s.alignment_table(out, task.vocab)
    layer = st.radio("Transformer layer", sorted(frame.layer.unique()), horizontal=True, key="s2s.layer",
                     format_func=lambda v: f"decoder layer {v}")
    st.markdown(f"**Transformer cross-attention, decoder layer {layer}, every head**")
    draw(charts.alignment(frame[frame.layer == layer], f"decoder layer {layer} → source",
                          [f"{i} {task.vocab.token(t)}" for i, t in enumerate(out.ids)], cols, cell))
    st.caption("Each head's weights over the encoder's output (the source characters, in context) while the decoder wrote each "
               "output character: queries from the decoder, keys and values from the encoder.")

# ----------------------------------------------------------------------------- warmup

st.subheader("Learning-rate warmup")
st.latex(r"\mathrm{lr}(s) = f\cdot d^{-1/2}\cdot\min\!\left(s^{-1/2},\; s\cdot w^{-3/2}\right),\qquad f = \mathrm{peak}\cdot\sqrt{d\,w}")
transformer = runs["transformer"]
draw(charts.lines(s2s.schedule_frame(transformer.config), "lr", "learning rate", "schedule"))
st.caption(f"The transformer's schedule (d = {transformer.config.n_embd}, w = {transformer.config.warmup}): a straight rise to the peak "
           f"{transformer.config.peak_lr:g} at step {transformer.config.warmup}, then ∝ 1/√step. Without warmup the first steps take the "
           "peak at once, from random weights, where Adam's first updates are the largest they will ever be.")
if st.button("Train the transformer again without warmup", key="s2s.nowarm.go"):
    no_warm = live.train("s2s.nowarm", lambda on_step: s2s.fit(replace(transformer.config, warmup_on=False), task, on_step),
                         total_steps=transformer.config.steps, metrics=("loss",))
    compared = {f"warmup {transformer.config.warmup}": transformer, "no warmup": no_warm}
    state.remember("s2s.nowarm.caption", s2s.describe_pair(compared, task))
no_warm = live.last("s2s.nowarm")
if no_warm is not None:
    pair = {f"warmup {transformer.config.warmup}": transformer, "no warmup": no_warm}
    curves = pd.concat([r.history.frame().assign(run=name) for name, r in pair.items()])
    left, right = st.columns(2)
    with left:
        draw(charts.lines(curves[curves.metric == "loss"], "value", "training loss (nats/char)", "run", log=True))
    with right:
        draw(charts.lines(curves[curves.metric == "test_exact"], "value", "test exact match", "run"))
    st.caption(state.recall("s2s.nowarm.caption", ""))

# ----------------------------------------------------------------------------- label smoothing

st.subheader("Label smoothing")
st.latex(r"L = -(1-\varepsilon)\log p_y \;-\; \frac{\varepsilon}{V}\sum_{k=1}^{V}\log p_k")
eps = st.slider("ε for the comparison run", 0.0, 0.5, 0.1 if transformer.config.label_smoothing == 0 else 0.0, 0.05, key="s2s.eps2")
if st.button("Train the transformer again with this ε", key="s2s.smooth.go"):
    smooth = live.train("s2s.smooth", lambda on_step: s2s.fit(replace(transformer.config, label_smoothing=eps), task, on_step),
                        total_steps=transformer.config.steps, metrics=("loss",))
    state.remember("s2s.smooth.table", s2s.smoothing_table({"main": transformer, "smoothed": smooth}, task))
smooth = live.last("s2s.smooth")
if smooth is not None:
    table = state.recall("s2s.smooth.table")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="percent") for c in ("exact match", "confidence", "confidence when wrong")})
    st.caption("Test loss is the plain cross-entropy of the right character (no smoothing), so the two runs are scored alike; confidence "
               "is the mean probability of the character the model finds most likely. " + s2s.describe_smoothing(table))
else:
    st.caption("Train the comparison run to see smoothing's effect on loss, accuracy and confidence.")

show_code(s2s.smoothed_cross_entropy, s2s.learning_rate, s2s.Translator, s2s.fit)
