import pandas as pd
import streamlit as st

from core.errors import LabError
from core.foundations.bayes import DiagnosticTest, belief_path, counted_positives, natural_frequency_grid, posterior
from ui.page import friendly_errors, header, show_code, text_box
from ui.vega import draw, field, share_bars

header(
    "🩺 Bayes' rule: what does a positive test mean?",
    "A test for a rare condition catches most ill people and clears most healthy ones. You test "
    "positive. How likely are you to be ill? Move the three numbers and watch the answer: it is usually "
    "far lower than intuition says, because **healthy people vastly outnumber ill ones**.",
)
st.latex(r"P(\text{ill}\mid +) = \frac{P(+\mid \text{ill})\,P(\text{ill})}"
         r"{P(+\mid \text{ill})\,P(\text{ill}) + P(+\mid \text{healthy})\,P(\text{healthy})}")

left, middle, right = st.columns(3)
prior = left.slider("Prior P(ill): how common the condition is", 0.0, 1.0, 0.01, step=0.001, format="%.3f")
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
    a.metric("Before testing: P(ill)", f"{prior:.1%}")
    for column, result in ((b, "positive"), (c, "negative")):
        value = after[result]
        if isinstance(value, Exception):
            column.metric(f"After a {result} test", "impossible")
            column.caption(str(value))
        else:
            column.metric(f"After a {result} test: P(ill | {'+' if result == 'positive' else '−'})", f"{value:.1%}",
                          delta=f"{(value - prior) * 100:+.1f} points", delta_color="off")

    st.subheader("The same answer, counted: 1,000 people")
    grid = natural_frequency_grid(test)
    groups = ["ill, positive", "ill, negative", "healthy, positive", "healthy, negative"]
    draw({"data": grid, "height": {"step": 16},
          "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1.5},
          "encoding": {"x": field("column:O", axis=None), "y": field("row:O", axis=None), "tooltip": [field("group:N")],
                       "color": field("group:N", scale={"domain": groups, "range": ["#d62728", "#ff9896", "#1f77b4", "#c7d7e8"]},
                                      legend={"orient": "bottom", "title": None})}})
    positives = counted_positives(test)
    st.markdown(f"Of 1,000 people tested, **{positives.total} test positive**: {positives.ill} who are ill (dark red) and "
                f"{positives.healthy} who are healthy (dark blue). So a positive result means ill in about "
                f"**{positives.ill} out of {positives.total}** cases"
                + (f" ≈ {positives.share_ill:.0%}." if positives.share_ill is not None else "."))

    shown = [prior] + [v if not isinstance(v, LabError) else None for v in after.values()]
    draw(share_bars(["prior", "after +", "after −"], shown, "Prior → posterior", "P(ill)", step=36, whole=True, coloured=True, fmt=".2%"))

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
            "layer": [{"mark": "line"},
                      {"mark": {"type": "circle", "size": 110, "opacity": 1}, "encoding": {
                          "color": field("result:N", scale={"domain": ["(prior)", "+", "−"], "range": ["gray", "#d62728", "#2ca02c"]}),
                          "tooltip": [field("test:O"), field("result:N"), field("p:Q", format=".3%")]}}]})
        if stopped:
            st.warning(stopped, icon="⚠️")
        st.markdown(f"After {len(beliefs) - 1} test{'s' * (len(beliefs) != 2)}: **P(ill) = {beliefs[-1]:.2%}**. Each positive "
                    f"multiplies the odds by the likelihood ratio sensitivity / (1 − specificity); a certain prior (0 or 1) never moves.")

show_code(DiagnosticTest, posterior, belief_path)
