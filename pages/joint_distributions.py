import pandas as pd
import streamlit as st

from core.errors import LabError
from core.foundations.joint import CUTOFFS, distinct_labels, joint_table, labels_from_text, table_from_dataset, verdict
from core.infra import data
from ui import state
from ui.page import friendly_errors, header, show_code, text_box
from ui.vega import draw, share_bars, table_heatmap

header(
    "🔲 Joint, marginal and conditional distributions",
    "Two variables observed together make a **joint** table P(x, y). Summing out one gives the other's "
    "**marginal**; dividing a row by its total gives a **conditional** P(y | x). If every cell equals the "
    "product of its marginals, knowing X tells you nothing about Y: they are **independent**. Edit the "
    "counts below, or count them from a dataset.",
)
st.latex(r"P(x) = \sum_y P(x, y) \qquad P(y \mid x) = \frac{P(x, y)}{P(x)}")
st.latex(r"X \perp Y \iff P(x, y) = P(x)\,P(y) \text{ for every } x, y")

EXAMPLE = pd.DataFrame({"weather": ["rain", "cloud", "sun"], "bus": [30, 20, 10], "bike": [5, 15, 30], "walk": [5, 15, 20]})
COLUMNS_NAME = "commute"  # what the example's columns measure
# The editor restarts whenever its table changes, so the table changes only with the columns, and then
# starts from the counts as edited so far (TABLE), kept from the last run (EDITED).
TABLE, EDITED = "joint.table", "joint.edited"
COLUMNS = "joint.valid_columns"  # the last columns typed that make a table: kept while the box holds a bad list

source = st.radio("Table", ["Edit your own counts", "Iris: species × a measurement", "Wine: cultivar × a measurement",
                            "Sentiment set: label × negation"], horizontal=True)

with friendly_errors():
    if source == "Edit your own counts":
        st.caption("Rows are values of X, columns values of Y. Edit any cell, add rows; empty cells count as 0.")
        typed = text_box(f"Values of Y ({COLUMNS_NAME}), comma-separated: name a new one to add a column",
                         ", ".join(EXAMPLE.columns[1:]), on_change=state.carry, args=(EDITED, TABLE, EXAMPLE), key="joint.columns")
        try:
            columns = distinct_labels([EXAMPLE.columns[0], *labels_from_text(typed, "column")], "column")
            state.remember(COLUMNS, columns)
        except LabError as e:  # refuse the list, but keep the table and its editor as they were
            columns = state.recall(COLUMNS, list(EXAMPLE.columns))
            st.warning(f"Those columns can't make a table: {e}. The table keeps its columns ({', '.join(columns[1:])}) "
                       "until the list is fixed.", icon="⚠️")
        table = state.recall(TABLE, EXAMPLE).reindex(columns=columns, fill_value=0)
        edited = st.data_editor(table, num_rows="dynamic", hide_index=True, key="joint.editor")
        state.remember(EDITED, edited)
        edited = edited.dropna(subset=[edited.columns[0]])
        cells = edited.drop(columns=edited.columns[0]).apply(pd.to_numeric, errors="coerce").fillna(0)
        counts, xs, ys = cells.to_numpy(), edited.iloc[:, 0].astype(str).tolist(), [str(c) for c in cells.columns]
        x_name, y_name = str(edited.columns[0]), COLUMNS_NAME
    else:
        name = {"I": "iris", "W": "wine", "S": "sentiment"}[source[0]]
        feature, bins = 2, 3
        if name != "sentiment":
            features = state.cached(data.sklearn_table)(name)[2]
            c1, c2 = st.columns(2)
            feature = c1.selectbox("Measurement (Y, cut into bins)", range(len(features)), index=2, format_func=lambda i: features[i])
            bins = c2.slider("Bins", 2, 10, 3)
        counts, xs, ys, x_name, y_name = state.cached(table_from_dataset)(name, feature, bins)

    t = joint_table(counts, xs, ys)
    editable = source == "Edit your own counts"

    left, right = st.columns(2)
    draw(table_heatmap(t.frame("counts"), "Counts", ".0f", y_name, x_name), left)
    with right:
        direction = st.radio("Conditional", [f"P({y_name} | {x_name}): rows sum to 1", f"P({x_name} | {y_name}): columns sum to 1"],
                             horizontal=True)
        which = "p_y_given_x" if direction.endswith("rows sum to 1") else "p_x_given_y"
        draw(table_heatmap(t.frame(which), direction.split(":")[0], ".2f", y_name, x_name))

    st.subheader("The joint table against independence")
    st.markdown("Left: what was counted. Middle: what independence predicts from the marginals alone. Both on **one** colour "
                "scale, so equal colours mean equal probabilities. Right: their difference.")
    shared = (0.0, float(max(t.joint.max(), t.independent.max())))  # one scale for the two tables compared
    left, middle, right = st.columns(3)
    draw(table_heatmap(t.frame("joint"), "Joint P(x, y)", ".2f", y_name, x_name, domain=shared, legend_title="probability"), left)
    draw(table_heatmap(t.frame("independent"), "If independent: P(x) P(y)", ".2f", y_name, x_name, domain=shared,
                       legend_title="probability"), middle)
    difference = t.frame("joint") - t.frame("independent")
    draw(table_heatmap(difference, "Difference P(x, y) − P(x) P(y)", "+.2f", y_name, x_name, scheme="redblue",
                       legend_title="difference"), right)
    right.caption("Blue: seen together more often than independence predicts; red: less often; white: as predicted.")

    for column, labels, p, name in zip(st.columns(2), (t.x_labels, t.y_labels), (t.p_x, t.p_y), (x_name, y_name)):
        draw(share_bars(labels, p, f"Marginal P({name})"), column)

    st.subheader("Are they independent?")
    a, b, c, d = st.columns(4)
    a.metric("Mutual information", f"{t.mutual_information:.4f} bits")
    b.metric("Chi-square", f"{t.chi2:.2f} (dof {t.dof})")
    c.metric("p-value", f"{t.p_value:.3g}")
    cutoff = d.select_slider("Cut-off (significance level)", CUTOFFS, value=0.01, key="joint.cutoff",
                             help="Call the variables related when counts this far from P(x)P(y) would be rarer than this "
                                  "under independence.")
    st.markdown(verdict(t, cutoff, x_name, y_name))
    if editable and t.dof:
        st.caption("Try it: make every row proportional to the first (say 30, 5, 5 and 60, 10, 10). Then P(x, y) = P(x) P(y) "
                   "in every cell, the difference turns white and the mutual information is 0.")
    if t.counts.sum() < 5 * t.counts.size:
        st.caption("Few counts per cell: the chi-square p-value is only approximate here.")

show_code(joint_table)
