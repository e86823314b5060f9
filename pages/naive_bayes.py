from dataclasses import replace

import pandas as pd
import streamlit as st

from core.foundations.naive_bayes import GaussianNaiveBayes, MultinomialNaiveBayes
from core.foundations.nb_experiments import (
    GaussianNBConfig,
    TextNBConfig,
    alpha_sweep,
    explain,
    fit_gaussian,
    fit_text,
    top_words,
    word_pair_hint,
)
from core.infra import data
from ui import state
from ui.page import friendly_errors, header, literal, show_code, text_box
from ui.vega import bars, chart, class_colours, confusion, draw, field, layers, lines, rule

header(
    "🧮 Naive Bayes",
    "Bayes' rule as a classifier: score each class by its prior times the likelihood of the example, "
    "pretending the features are independent given the class. Wrong, but fast, data-frugal and often "
    "good enough. **Words**: each class is a bag of word counts (multinomial). **Numbers**: each "
    "feature is a bell curve per class (Gaussian).",
)
st.latex(r"\hat c = \arg\max_c \; \log P(c) + \sum_j \log P(x_j \mid c)")

ALPHAS = [1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
SMOOTHINGS = [0.0, 1e-12, 1e-9, 1e-6, 1e-3, 0.01, 0.1, 0.3, 1.0]


mode = st.radio("Model", ["Words: multinomial naive Bayes", "Numbers: Gaussian naive Bayes"], horizontal=True)
with friendly_errors(literal_text=True):  # refusals quote the file name and labels
    if mode.startswith("Words"):
        source = st.radio("Labelled text", ["The lab's sentiment set", "Upload a CSV (columns text, label)"], horizontal=True,
                          key="nb.source")
        if source.startswith("Upload"):
            upload = st.file_uploader("CSV with a text and a label column", type=["csv", "txt"], key="nb.upload",
                                      help=f"{data.LABELLED_LIMITS}; the {data.MAX_VOCABULARY:,} most frequent words are counted.")
            if upload is None:
                st.info(f"Upload a CSV to train on it: {data.LABELLED_LIMITS}.")
                st.stop()
            df = data.labelled_from_upload(upload.getvalue(), upload.name)
        else:
            df = data.sentiment()

        c1, c2, c3 = st.columns(3)
        alpha = c1.select_slider("Smoothing alpha", ALPHAS, value=1.0, help="Added to every word count. 1 = Laplace.")
        own_split = "split" in df.columns and c2.checkbox("Use the set's own train/test split", value=True)
        test_size = None if own_split else c2.slider("Held-out share", 0.1, 0.9, 0.25, step=0.05)
        seed = 0 if own_split else c2.number_input("Split seed", 0, 1000, 0)
        ngrams = c3.radio("Features", [1, 2], format_func=lambda n: "single words" if n == 1 else "words + word pairs", horizontal=True)
        config = TextNBConfig(alpha=alpha, test_size=test_size, ngrams=ngrams, seed=int(seed))
        result = state.cached(fit_text)(config, df)

        a, b, c, d = st.columns(4)
        a.metric("Held-out accuracy", f"{result.accuracy:.1%}")
        b.metric("Training accuracy", f"{result.train_accuracy:.1%}")
        c.metric("Training rows", result.n_train)
        d.metric("Held-out rows", result.n_test)

        classes = class_colours(result.classes, {"(none)": "#bbbbbb"})  # one colour per class on every chart below
        left, right = st.columns([1, 2])
        priors = pd.DataFrame({"class": result.classes, "P(c)": result.model.class_prior_})
        draw(bars(priors, field("P(c):Q", axis={"format": "%"}), field("class:N", sort=None, title=None),
                  field("class:N", scale=classes, legend=None), "Class priors P(c)", {"step": 30}), left)
        draw(confusion(result.confusion, result.classes, "Confusion (held-out rows)"), left)
        words = top_words(result, 10)
        right.markdown("**Most telling words** per class: log P(w | c) − log P(w | the other classes)")
        per_row = 2 if len(result.classes) <= 2 else 3
        for start in range(0, len(result.classes), per_row):  # a row of panels at a time: none is squeezed off the page
            for column, c in zip(right.columns(per_row), result.classes[start:start + per_row]):
                draw(bars(words[words["class"] == c], field("log-likelihood ratio:Q", title="log-likelihood ratio"),
                          field("word:N", sort="-x", title=None), field("class:N", scale=classes, legend=None), c, {"step": 20},
                          tooltip=[field("word:N"), field("count in class:Q"), field("log-likelihood ratio:Q", format=".2f")]), column)

        sweep = state.cached(alpha_sweep)(replace(config, alpha=1.0), df)
        draw(layers(lines(sweep, field("alpha:Q", scale={"type": "log"}), field("accuracy:Q", axis={"format": "%"}, scale={"zero": False}),
                          "split:N", point=True, tooltip=["alpha:Q", "split:N", field("accuracy:Q", format=".1%")]),
                    rule(x=alpha, strokeDash=[4, 3]), title="Smoothing against accuracy", height=220))
        st.caption("Tiny alpha: a word never seen with a class all but rules that class out, so the model memorises "
                   "its training rows. Huge alpha: every word looks equally likely in every class and the priors take over.")

        st.subheader("Why this prediction?")
        sentence = text_box("A sentence to classify", "Not bad at all, the staff were friendly but the food was cold.", limit=500)
        with friendly_errors():
            why = explain(result, sentence)
            probs = ", ".join(f"{literal(c)}: {p:.1%}" for c, p in why.probabilities.items())
            verdict = (f"**{literal(why.predicted)}**" if why.predicted
                       else f"**a tie** between {literal(why.leader)} and {literal(why.runner_up)}")
            st.markdown(f"Prediction: {verdict} ({probs})")
            if why.all_unknown:
                st.info("None of these words occurred in training, so they carry no evidence: the prediction is the class prior alone"
                        + (", and the priors are equal, so neither class wins." if why.predicted is None else "."))
            tokens = why.tokens.reset_index(names="position")
            tokens["word"] = tokens.position.astype(str) + " " + tokens.word + tokens.known.map({True: "", False: " (unknown)"})
            draw(bars(tokens[["word", "push", "towards"]],
                      field("push:Q", title=f"push in log-odds: towards {why.leader} (+), towards {why.runner_up} (−)"),
                      field("word:N", sort=None, title=None), field("towards:N", scale=classes, title="pushes towards"),
                      height={"step": 22}, tooltip=[field("word:N"), field("push:Q", format=".3f"), field("towards:N")]))
            st.caption(f"Log-odds of {literal(why.leader)} against {literal(why.runner_up)} = prior log-odds {why.prior_log_ratio:+.2f} "
                       f"+ the pushes {why.tokens.push.sum():+.2f} = {why.prior_log_ratio + why.tokens.push.sum():+.2f}. "
                       "Words the model never saw push nowhere. Each bar has the colour of the class it pushes towards.")
            single, pairs = (state.cached(fit_text)(replace(config, ngrams=n), df) for n in (1, 2))
            st.markdown(literal(word_pair_hint(single, pairs, sentence)))  # it quotes the learner's words and labels
        with st.expander("Held-out rows and their predictions"):
            st.dataframe(data.csv_safe(result.test_rows), hide_index=True, width="stretch")
        st.latex(r"P(w \mid c) = \frac{\text{count}(w, c) + \alpha}{\sum_{w'} \text{count}(w', c) + \alpha V} \qquad "
                 r"P(c) = \frac{\text{rows of } c}{\text{rows}}")
        show_code(MultinomialNaiveBayes, fit_text)
    else:
        c1, c2, c3 = st.columns(3)
        dataset = c1.radio("Dataset", ["iris", "wine"], horizontal=True)
        features = state.cached(data.sklearn_table)(dataset)[2]
        fx = c2.selectbox("Feature on x", range(len(features)), index=0, format_func=lambda i: features[i])
        fy = c3.selectbox("Feature on y", range(len(features)), index=1, format_func=lambda i: features[i])
        c1, c2, c3 = st.columns(3)
        smoothing = c1.select_slider("var_smoothing", SMOOTHINGS, value=1e-9, help="Share of the largest variance added to every variance.")
        test_size = c2.slider("Held-out share", 0.1, 0.9, 0.3, step=0.05)
        seed = c3.number_input("Split seed", 0, 1000, 0)
        if fx == fy:
            st.info("Choose two different features.")
            st.stop()
        result = state.cached(fit_gaussian)(GaussianNBConfig(dataset, (fx, fy), smoothing, test_size, int(seed)))

        a, b = st.columns(2)
        a.metric("Held-out accuracy", f"{result.accuracy:.1%}")
        b.metric("Training accuracy", f"{result.train_accuracy:.1%}")
        left, right = st.columns([2, 1])
        x = field("x:Q", title=result.feature_names[0], scale={"zero": False})
        y = field("y:Q", title=result.feature_names[1], scale={"zero": False})
        classes = {"scheme": "category10"}  # one colour per class in both layers
        draw(layers(
            chart(result.surface, "rect", x=x, x2="x2:Q", y=y, y2="y2:Q", color=field("class:N", scale=classes),
                  opacity=field("probability:Q", scale={"domain": [0.3, 1], "range": [0.05, 0.45]}, legend=None)),
            chart(result.points, {"type": "point", "filled": True, "size": 55, "stroke": "black", "strokeWidth": 0.6}, x=x, y=y,
                  color=field("class:N", scale=classes),
                  shape=field("split:N", scale={"domain": ["train", "test"], "range": ["circle", "triangle"]}),
                  tooltip=["class:N", "predicted:N", "split:N"]),
            title="Decision regions", height=420), left)
        draw(confusion(result.confusion, result.classes, "Confusion (held-out rows)"), right)
        right.caption(f"Shade: P(class | x, y) on a {result.config.grid}×{result.config.grid} grid; circles train, triangles "
                      "held out. Curved borders: each class has its own variances, so the log-posterior is quadratic in the features.")
        st.dataframe(result.parameters, hide_index=True, width="stretch")
        st.latex(r"\log P(x_j \mid c) = -\tfrac12 \log(2\pi\sigma_{cj}^2) - \frac{(x_j - \mu_{cj})^2}{2\sigma_{cj}^2}, \qquad "
                 r"\sigma_{cj}^2 \mathrel{+}= \epsilon \cdot \max_j \operatorname{Var}(x_j)")
        show_code(GaussianNaiveBayes, fit_gaussian)
