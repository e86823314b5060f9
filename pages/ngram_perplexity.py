import streamlit as st

from core.lm import ngram
from core.lm.markov_source import SourceConfig
from ui import state
from ui.page import friendly_errors, header, literal, show_code
from ui.vega import chart, draw, field, layers, lines, rule

MODELS = list(ngram.NAMES.values())  # legend order: unigram, bigram, trigram

header(
    "🔢 n-gram language models and perplexity",
    "A language model's loss is its **cross-entropy** on text it has not seen: the average of −log₂ q(next token | "
    "context), in bits per token. **Perplexity** is 2 to that power: the model is as unsure as if it chose among "
    "that many equally likely tokens. Real text has an unknown best possible loss; the lab's synthetic source has "
    "an **exact entropy rate**, so here you can watch unigram, bigram and trigram models approach that floor as "
    "they read more text, and see that none of them ever goes below it on average (one finite sample of held-out "
    "text can, by luck).",
)
st.latex(r"H(p, q) = -\mathbb{E}_p\!\left[\log_2 q(w_t \mid w_{t-n+1}\ldots w_{t-1})\right] \;\ge\; H_{\text{rate}}(p)"
         r"\qquad \text{measured: } \hat H = -\frac{1}{N}\sum_{t=1}^{N} \log_2 q(w_t \mid w_{t-n+1}\ldots w_{t-1})")
st.latex(r"\text{perplexity} = 2^{H(p,q)}")
st.latex(r"q(w \mid c) = \frac{\operatorname{count}(c, w) + k}{\operatorname{count}(c) + k\,V} \quad\text{(add-}k\text{ smoothing)}")


corpus = st.radio("Text", ["Synthetic Markov source (known entropy rate)", "Python's reference manual (real English)"], horizontal=True)
synthetic = corpus.startswith("Synthetic")
with st.form("ngram"):
    c1, c2, c3 = st.columns(3)
    k = c1.select_slider("Smoothing k (add-k)", [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0], value=0.1,
                         help="Pretend every possible n-gram was seen k extra times. Large k flattens the model toward uniform.")
    if synthetic:
        vocab = c2.slider("Source vocabulary (words)", 4, 26, 16,
                          help="At order 3, up to 16 words: 16³ = 4,096 contexts, the most the exact solve takes")
        order = c2.slider("Source order (words of memory)", 1, 3, 2)
        branching = c3.slider("Next words allowed per context", 1, 10, 3)
        concentration = c3.select_slider("Concentration (low = peaked next-word odds)", [0.1, 0.3, 1.0, 3.0, 10.0], value=1.0)
    st.form_submit_button("Train the models")

with friendly_errors():
    if synthetic:
        config = SourceConfig(vocab_size=vocab, order=order, branching=min(branching, vocab), concentration=concentration)
        with st.spinner("Counting n-grams in up to 100,000 tokens, three models, seven sizes…"):
            run = state.cached(ngram.source_experiment)(config, ngram.ExperimentConfig(k=k))
        curve, rate = run.curve, run.entropy_rate
        heldout_tokens = ngram.ExperimentConfig.heldout_tokens
        best = curve[curve.train_tokens == curve.train_tokens.max()].set_index("order")
        facts = ngram.curve_facts(curve)
        need = max(order + 1, 2)  # the n-gram whose context is exactly the source's memory
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Entropy rate", f"{rate:.3f}", help="Bits per token, exact: computed from the chain's stationary distribution")
        m2.metric("As perplexity", f"{2 ** rate:.2f}", help="The best perplexity any model can reach on this source")
        m3.metric(f"{ngram.NAMES[need].capitalize()}, {facts.last_size // 1000}k: expected", f"{best.exact_bits[need]:.3f}",
                  delta=f"{best.excess_bits[need]:+.3f} above floor", delta_color="off",
                  help=f"The model with the source's own memory ({order} word{'s' * (order > 1)} of context): its exact expected "
                       "bits/token on endless held-out text from the source, never below the entropy rate")
        m4.metric(f"Unigram, {facts.last_size // 1000}k: expected", f"{best.exact_bits[1]:.3f}",
                  delta=f"{best.excess_bits[1]:+.3f} above floor", delta_color="off",
                  help="No context at all: it can only learn word frequencies")
        st.caption(f"Measured on one sample of {heldout_tokens:,} held-out tokens: "
                   + ", ".join(f"{ngram.NAMES[n]} {best.measured_bits[n]:.3f}" for n in best.index)
                   + " bits/token. One finite sample can land a little below the floor by chance (its text happens to be "
                   "easy); the expectation cannot.")

        long = curve.melt(["model", "train_tokens", "perplexity"], ["measured_bits", "exact_bits"], var_name="how", value_name="bits")
        long["how"] = long.how.map({"measured_bits": f"measured on {heldout_tokens:,} held-out tokens", "exact_bits": "exact expectation"})
        x = field("train_tokens:Q", scale={"type": "log"}, title="training tokens (log scale)")
        y = field("bits:Q", title="held-out cross-entropy (bits/token)", scale={"zero": False})
        tip = ["model:N", "how:N", "train_tokens:Q", field("bits:Q", format=".4f"), field("perplexity:Q", format=".2f")]
        color = field("model:N", sort=MODELS, title=None)
        floor = f"entropy rate {rate:.3f}: no model's expectation goes below"
        draw(layers(lines(long[long.how == "exact expectation"], x, y, color, tooltip=tip),
                    chart(long[long.how != "exact expectation"], {"type": "point", "filled": True, "size": 50},
                          x=x, y=y, color=color, tooltip=tip),
                    rule(y=rate, strokeDash=[6, 4], color="black"),
                    {"data": {"values": [{}]}, "mark": {"type": "text", "align": "left", "dx": 4, "dy": -8, "text": floor},
                     "encoding": {"y": {"datum": rate}, "x": {"value": 4}}},
                    title="Learning curves: more text, lower loss" + (
                        ", down to the floor" if facts.at_floor else f", toward the floor ({facts.closest} {facts.closest_excess:.2f} "
                                                                     f"bits above it at {facts.last_size:,} tokens)"), height=380))
        reached = (f"At {facts.last_size:,} tokens the {' and the '.join(facts.at_floor)} "
                   f"{'are' if len(facts.at_floor) > 1 else 'is'} within {ngram.FLOOR_TOLERANCE} bits of the floor."
                   if facts.at_floor else f"At {facts.last_size:,} tokens no model is within {ngram.FLOOR_TOLERANCE} bits of the "
                                          f"floor yet: the {facts.closest} is closest, {facts.closest_excess:.2f} bits above it.")
        st.caption("Lines: each model's exact expected cross-entropy on endless held-out text from the source "
                   "(by Gibbs' inequality it can never fall below the entropy rate). Dots: measured on one held-out "
                   "sample, which wobbles around the line, so a dot may sit a little below the floor. A model needs "
                   f"context as long as the source's memory ({order} word{'s' * (order > 1)}: the {ngram.NAMES[need]}) to "
                   f"reach the floor; shorter-context models level off above it. With {facts.first_size:,} tokens of text the "
                   f"{facts.best_first} starts best and the {facts.worst_first} worst. " + reached)
        if order == 1:
            exact = curve.pivot(index="train_tokens", columns="model", values="exact_bits")
            gap = exact.trigram - exact.bigram
            st.info(f"With a source of order 1 the bigram already sees all the context there is; the trigram's extra word "
                    f"only splits the counts it has to estimate: it is {gap.iloc[0]:+.3f} bits from the bigram at "
                    f"{gap.index[0]:,} tokens and {gap.iloc[-1]:+.4f} at {gap.index[-1]:,}.", icon="ℹ️")
        with st.expander("The numbers"):
            st.dataframe(curve, hide_index=True, width="stretch")
        st.subheader("The loss, token by token")
        st.markdown("Each cell is one held-out token's surprisal −log₂ q(token | context) under a model trained on 100k "
                    "tokens. The cross-entropy above is the average of such cells over 20,000 tokens.")
        bits = run.surprisals
        draw({"data": bits, "height": 150, "encoding": {
            "x": field("position:O", title=None, axis={"labelExpr": "''"}), "y": field("model:N", sort=MODELS, title=None),
            "tooltip": ["model:N", "token:N", field("bits:Q", format=".2f")]}, "layer": [
            chart(None, "rect", color=field("bits:Q", scale={"scheme": "orangered"}, title="bits")),
            chart(None, {"type": "text", "fontSize": 10}, text=field("bits:Q", format=".1f")),
            chart(bits[bits.model == "unigram"], {"type": "text", "dy": -12, "fontSize": 11},  # the words, above the cells
                  x="position:O", text="token:N", y={"value": -4})]})
        st.subheader("Text written by each model")
        for name, text in run.samples.items():
            st.markdown(f"**{name}:** {literal(text)}")
    else:
        with st.spinner("Counting n-grams in Python's manual…"):
            curve = state.cached(ngram.text_experiment)(state.text("python-docs"), ngram.ExperimentConfig(k=k))
        draw(lines(curve, field("train_tokens:Q", scale={"type": "log"}, title="training tokens (log scale)"),
                   field("measured_bits:Q", title="held-out cross-entropy (bits/token)", scale={"zero": False}),
                   field("model:N", sort=MODELS, title=None), point=True, height=360,
                   title="Real English: no known floor, and sparse counts",
                   tooltip=["model:N", "train_tokens:Q", field("measured_bits:Q", format=".3f"), field("perplexity:Q", format=".1f")]))
        st.caption("English has a vocabulary of thousands of words, so most bigrams and almost all trigrams in new text were "
                   "never counted: add-k smoothing spreads mass over all V words after every context, and the higher-order "
                   "models pay for it. Try a smaller k. This is why real n-gram models use backoff and interpolation, and "
                   "why neural language models, which share strength between similar contexts, won. Every model here uses "
                   "the same vocabulary (all words of the training part, plus <UNK>): perplexities with different "
                   "vocabularies can't be compared, since a model that knows 50 words files everything else under <UNK>, "
                   "and predicting <UNK> is easy.")
        st.dataframe(curve, hide_index=True, width="stretch")

show_code(ngram.NGramLM, ngram.expected_cross_entropy, ngram.source_experiment)
