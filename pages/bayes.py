import pandas as pd
import streamlit as st

from core.errors import LabError
from core.foundations.bayes import DiagnosticTest, belief_path, counted_positives, natural_frequency_grid, percent, posterior
from ui.page import friendly_errors, header, show_code, text_box
from ui.vega import chart, draw, field, layers

header(
    "🩺 Bayes' rule: what does a positive test mean?",
    "A test for a rare condition catches most ill people and clears most healthy ones. You test "
    "positive. How likely are you to be ill? Move the three numbers and watch the answer: it is usually "
    "far lower than intuition says, because **healthy people vastly outnumber ill ones**.",
)
st.latex(r"P(\text{ill}\mid +) = \frac{P(+\mid \text{ill})\,P(\text{ill})}"
         r"{P(+\mid \text{ill})\,P(\text{ill}) + P(+\mid \text{healthy})\,P(\text{healthy})}")

# priors on a log-like scale: a rare condition (0.1%, 0.01%) is one step away, not a pixel of a linear slider
PRIORS = [0.0, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0]
POSTERIOR_BAR = "#6b6b6b"  # one neutral colour: on this page red means ill and blue healthy

left, middle, right = st.columns(3)
prior = left.select_slider("Prior P(ill): how common the condition is", PRIORS, value=0.01, format_func=percent,
                           help="Steps on a log-like scale, from 1 in 10,000 (0.01%) up to certain.")
sensitivity = middle.slider("Sensitivity P(+ | ill)", 0.0, 1.0, 0.90, step=0.01)
specificity = right.slider("Specificity P(− | healthy)", 0.0, 1.0, 0.95, step=0.01)
test = DiagnosticTest(prior, sensitivity, specificity)

with friendly_errors():
    after = {}
    for result, positive in (("positive", True), ("negative", False)):
        try:
            after[result] = posterior(test, positive)
        except LabError as e:  # an impossible result (P(result) = 0): say why beside the other one
            after[result] = e
    a, b, c = st.columns(3)
    a.metric("Before testing: P(ill)", percent(prior))
    for column, result in ((b, "positive"), (c, "negative")):
        value = after[result]
        if isinstance(value, Exception):
            column.metric(f"After a {result} test", "impossible")
            column.caption(str(value))
        else:
            column.metric(f"After a {result} test: P(ill | {'+' if result == 'positive' else '−'})", percent(value),
                          delta=f"{(value - prior) * 100:+.1f} points", delta_color="off")

    st.subheader("The same answer, counted: 1,000 people")
    only_positive = st.toggle("Keep only the people who test positive", key="bayes.only_positive",
                              help="A positive result tells you that you are one of these squares: which share of them is ill?")
    grid = natural_frequency_grid(test, columns=20 if only_positive else 50, only_positive=only_positive)
    groups = ["ill, positive", "ill, negative", "healthy, positive", "healthy, negative"]
    draw({"data": grid, "height": {"step": 16}, "width": {"step": 16},
          "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1.5},
          "encoding": {"x": field("column:O", axis=None), "y": field("row:O", axis=None), "tooltip": [field("group:N")],
                       "color": field("group:N", scale={"domain": groups, "range": ["#d62728", "#ff9896", "#1f77b4", "#c7d7e8"]},
                                      legend={"orient": "bottom", "title": None})}}, width="content")
    positives = counted_positives(test)
    if only_positive and positives.total == 0:
        st.info("None of these 1,000 people tests positive with these settings: there is nobody to keep.")
    st.markdown(f"Of 1,000 people tested, **{positives.total} test positive**: {positives.ill} who are ill (dark red) and "
                f"{positives.healthy} who are healthy (dark blue). So a positive result means ill in about "
                f"**{positives.ill} out of {positives.total}** cases"
                + (f" ≈ {percent(positives.share_ill)}." if positives.share_ill is not None else "."))

    shown = pd.DataFrame({"when": ["before the test", "after a positive", "after a negative"],
                          "p": [prior] + [None if isinstance(v, LabError) else v for v in after.values()]})
    shown["label"] = [percent(v) if v is not None and v == v else "impossible" for v in shown.p]
    shown["at"] = shown.p.fillna(0.0)  # where the label sits: an impossible result has no bar
    x, y = field("p:Q", title="P(ill)", scale={"domain": [0, 1]}, axis={"format": "%"}), field("when:N", sort=None, title=None)
    draw(layers(chart(shown, {"type": "bar", "color": POSTERIOR_BAR}, x=x, y=y),
                chart(shown, {"type": "text", "align": "left", "dx": 4}, x=field("at:Q", title="P(ill)"), y=y, text="label:N"),
                title="Prior → posterior: P(ill)", height={"step": 36}))

st.subheader("Test again: today's posterior is tomorrow's prior")
st.markdown("Type the results of repeated, independent tests in order (`+` positive, `-` negative).")
typed = text_box("Results", "+ + - +", limit=60)
results = [ch == "+" for ch in typed if ch in "+-−"]
with friendly_errors():
    if not results:
        st.info("Type some results, e.g. `+ + -`.")
    else:
        beliefs, stopped = belief_path(test, results)
        steps = pd.DataFrame({"test": range(len(beliefs)), "p": beliefs,
                              "result": ["(prior)"] + ["+" if r else "−" for r in results[: len(beliefs) - 1]]})
        draw({"data": steps, "height": 240, "encoding": {
            "x": field("test:O", title="after test number", axis={"labelAngle": 0}),
            "y": field("p:Q", title="P(ill)", scale={"domain": [0, 1]}, axis={"format": "%"})},
            "layer": [{"mark": {"type": "line", "color": POSTERIOR_BAR}},
                      {"mark": {"type": "circle", "size": 110, "opacity": 1, "color": POSTERIOR_BAR},
                       "encoding": {"tooltip": [field("test:O"), field("result:N"), field("p:Q", format=".3%")]}},
                      {"mark": {"type": "text", "dy": -14, "fontSize": 15, "fontWeight": "bold"},
                       "encoding": {"text": field("result:N")}}]})
        if stopped:
            st.warning(stopped, icon="⚠️")
        st.markdown(f"After {len(beliefs) - 1} test{'s' * (len(beliefs) != 2)}: **P(ill) = {beliefs[-1]:.2%}**. Each positive "
                    f"multiplies the odds by the likelihood ratio sensitivity / (1 − specificity); a certain prior (0 or 1) never moves.")

show_code(DiagnosticTest, posterior, belief_path)
