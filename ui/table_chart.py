"""A small table as a heatmap with each value written in its cell: joint tables, confusion and transition matrices.

For big unlabelled matrices (attention maps) see ui/heatmaps.py; this one is for tables a learner reads cell by cell.
"""

import altair as alt
import pandas as pd


def table_heatmap(frame: pd.DataFrame, title: str = "", fmt: str = ".2f", x_title: str = "", y_title: str = "",
                  scheme: str = "blues", text: bool = True, cell: int = 42) -> alt.LayerChart:
    """Rows of `frame` down, columns across, in the frame's own order; `text=False` for big matrices."""
    long = frame.rename_axis("row").reset_index().melt("row", var_name="column", value_name="value")
    long["row"], long["column"] = long["row"].astype(str), long["column"].astype(str)
    long["dark"] = long.value > 0.6 * long.value.max()  # white text on the darkest cells
    base = alt.Chart(long).encode(
        x=alt.X("column:N", sort=[str(c) for c in frame.columns], title=x_title, axis=alt.Axis(labelAngle=0 if len(frame.columns) < 3 or len(frame.columns) > 26 else -40)),
        y=alt.Y("row:N", sort=[str(r) for r in frame.index], title=y_title),
        tooltip=["row", "column", alt.Tooltip("value:Q", format=".4g")])
    chart = base.mark_rect().encode(color=alt.Color("value:Q", scale=alt.Scale(scheme=scheme), legend=None))
    if text:
        chart += base.mark_text(fontSize=13).encode(text=alt.Text("value:Q", format=fmt),
                                                    color=alt.condition("datum.dark", alt.value("white"), alt.value("black")))
    return chart.properties(title=title, height=alt.Step(cell))  # Streamlit draws a fixed height too small; a step per row works
