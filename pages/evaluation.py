import pandas as pd
import streamlit as st

from core.foundations import bias_variance as bv
from core.foundations import evaluation
from core.foundations import evaluation_demo as demo
from core.infra import data
from ui import state
from ui.page import friendly_errors, header, show_code
from ui.vega import draw, field, table_heatmap, values

header(
    "⚖️ Evaluating a model",
    "A score on the training data says how well a model memorised; only data it never saw says how well it will do next. "
    "Three experiments: **choose** a setting by k-fold cross-validation without touching the test set; **read** a classifier's "
    "scores at any threshold (precision, recall, ROC and precision-recall curves); **see** under- and overfitting as a "
    "polynomial's degree grows, split into bias² and variance.",
)

ROLE = field("role:N", scale={"domain": ["training", "validation", "test (held out)"], "range": ["#4c78a8", "#f58518", "#bab0ac"]},
             title=None, legend={"orient": "bottom"})
SPLIT = field("split:N", scale={"domain": ["training", "validation"], "range": ["#4c78a8", "#f58518"]}, title=None,
              legend={"orient": "bottom"})  # the same two colours mean training and held-out data in every chart
CLASS = field("class:N", scale={"domain": ["negative (0)", "positive (1)"], "range": ["#54a24b", "#b279a2"]}, title="true class",
              legend={"orient": "bottom"})
tab_cv, tab_scores, tab_fit = st.tabs(["Splits and k-fold cross-validation", "Scores at a threshold", "Under- and overfitting"])

with tab_cv, friendly_errors():
    c = st.columns(4)
    model = c[0].radio("Model", list(demo.SETTINGS), key="ev.model", horizontal=True)
    dataset = c[1].selectbox("Point set", data.POINT_SETS, index=data.POINT_SETS.index("moons"), key="ev.data")
    folds = c[2].slider("Folds k", 2, 20, 5, key="ev.folds")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key="ev.seed")
    c = st.columns(4)
    n = c[0].slider("How many points", 20, 1000, 300, 10, key="ev.n")
    noise = c[1].slider("Noise", 0.0, 0.6, 0.3, 0.05, key="ev.noise")
    test = c[2].slider("Test share (held out)", 0.1, 0.5, 0.2, 0.05, key="ev.test")
    cv = state.cached(demo.cross_validate)(demo.CVConfig(model=model, dataset=dataset, n=n, noise=noise, folds=folds,
                                                         test_fraction=test, seed=int(seed)))
    name = demo.SETTING_NAME[model]
    m = st.columns(4)
    m[0].metric("Training rows, cut into folds", f"{cv.n_train:,}")
    m[1].metric("Test rows, held out", f"{cv.n_test:,}")
    m[2].metric(f"Chosen {name}", cv.best)
    m[3].metric("Its test accuracy (looked at once)", f"{cv.test_accuracy:.1%}")
    left, right = st.columns(2)
    draw({"title": f"{folds}-fold cross-validation: each fold validates on its own slice", "data": cv.layout,
          "height": {"step": 14 if folds > 10 else 22}, "mark": "bar",
          "encoding": {"y": field("fold:N", sort=None, title=None), "x": field("start:Q", title="row (in shuffled order)"),
                       "x2": field("end:Q"), "color": ROLE}}, left)
    summary = cv.summary.assign(low=cv.summary.validation - cv.summary.validation_std,
                                high=cv.summary.validation + cv.summary.validation_std)
    long = summary.melt(id_vars="setting", value_vars=["training", "validation"], var_name="split", value_name="accuracy")
    setting_axis = field("setting:Q", title=name, scale={"type": "log", "nice": False} if model == "k-nearest neighbours" else {})
    draw({"title": "Mean accuracy over the folds (band: ±1 standard deviation)", "height": 300, "layer": [
        {"data": values(summary), "mark": {"type": "area", "opacity": 0.2, "color": "#f58518"},
         "encoding": {"x": setting_axis, "y": field("low:Q", title="accuracy", axis={"format": "%"}), "y2": field("high:Q")}},
        {"data": values(long), "mark": {"type": "line", "point": True},
         "encoding": {"x": setting_axis, "y": field("accuracy:Q", scale={"zero": False}), "color": SPLIT,
                      "tooltip": [field("setting:Q"), field("split:N"), field("accuracy:Q", format=".1%")]}},
        {"data": {"values": [{"setting": cv.best}]}, "mark": {"type": "rule", "strokeDash": [4, 3]}, "encoding": {"x": field("setting:Q")}},
    ]}, right)
    best = cv.summary.set_index("setting").loc[cv.best]
    right.caption(f"Dashed: {name} = {cv.best}, the best mean validation accuracy ({best.validation:.1%} ± {best.validation_std:.1%}). "
                  f"Its training accuracy is {best.training:.1%}: the gap is how much it learnt its own rows by heart. "
                  + ("Among equally good settings the simplest is chosen (the largest k)." if model == "k-nearest neighbours" else
                     "Among equally good settings the simplest is chosen (the smallest depth)."))
    st.latex(r"\text{CV}(s) = \frac1k \sum_{f=1}^{k} \text{accuracy}\big(\text{model}_s \text{ trained without fold } f,\ "
             r"\text{fold } f\big)")
    show_code(evaluation.kfold_indices, demo.cross_validate)

with tab_scores, friendly_errors():
    c = st.columns(4)
    threshold = c[0].slider("Threshold: positive when score ≥", 0.0, 1.0, 0.5, 0.01, key="ev.threshold")
    share = c[1].slider("Share of positives", 0.0, 0.5, 0.5, 0.01, key="ev.share",
                        help="Drop positives at random to make them rare, as fraud or disease is.")
    noise = c[2].slider("Overlap of the classes (noise)", 0.0, 1.0, 0.3, 0.05, key="ev.s.noise")
    degree = c[3].slider("Feature degree of the model", 1, 4, 2, key="ev.degree")
    scored = state.cached(demo.score_test_set)(demo.ScoringConfig(noise=noise, positive_share=share, degree=degree))
    now = demo.at_threshold(scored, threshold)
    s = now.scores
    fmt = lambda v: "undefined" if v is None else f"{v:.1%}"  # noqa: E731
    m = st.columns(5)
    m[0].metric("Accuracy", fmt(s.accuracy))
    m[1].metric("Precision", fmt(s.precision))
    m[2].metric("Recall (TPR)", fmt(s.recall))
    m[3].metric("F1", fmt(s.f1))
    m[4].metric("False-positive rate", fmt(s.fpr))
    for sentence in s.undefined:
        st.info(sentence[0].upper() + sentence[1:] + ".", icon="ℹ️")
    left, mid, right = st.columns(3)
    confusion = pd.DataFrame([[s.tn, s.fp], [s.fn, s.tp]], index=["negative (0)", "positive (1)"], columns=["negative", "positive"])
    draw(table_heatmap(confusion, f"Test rows at threshold {threshold:.2f}", ".0f", "predicted", "true", scheme="greys"), left)
    left.caption(f"{len(scored.y):,} test rows, {scored.base_rate:.1%} positive: a model that says \"positive\" at random has "
                 f"precision {scored.base_rate:.1%}.")
    draw({"title": "Scores of the test rows", "height": 200, "autosize": {"type": "fit-x", "contains": "padding"}, "padding": {"right": 12},
          "layer": [
        {"data": values(now.histogram), "mark": {"type": "rect", "opacity": 0.6},
         "encoding": {"x": field("start:Q", title="the model's P(positive)", scale={"domain": [0, 1]}), "x2": field("end:Q"),
                      "y": field("count:Q", title="test rows"), "y2": {"datum": 0}, "color": CLASS,
                      "tooltip": [field("class:N"), field("start:Q", format=".2f"), field("end:Q", format=".2f"), field("count:Q")]}},
        {"data": {"values": [{"t": threshold}]}, "mark": {"type": "rule", "strokeWidth": 2, "strokeDash": [4, 3]},
         "encoding": {"x": field("t:Q")}},
    ]}, mid)
    mid.caption("Dashed: the threshold. Everything to its right (score ≥ threshold) is called positive.")
    point = {"values": [{"fpr": s.fpr, "tpr": s.recall, "recall": s.recall, "precision": s.precision}]}
    tabs = right.tabs([f"ROC (AUC {scored.roc_auc:.3f})", f"Precision-recall (AP {scored.average_precision:.3f})"])
    unit = {"domain": [0, 1]}
    draw({"height": 250, "layer": [
        {"data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}, "mark": {"type": "line", "color": "#bbbbbb", "strokeDash": [2, 2]},
         "encoding": {"x": field("x:Q"), "y": field("y:Q")}},
        {"data": values(scored.roc), "mark": {"type": "line", "interpolate": "linear"},
         "encoding": {"x": field("fpr:Q", title="false-positive rate", scale=unit),
                      "y": field("tpr:Q", title="recall (true-positive rate)", scale=unit),
                      "tooltip": [field("threshold:Q", format=".3f"), field("fpr:Q", format=".3f"), field("tpr:Q", format=".3f")]}},
        {"data": point, "mark": {"type": "point", "filled": True, "size": 120, "color": "#e45756"},
         "encoding": {"x": field("fpr:Q"), "y": field("tpr:Q")}}]}, tabs[0])
    tabs[0].caption("Red: this threshold. Grey: a coin. AUC = the chance that a random positive scores above a random negative.")
    pr_layers = [
        {"data": {"values": [{"x": 0, "y": scored.base_rate}, {"x": 1, "y": scored.base_rate}]},
         "mark": {"type": "line", "color": "#bbbbbb", "strokeDash": [2, 2]}, "encoding": {"x": field("x:Q"), "y": field("y:Q")}},
        {"data": values(scored.pr), "mark": {"type": "line", "interpolate": "step-after"},
         "encoding": {"x": field("recall:Q", scale=unit), "y": field("precision:Q", scale=unit),
                      "tooltip": [field("threshold:Q", format=".3f"), field("recall:Q", format=".3f"),
                                  field("precision:Q", format=".3f")]}}]
    if s.precision is not None:
        pr_layers.append({"data": point, "mark": {"type": "point", "filled": True, "size": 120, "color": "#e45756"},
                          "encoding": {"x": field("recall:Q"), "y": field("precision:Q")}})
    draw({"height": 250, "layer": pr_layers}, tabs[1])
    tabs[1].caption("Red: this threshold. Grey: the share of positives, what random guessing reaches. With rare positives this "
                    "curve drops long before the ROC curve does.")
    st.latex(r"\text{precision} = \frac{TP}{TP+FP},\quad \text{recall} = \frac{TP}{TP+FN},\quad F_1 = \frac{2\,TP}{2\,TP+FP+FN},\quad"
             r"\text{FPR} = \frac{FP}{FP+TN}")
    show_code(evaluation.binary_scores, evaluation.roc_curve, evaluation.precision_recall_curve)

with tab_fit, friendly_errors():
    c = st.columns(4)
    degree = c[0].slider("Polynomial degree", 0, bv.MAX_DEGREE, 3, key="ev.poly")
    n_train = c[1].slider("Training points", 5, 100, 15, key="ev.ntrain")
    noise = c[2].slider("Noise σ", 0.0, 1.0, 0.3, 0.05, key="ev.bnoise")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key="ev.bseed")
    poly = bv.PolynomialData(n_train=n_train, noise=noise, max_degree=bv.MAX_DEGREE, seed=int(seed))
    view = state.cached(bv.degree_view)(poly, degree)
    errors = state.cached(bv.error_by_degree)(poly)
    parts = state.cached(bv.bias_variance)(poly)
    row = parts.set_index("degree").loc[degree]
    m = st.columns(4)
    m[0].metric("Training error (MSE)", f"{view.train_mse:.4f}")
    m[1].metric("Validation error (MSE)", f"{view.validation_mse:.4f}")
    m[2].metric("Bias²", f"{row['bias²']:.4f}")
    m[3].metric("Variance", f"{row['variance']:.4f}")
    left, right = st.columns(2)
    curves = ["true f(x) = sin(πx)", "fit to these points", "average of all fits", "fits to other training sets"]
    curve_colour = field("curve:N", scale={"domain": curves, "range": ["#222222", "#4c78a8", "#f58518", "#c6dbef"]}, title=None,
                         legend={"orient": "bottom", "columns": 2, "labelLimit": 0})
    draw({"title": f"Degree {degree}: the fit, and {min(20, poly.resamples - 1)} fits to other noisy draws", "height": 360,
          "data": view.curves, "layer": [  # ~3,000 rows: shipped as Arrow, not inline JSON
        {"mark": {"type": "line", "clip": True},
         "encoding": {"x": field("x:Q"), "y": field("y:Q", scale={"domain": [-2.2, 2.2]}), "detail": field("fit:N"), "color": curve_colour,
                      "strokeWidth": {"condition": {"test": "datum.fit < 0", "value": 2.5}, "value": 1}}},
        {"data": values(view.points), "mark": {"type": "point", "filled": True, "color": "#4c78a8", "size": 50},
         "encoding": {"x": field("x:Q"), "y": field("y:Q")}}]}, left)
    log_y = {"type": "log", "domainMin": 1e-4, "clamp": True}  # a polynomial through every point has training error ~1e-25
    errs = errors.rename(columns={"set": "split"})
    PARTS = ["bias²", "variance", "noise σ²", "bias² + variance + σ²", "measured test error"]
    long = parts.melt(id_vars="degree", value_vars=PARTS, var_name="part", value_name="value")
    right_tabs = right.tabs(["Training vs validation error", "Bias² + variance"])
    draw({"height": 330, "layer": [
        {"data": values(errs), "mark": {"type": "line", "point": True},
         "encoding": {"x": field("degree:Q", axis={"tickMinStep": 1}), "y": field("mse:Q", scale=log_y, title="mean squared error (log)"),
                      "color": SPLIT, "tooltip": [field("degree:Q"), field("split:N"), field("mse:Q", format=".4f")]}},
        {"data": {"values": [{"degree": degree}]}, "mark": {"type": "rule", "strokeDash": [4, 3]}, "encoding": {"x": field("degree:Q")}}]},
        right_tabs[0])
    best = int(errors[errors.set == "validation"].set_index("degree").mse.idxmin())
    right_tabs[0].caption(f"On this draw the validation error is lowest at degree {best}. Training error only falls: each degree can "
                          "do everything the lower ones can. Errors below 10⁻⁴ are drawn at 10⁻⁴.")
    draw({"height": 330, "layer": [
        {"data": values(long), "mark": {"type": "line", "point": {"size": 20}},
         "encoding": {"x": field("degree:Q", axis={"tickMinStep": 1}), "y": field("value:Q", scale=log_y, title="averaged over x (log)"),
                      "color": field("part:N", scale={"domain": PARTS, "range": ["#e45756", "#b279a2", "#bab0ac", "#222222", "#f58518"]},
                                     title=None, legend={"orient": "bottom", "columns": 3, "labelLimit": 0}),
                      "strokeDash": {"condition": {"test": "datum.part === 'measured test error'", "value": [5, 3]}, "value": [1, 0]},
                      "tooltip": [field("degree:Q"), field("part:N"), field("value:Q", format=".4f")]}},
        {"data": {"values": [{"degree": degree}]}, "mark": {"type": "rule", "strokeDash": [4, 3]}, "encoding": {"x": field("degree:Q")}}]},
        right_tabs[1])
    right_tabs[1].caption(f"Over {poly.resamples} training sets with the same x and fresh noise. The black line (bias² + variance + σ²) "
                          "and the dashed orange one (the test error measured directly) should lie on top of each other.")
    st.latex(r"\mathbb{E}\big[(y - \hat f(x))^2\big] = \underbrace{\big(\mathbb{E}\hat f(x) - f(x)\big)^2}_{\text{bias}^2} + "
             r"\underbrace{\mathbb{E}\big(\hat f(x) - \mathbb{E}\hat f(x)\big)^2}_{\text{variance}} + \underbrace{\sigma^2}_{\text{noise}}")
    show_code(bv.fit_polynomial, bv.bias_variance)
