"""Altair heatmaps for matrices whose rows and columns are tokens, positions or features."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st


def labels(tokens: list[str]) -> list[str]:
    """'3 the' style labels: a sentence may repeat a token, an axis must not repeat a label."""
    return [f"{i} {t}" for i, t in enumerate(tokens)]


def frame(matrix, rows: list[str] | None = None, cols: list[str] | None = None, panels: list[str] | None = None) -> pd.DataFrame:
    """Long (row, col, value[, panel]) DataFrame of a matrix, or of a stack of them with `panels`.

    ±inf (masked scores) become missing values, drawn as blank cells.
    """
    m = np.asarray(matrix, dtype=float)
    stack = m if panels else m[None]
    n_rows, n_cols = stack.shape[1:]
    rows = np.array(rows or [str(i) for i in range(n_rows)])
    cols = np.array(cols or [str(j) for j in range(n_cols)])
    values = np.where(np.isfinite(stack), stack, np.nan).ravel()
    df = pd.DataFrame({"row": np.tile(np.repeat(rows, n_cols), len(stack)),
                       "col": np.tile(cols, n_rows * len(stack)), "value": values})
    if panels:
        df["panel"] = np.repeat(np.array(panels), n_rows * n_cols)
    return df


def chart(df: pd.DataFrame, rows: list[str], cols: list[str], title: str = "", scheme: str = "blues",
          domain=None, row_title: str = "query", col_title: str = "key", height: int | None = None,
          show_col_labels: bool = True, value_title: str = "value") -> alt.Chart:
    scale = alt.Scale(scheme=scheme, domain=domain) if domain else alt.Scale(scheme=scheme)
    return (alt.Chart(df, title=title, height=height or max(120, 20 * len(rows)))
            .mark_rect()
            .encode(x=alt.X("col:N", sort=cols, title=col_title,
                            axis=alt.Axis(labels=show_col_labels, ticks=show_col_labels, labelOverlap="greedy")),
                    y=alt.Y("row:N", sort=rows, title=row_title, axis=alt.Axis(labelOverlap="greedy")),
                    color=alt.Color("value:Q", scale=scale, title=value_title),
                    tooltip=[alt.Tooltip("row:N", title=row_title), alt.Tooltip("col:N", title=col_title),
                             alt.Tooltip("value:Q", format=".3f", title=value_title)]))


def heatmap(matrix, rows: list[str] | None = None, cols: list[str] | None = None, title: str = "", **kw) -> None:
    """Draw one matrix; rows/cols are axis labels (default: indices)."""
    m = np.asarray(matrix)
    rows = rows or [str(i) for i in range(m.shape[0])]
    cols = cols or [str(j) for j in range(m.shape[1])]
    if len(cols) > 40:
        kw.setdefault("show_col_labels", False)  # feature axes: hundreds of labels are noise
    st.altair_chart(chart(frame(m, rows, cols), rows, cols, title, **kw), width="stretch")


def small_multiples(matrices, names: list[str], rows: list[str], cols: list[str], columns: int = 6,
                    size: int = 140, **kw) -> None:
    """One small heatmap per matrix (e.g. every head of a layer), sharing one colour scale."""
    df = frame(matrices, rows, cols, panels=names)
    base = chart(df, rows, cols, show_col_labels=False, **kw).properties(width=size, height=size)
    faceted = base.encode(y=alt.Y("row:N", sort=rows, title=None, axis=alt.Axis(labels=False, ticks=False)),
                          x=alt.X("col:N", sort=cols, title=None, axis=alt.Axis(labels=False, ticks=False)))
    st.altair_chart(faceted.facet(facet=alt.Facet("panel:N", sort=names, title=None), columns=columns))
