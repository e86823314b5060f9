import hashlib

import pandas as pd
import streamlit as st

from core.infra.data import text_from_upload
from core.lm import ladder, mlp_lm, neural_lm, rnn_lm
from core.lm.ngram import SMOOTHINGS, NGramConfig, NGramLM
from ui import live, state
from ui.page import friendly_errors, header, show_code
from ui.vega import draw, field, values

header(
    "🪜 From counts to networks: the language-model ladder",
    "Six kinds of language model read **the same text** and predict **the same held-out tokens**: an n-gram model "
    "that counts, Bengio's MLP that embeds the last few tokens, recurrent networks (a vanilla RNN, a GRU, an LSTM) "
    "that carry a hidden state along, and the lab's GPT, whose attention looks back at the whole window at once. "
    "Their held-out cross-entropy in bits per token is on one chart, against the seconds they trained and the "
    "numbers they store. On the lab's synthetic Markov text the best possible "
    "cross-entropy, the source's **entropy rate**, is known exactly: no model gets below it in expectation.",
)
st.latex(r"H = -\frac{1}{N}\sum_{t} \log_2 q(x_t \mid x_{<t}) \quad\text{bits/token}, \qquad \text{perplexity} = 2^{H}")

SMOOTHING_NAMES = {"mle": "none (MLE: raw counts)", "add-k": "add-k", "interpolated": "linear interpolation (Jelinek–Mercer)",
                   "kneser-ney": "interpolated Kneser–Ney"}
FAMILY_ORDER = ["n-gram", "MLP", "RNN", "GRU", "LSTM", "GPT"]
# one colour per kind of model, the same on the RNN-memory page (RNN red, GRU blue, LSTM green, attention purple)
FAMILY_COLOURS = {"domain": FAMILY_ORDER, "range": ["#555555", "#ff7f0e", "#d62728", "#1f77b4", "#2ca02c", "#9467bd"]}

# ----------------------------------------------------------------------------- the corpus
c1, c2 = st.columns([2, 1])
corpus_key = c1.radio("Text", list(ladder.CORPORA), format_func=ladder.CORPORA.get, horizontal=True, key="lad.corpus")
unit = "word"
text = None
if corpus_key != "markov":
    unit = c2.radio("Tokens", ["word", "char"], format_func={"word": "words", "char": "characters"}.get, horizontal=True,
                    key="lad.unit", index=1 if corpus_key == "python-docs" else 0,
                    help="Characters: a small vocabulary, long sequences. Words: thousands of words, most of them rare.")
if corpus_key == "text":
    upload = st.file_uploader("Upload a UTF-8 text file (≤ 5 MB)", type=["txt", "md", "csv", "py"], key="lad.upload")
    text = st.text_area("…or paste text", "", height=120, key="lad.text", max_chars=200_000,
                        placeholder="Paste a few pages of any language: the ladder needs about 600 tokens at least.")

corpus = None
with friendly_errors():
    if corpus_key == "text" and upload is not None:
        text = text_from_upload(upload.getvalue(), upload.name)
    corpus = state.cached(ladder.load_corpus)(corpus_key, unit, text)
if corpus is None:
    st.stop()

corpus_id = hashlib.sha1(f"{corpus_key}|{unit}|{text or ''}".encode()).hexdigest()[:10]  # results belong to one corpus
m = st.columns(4)
m[0].metric("Training tokens", f"{len(corpus.train):,}")
m[1].metric("Held-out tokens", f"{len(corpus.heldout):,}", help="Whole blocks of 256 tokens, 10% of them, picked by a seeded split "
            "(core.foundations.evaluation.split_indices). Every model predicts every held-out token after the first 16.")
m[2].metric("Vocabulary", f"{len(corpus.vocab):,}", help="Tokens seen at least twice in training, plus <UNK>.")
m[3].metric("Held-out <UNK>", f"{corpus.unknown_share:.2%}",
            help="Held-out tokens the vocabulary does not hold. They are read as <UNK>, a token the models learned from the "
                 "training tokens seen only once, so an unseen word costs finitely many bits in every model.")
if corpus.entropy_rate is not None:
    st.caption(f"The Markov source's exact entropy rate: **{corpus.entropy_rate:.4f} bits/token** (perplexity "
               f"{2 ** corpus.entropy_rate:.3f}). It is the floor on every chart below.")

# ----------------------------------------------------------------------------- the n-gram rung, explained
st.header("Rung 1: counting, smoothing, backing off")
st.latex(r"q_{KN}(w \mid c) = \frac{\max(N(c,w) - D,\,0)}{N(c,\cdot)} + \frac{D\,T(c)}{N(c,\cdot)}\; q_{KN}(w \mid c')")
st.caption("Kneser–Ney subtracts D from every count it saw and passes the mass collected, D·T(c)/N(c,·) with T(c) the distinct "
           "words seen after c, to the shorter context c′. Below the top order N counts continuations: how many distinct "
           "words came before (c, w). A context never seen passes everything down (backoff).")
e = st.columns(4)
smoothing = e[0].selectbox("Smoothing", SMOOTHINGS, index=3, format_func=SMOOTHING_NAMES.get, key="lad.smooth")
order = e[1].slider("Order n", 1, 8, 3 if unit == "word" else 5, key=f"lad.order.{unit}")
k = lam = discount = None
if smoothing == "add-k":
    k = e[2].select_slider("k", [0.001, 0.01, 0.1, 0.5, 1.0], 0.1, key="lad.k")
if smoothing == "interpolated":
    lam = e[2].slider("λ (weight of each order's own counts)", 0.0, 0.99, 0.8, key="lad.lam")
if smoothing == "kneser-ney":
    discount = e[2].slider("Discount D", 0.05, 1.0, 0.75, 0.05, key="lad.d")
with friendly_errors():
    ngram_config = NGramConfig(order=max(order, 2) if smoothing == "kneser-ney" else order, smoothing=smoothing,
                               **{name: v for name, v in (("k", k), ("lam", lam), ("discount", discount)) if v is not None})
    if smoothing == "kneser-ney" and order < 2:
        st.info("Kneser–Ney needs n ≥ 2 (its lowest order counts the distinct words each word follows): showing n = 2.")
    NGramLM(ngram_config)  # refuses a bad setting with a sentence, before anything is fitted
    lm = state.shared(ladder.fit_ngram)(corpus, ngram_config)
    curve = pd.DataFrame(state.cached(ladder.ngram_orders)(corpus, ngram_config))
    default_context = " ".join(corpus.tokens(corpus.heldout[20:22])) if unit == "word" else corpus.decode(corpus.heldout[20:24])
    q = st.columns(2)
    context = q[0].text_input("Context", default_context, max_chars=500, key=f"lad.ctx.{corpus_id}",
                              help="The last n − 1 tokens count; an unknown token is read as <UNK>.")
    word = q[1].text_input("Next token (empty: the most likely one)", "", max_chars=100, key=f"lad.word.{corpus_id}")
    view = ladder.explore(lm, corpus, context, word)
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**q({view['word']!r} | {' '.join(repr(t) for t in view['context']) or 'no context'}) "
                    f"= {view['explain'][0]['probability']:.4g}**")
        rows = pd.DataFrame(view["explain"]).assign(context=lambda d: d.context.map(lambda c: corpus.join(c) if c else "(none)"))
        st.dataframe(rows, hide_index=True, width="stretch", column_config={
            "order": st.column_config.NumberColumn("n", width="small"),
            "context seen": st.column_config.CheckboxColumn("seen", width="small", help="Was this context counted in training?"),
            "count": st.column_config.NumberColumn(help="count(c, w) at the top order; Kneser–Ney below it: N(·, c, w)"),
            "total": st.column_config.NumberColumn(help="count(c, ·) or, below the top order, N(·, c, ·)"),
            "distinct next words": st.column_config.NumberColumn("T(c)", help="distinct words seen after the context"),
            "own estimate": st.column_config.NumberColumn("α", format="%.4f", help="this order's own estimate of q(w | c)"),
            "weight to shorter context": st.column_config.NumberColumn("γ", format="%.4f", help="the mass left for the order below"),
            "probability": st.column_config.NumberColumn("q = α + γ·q↓", format="%.5f")})
        singletons = view["unk_training_count"]
        st.caption("Held-out tokens outside the vocabulary are read as <UNK>. "
                   + (f"In training, the {singletons:,} tokens seen only once were read as <UNK> too, so <UNK> has real counts. "
                      if singletons else "This training text has no token seen only once, so <UNK> has no counts of its own here. ")
                   + "(nltk's default keeps every training word, so <UNK> is never counted: its Kneser–Ney and MLE models give "
                   "an unseen word probability 0.)")
    with right:
        nxt = pd.DataFrame(view["next"])
        draw({"title": "Most likely next tokens", "data": nxt, "height": {"step": 22}, "mark": "bar",
              "encoding": {"y": field("token:N", sort="-x", title=None, axis={"labelOverlap": False}),
                           "x": field("probability:Q", title="q(token | context)"),
                           "tooltip": [field("token:N"), field("probability:Q", format=".4f")]}})
    finite = curve[curve.zero_probability_share == 0]
    infinite = curve[curve.zero_probability_share > 0]
    if not finite.empty:
        spec = {"title": f"{SMOOTHING_NAMES[smoothing]}: held-out bits per order", "height": 220, "layer": [
            {"data": values(finite), "mark": {"type": "line", "point": True},
             "encoding": {"x": field("order:O", title="order n", axis={"labelAngle": 0}),
                          "y": field("heldout_bits:Q", title="held-out bits/token", scale={"zero": False}),
                          "tooltip": [field("order:O"), field("heldout_bits:Q", format=".4f")]}}]}
        if corpus.entropy_rate is not None:
            rate = pd.DataFrame({"rate": [corpus.entropy_rate], "label": [f"entropy rate {corpus.entropy_rate:.3f}"]})
            spec["layer"] += [{"data": values(rate), "mark": {"type": "rule", "strokeDash": [6, 4]}, "encoding": {"y": field("rate:Q")}},
                              {"data": values(rate), "mark": {"type": "text", "align": "right", "dy": -8, "x": "width"},
                               "encoding": {"y": field("rate:Q"), "text": field("label:N")}}]
        draw(spec)
    if not infinite.empty:
        worst = infinite.iloc[-1]
        st.warning(f"Infinite cross-entropy at order{'s' if len(infinite) > 1 else ''} {', '.join(map(str, infinite.order))}: raw "
                   f"counts give probability 0 to every n-gram training never showed ({worst.zero_probability_share:.1%} of held-out "
                   f"tokens at order {worst.order}), and one such token costs infinitely many bits. That is why models smooth.", icon="♾️")

# ----------------------------------------------------------------------------- the ladder
st.header("The ladder: every rung on the same held-out tokens")
st.latex(r"\text{MLP: } q(\cdot \mid x_{t-k+1..t}) = \mathrm{softmax}(W_2 \tanh(W_1 [C x_{t-k+1};\dots;C x_t] + b_1) + b_2)")
st.latex(r"\text{RNN, GRU, LSTM: } h_t = \mathrm{cell}(C x_t, h_{t-1}),\quad q(\cdot \mid x_{\le t}) = \mathrm{softmax}(W h_t + b)")
st.latex(r"\text{GPT: } q(\cdot \mid x_{\le t}) = \mathrm{softmax}\big(\mathrm{Blocks}(E x_{\le t} + P)_t\, E^{\top}\big),"
         r"\quad \mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\tfrac{QK^{\top}}{\sqrt{d}} + \text{causal mask}\right) V")
defaults = ladder.LadderConfig()
with st.form("lad.form"):
    rungs = st.multiselect("Rungs", list(ladder.RUNGS), default=list(defaults.rungs), key="lad.rungs")
    f = st.columns(3)
    steps = f[0].select_slider("Training steps (each network)", [1, 50, 100, 200, 400, 800, 1600], defaults.train.steps, key="lad.steps")
    hidden = f[1].select_slider("Hidden units (GPT: width)", [4, 16, 32, 64, 128, 256], defaults.hidden, key="lad.hidden")
    embed = f[2].select_slider("Embedding size", [2, 8, 16, 32, 64], defaults.embed, key="lad.embed")
    f = st.columns(4)
    ngram_order = f[0].slider("n-gram: highest order", 1, ladder.MAX_ORDER, 3 if unit == "word" else 6, key=f"lad.n.{unit}")
    context_k = f[1].slider("MLP: context k", 1, 16, defaults.mlp_context if unit == "word" else 8, key=f"lad.k.{unit}")
    lr = f[2].select_slider("Learning rate", [1e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05, 0.1, 1.0], defaults.train.lr, key="lad.lr")
    seed = f[3].number_input("Seed", 0, 10_000, 0, key="lad.seed")
    f = st.columns(5)
    batch = f[0].select_slider("Batch (windows)", [1, 8, 32, 64, 128], defaults.train.batch_size, key="lad.batch")
    block = f[1].select_slider("Window (tokens)", [16, 32, 64, 128], defaults.train.block_size, key="lad.block")
    clip = f[2].select_slider("Clip gradient norm at", ["off", 0.1, 1.0, 10.0], 1.0, key="lad.clip")
    gpt_layers = f[3].slider("GPT: blocks", 1, 4, defaults.gpt_layers, key="lad.gptl")
    gpt_lr = f[4].select_slider("GPT: learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02], defaults.gpt_lr, key="lad.gptlr",
                                help="Transformers want smaller steps than the small networks: at 0.02 this one stalls near the unigram.")
    submitted = st.form_submit_button("Train the ladder", type="primary")

results: dict[str, list] = {}
with friendly_errors():
    train_config = neural_lm.TrainConfig(steps=steps, batch_size=batch, block_size=block, lr=lr, clip=None if clip == "off" else clip,
                                         eval_every=max(1, steps // 8), seed=int(seed))
    config = ladder.check(ladder.LadderConfig(rungs=tuple(rungs), ngram_order=ngram_order, mlp_context=context_k, embed=embed,
                                              hidden=hidden, gpt_layers=gpt_layers, gpt_lr=gpt_lr, train=train_config, seed=int(seed)))
    if not rungs:
        st.info("Pick at least one rung.")
    for i, name in enumerate(config.rungs):
        key = f"lad.{corpus_id}.{name}"
        if name in ladder.COUNTED:  # counting takes well under a second: always fresh
            results[name] = state.cached(ladder.run_rung)(name, config, corpus)
        elif submitted:
            results[name] = live.train(key, lambda on_step, name=name: ladder.run_rung(name, config, corpus, on_step),
                                       total_steps=config.train.steps, metrics=("loss", "heldout_bits"),
                                       title=f"**Training the {name}** (rung {i + 1} of {len(config.rungs)}; the others wait)")
        else:
            done = live.last(key)
            if done is not None:
                results[name] = done
    if not submitted and len(results) <= len(ladder.COUNTED & set(config.rungs)):
        st.info("The n-gram rung counts in a moment; press **Train the ladder** to train the networks on this text "
                "(each shows its progress and can be stopped).", icon="🪜")

trained = [r for rs in results.values() for r in rs]
if trained:
    summary = pd.DataFrame(ladder.summary(trained, corpus))
    curves = pd.DataFrame([{"model": r.name, "family": r.family, **p} for r in trained for p in r.curve])
    finite = summary[summary.heldout_bits < float("inf")]
    colour = field("family:N", title="model", scale=FAMILY_COLOURS, legend={"orient": "bottom", "direction": "horizontal"})
    tip = [field("model:N"), field("heldout_bits:Q", title="held-out bits", format=".4f"), field("parameters:Q", format=","),
           field("train_seconds:Q", title="seconds", format=".2f")]
    floor = []
    if corpus.entropy_rate is not None:
        rate = values(pd.DataFrame({"rate": [corpus.entropy_rate], "label": [f"entropy rate {corpus.entropy_rate:.3f}: the floor"]}))
        floor = [{"data": rate, "mark": {"type": "rule", "strokeDash": [6, 4], "color": "black"}, "encoding": {"y": field("rate:Q")}},
                 {"data": rate, "mark": {"type": "text", "align": "right", "dy": -8, "x": "width"},
                  "encoding": {"y": field("rate:Q"), "text": field("label:N")}}]
    y = field("heldout_bits:Q", title="held-out cross-entropy (bits/token)", scale={"zero": False})
    time_panel = {"title": "…against training time", "width": 380, "height": 320, "layer": [
        {"data": values(curves), "mark": {"type": "line", "point": True},
         "encoding": {"x": field("seconds:Q", title="training seconds (log)", scale={"type": "log"}), "y": y, "color": colour,
                      "detail": field("model:N"), "tooltip": [field("model:N"), field("step:Q"), field("seconds:Q", format=".2f"),
                                                               field("heldout_bits:Q", format=".4f")]}}, *floor]}
    param_panel = {"title": "…against the numbers each model stores", "width": 380, "height": 320, "layer": [
        {"data": values(finite), "mark": {"type": "point", "filled": True, "size": 90},
         "encoding": {"x": field("parameters:Q", title="parameters, or stored counts (log)", scale={"type": "log"}), "y": y,
                      "color": colour, "tooltip": tip}},
        {"data": values(finite[finite.family == "n-gram"]), "mark": {"type": "text", "dy": -10, "fontSize": 11},
         "encoding": {"x": field("parameters:Q", scale={"type": "log"}), "y": y, "text": field("model:N")}}, *floor]}
    draw({"title": "Held-out cross-entropy…", "hconcat": [time_panel, param_panel], "resolve": {"scale": {"y": "shared"}}}, width="content")
    best = finite.loc[finite.heldout_bits.idxmin()] if not finite.empty else None
    if best is not None:
        floor_note = (f", {best.heldout_bits - corpus.entropy_rate:+.3f} bits from the floor" if corpus.entropy_rate is not None else "")
        still = [r.name for r in trained if len(r.curve) >= 3 and r.curve[-1]["heldout_bits"] < r.curve[-2]["heldout_bits"] - 0.005]
        st.caption(f"Lowest held-out cross-entropy here: **{best.model}** at {best.heldout_bits:.4f} bits/token "
                   f"(perplexity {best.perplexity:.2f}{floor_note}). "
                   + (f"Still falling at its last check: {', '.join(still)}: more steps would help. " if still else "")
                   + "An n-gram model is a point on the left chart: counting takes a fraction of a second.")
    for r in trained:
        if r.exploded:
            st.warning(f"{r.name}: {r.exploded}", icon="💥")
    st.dataframe(summary, hide_index=True, width="stretch", column_config={
        "heldout_bits": st.column_config.NumberColumn("held-out bits/token", format="%.4f"),
        "perplexity": st.column_config.NumberColumn(format="%.3f"),
        "train_seconds": st.column_config.NumberColumn("seconds", format="%.2f"),
        "above_floor_bits": st.column_config.NumberColumn("above the floor (bits)", format="%+.4f")})
    st.subheader("What each rung writes")
    st.caption(f"Each model continues the same {config.train.warmup} held-out tokens, sampling from its own q(next | context):")
    st.text(corpus.decode(corpus.heldout[: config.train.warmup]) + " …")
    shown = [r for r in trained if r.sample and (r.family != "n-gram" or r.name == f"{config.ngram_order}-gram")]
    for row in range(0, len(shown), 3):
        cols = st.columns(3)
        for col, r in zip(cols, shown[row : row + 3]):
            col.markdown(f"**{r.name}** · {r.heldout_bits:.3f} bits/token")
            col.text(r.sample)

show_code(ladder.run_rung, ladder.fit_ngrams, mlp_lm.MLPLM, rnn_lm.RNNLM, ladder.fit_gpt, neural_lm.train_lm, NGramLM.level_terms)
