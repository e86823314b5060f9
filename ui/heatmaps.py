"""Heatmaps of matrices whose rows and columns are tokens, positions or features (Vega-Lite dicts).

    heatmap(weights, names, names, "Layer 2, head 0", domain=[0, 1], value_title="weight")
    heatmap(x, names, None, scheme="redblue", row_title="token", col_title="feature")  # centred on 0
    small_multiples(weights_per_head, [f"head {h}" for h in range(12)], names, names, domain=[0, 1])
"""

import numpy as np
import pandas as pd

from ui.vega import colour_scale, draw, field
from ui.vega import heatmap as heatmap_spec

ROW_STEP = 20  # pixels per row when the rows are tokens: every label stays readable
FEW_ROWS = 6  # a matrix with fewer rows still gets 120 px, as tall as a legend


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


def spec(matrix, rows: list[str] | None = None, cols: list[str] | None = None, title: str = "", scheme: str = "blues",
         domain=None, row_title: str = "query", col_title: str = "key", height: int | None = None,
         show_col_labels: bool | None = None, value_title: str = "value") -> dict:
    """The Vega-Lite spec of one matrix; rows/cols are axis labels (default: indices).

    Rows get ROW_STEP pixels each, or `height` pixels shared by all (long position axes);
    a diverging scheme ("redblue") is centred on 0. Column labels are left out past 40 columns
    (feature axes: hundreds of labels are noise) unless `show_col_labels` says otherwise.
    """
    m = np.asarray(matrix)
    rows = rows or [str(i) for i in range(m.shape[0])]
    cols = cols or [str(j) for j in range(m.shape[1])]
    show = len(cols) <= 40 if show_col_labels is None else show_col_labels
    step = height / len(rows) if height else ROW_STEP * max(1.0, FEW_ROWS / len(rows))
    return heatmap_spec(
        frame(m, rows, cols),
        field("col:N", sort=cols, title=col_title, axis={"labels": show, "ticks": show, "labelOverlap": "greedy"}),
        field("row:N", sort=rows, title=row_title, axis={"labelOverlap": "greedy"}),
        title=title, scheme=scheme, domain=domain, step=step, legend_title=value_title)


def heatmap(matrix, rows: list[str] | None = None, cols: list[str] | None = None, title: str = "", **kw) -> None:
    """Draw one matrix full width (see `spec` for the options)."""
    draw(spec(matrix, rows, cols, title, **kw))


def small_multiples_spec(matrices, names: list[str], rows: list[str], cols: list[str], columns: int = 6, size: int = 140,
                         scheme: str = "blues", domain=None, value_title: str = "value") -> dict:
    """One small heatmap per matrix (e.g. every head of a layer) in a grid of `columns`, sharing one colour scale."""
    df = frame(matrices, rows, cols, panels=names)
    hidden = {"labels": False, "ticks": False}
    return {"data": df, "columns": columns,
            "facet": field("panel:N", sort=names, title=None),
            "spec": {"width": size, "height": size, "mark": "rect", "encoding": {
                "x": field("col:N", sort=cols, title=None, axis=hidden), "y": field("row:N", sort=rows, title=None, axis=hidden),
                "color": field("value:Q", scale=colour_scale(scheme, domain, df["value"]), title=value_title),
                "tooltip": [field("panel:N", title="panel"), field("row:N", title="query"), field("col:N", title="key"),
                            field("value:Q", format=".3f", title=value_title)]}}}


def small_multiples(matrices, names: list[str], rows: list[str], cols: list[str], **kw) -> None:
    """Draw `small_multiples_spec` at its own size (each panel `size` pixels square)."""
    draw(small_multiples_spec(matrices, names, rows, cols, **kw), width="content")
