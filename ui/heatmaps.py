"""Heatmaps of matrices whose rows and columns are tokens, positions or features (Vega-Lite dicts).

    heatmap(weights, names, names, "Layer 2, head 0", domain=[0, 1], value_title="weight")
    heatmap(x, names, None, scheme="redblue", row_title="token", col_title="feature")  # centred on 0
    small_multiples(weights_per_head, [f"head {h}" for h in range(12)], names, names, domain=[0, 1])

Two kinds of axis. Labelled rows and columns (tokens) are a band each: every row gets ROW_STEP pixels
and every label is written, none thinned out. Unlabelled ones (positions, features: `rows=None`) are
numbers: a continuous axis with ticks at round numbers, so a matrix of 128 positions needs no 128 labels.
"""

import json

import numpy as np
import pandas as pd

from ui.vega import colour_scale, draw, field
from ui.vega import heatmap as heatmap_spec

ROW_STEP = 20  # pixels per labelled row (tokens): every label stays readable
# Streamlit's chart theme pulls the first and last label of every axis inward (labelFlush), which on a band axis
# crowds them into their neighbours: band axes here turn that off
FEW_ROWS = 6  # a matrix with fewer rows still gets 120 px, as tall as a legend
NUMBERED_HEIGHT = 300  # pixels for a numbered (position) axis, whatever its length
PANEL_STEP = 14  # pixels per labelled row in a small multiple: the least that keeps a token label readable
PANEL_WIDTH = 880  # the width the small multiples of a full-width chart share (the page's column at 1400 px)


def labels(tokens: list[str]) -> list[str]:
    """'3 the' style labels: a sentence may repeat a token, an axis must not repeat a label."""
    return [f"{i} {t}" for i, t in enumerate(tokens)]


def frame(matrix, rows: list[str] | None = None, cols: list[str] | None = None, panels: list[str] | None = None) -> pd.DataFrame:
    """Long (row, col, value[, panel]) DataFrame of a matrix, or of a stack of them with `panels`.

    Rows and columns without labels are numbered 0, 1, … (numbers, for a continuous axis).
    ±inf (masked scores) become missing values, drawn as blank cells.
    """
    m = np.asarray(matrix, dtype=float)
    stack = m if panels else m[None]
    n_rows, n_cols = stack.shape[1:]
    rows = np.array(rows) if rows is not None else np.arange(n_rows)
    cols = np.array(cols) if cols is not None else np.arange(n_cols)
    values = np.where(np.isfinite(stack), stack, np.nan).ravel()
    df = pd.DataFrame({"row": np.tile(np.repeat(rows, n_cols), len(stack)),
                       "col": np.tile(cols, n_rows * len(stack)), "value": values})
    if panels:
        df["panel"] = np.repeat(np.array(panels), n_rows * n_cols)
    return df


def _axis(name: str, names: list[str] | None, n: int, title: str, show: bool = True) -> dict:
    """A band per label (every label written), or a numbered axis from 0 to n − 1 (cells centred on the integers)."""
    if names is not None:
        return field(f"{name}:N", sort=list(names), title=title,
                     axis={"labelOverlap": False, "labelFlush": False, "labels": show, "ticks": show, "labelLimit": 160})
    return field(f"{name}_lo:Q", title=title, scale={"domain": [-0.5, n - 0.5], "nice": False, "zero": False,
                                                      **({"reverse": True} if name == "row" else {})},
                 axis={"format": "d", "tickMinStep": 1, "grid": False})


def spec(matrix, rows: list[str] | None = None, cols: list[str] | None = None, title: str = "", scheme: str = "blues",
         domain=None, row_title: str = "query", col_title: str = "key", height: int | None = None,
         show_col_labels: bool | None = None, value_title: str = "value", highlight: str | None = None) -> dict:
    """The Vega-Lite spec of one matrix; rows/cols are axis labels (None: numbered positions or features).

    Labelled rows get ROW_STEP pixels each (`height` is then ignored: labels must stay readable); numbered
    rows share `height` pixels (default NUMBERED_HEIGHT). Labelled columns past 40 are drawn without their
    labels unless `show_col_labels` says otherwise. A diverging scheme ("redblue") is centred on 0.
    `highlight`: the label of one row to pick out (attention weights): the other rows fade, its cells show their weight in %.
    """
    m = np.asarray(matrix)
    n_rows, n_cols = m.shape
    show = (cols is None or len(cols) <= 40) if show_col_labels is None else show_col_labels
    out = heatmap_spec(frame(m, rows, cols), _axis("col", cols, n_cols, col_title, show), _axis("row", rows, n_rows, row_title),
                       title=title, scheme=scheme, domain=domain, step=ROW_STEP * max(1.0, FEW_ROWS / n_rows), legend_title=value_title)
    numbered = [(name, names) for name, names in (("row", rows), ("col", cols)) if names is None]
    if numbered:
        out["transform"] = [{"calculate": f"datum.{name} {sign} 0.5", "as": f"{name}_{end}"}
                            for name, _ in numbered for sign, end in (("-", "lo"), ("+", "hi"))]
        for name, _ in numbered:
            channel = "y" if name == "row" else "x"
            out["encoding"][f"{channel}2"] = {"field": f"{name}_hi"}
            out["encoding"]["tooltip"] = [field(f"{name}:Q", title=out["encoding"][channel].get("title")) if t.get("field") == f"{name}_lo"
                                          else t for t in out["encoding"]["tooltip"]]
    if rows is None:
        out["height"] = height or NUMBERED_HEIGHT
    if highlight is not None and rows is not None:
        out = _highlighted(out, highlight)
    return out


def _highlighted(out: dict, row: str) -> dict:
    """The heatmap as two layers: every cell, the others faded; the numbers written in the cells of `row`."""
    picked = f"datum.row === {json.dumps(row)}"
    colour = out["encoding"].pop("color")
    out.pop("mark")
    out["layer"] = [
        {"mark": {"type": "rect", "stroke": None}, "encoding": {
            "color": colour, "opacity": {"condition": {"test": picked, "value": 1}, "value": 0.25}}},
        {"mark": {"type": "rect", "fill": None, "stroke": "black", "strokeWidth": 1.5},
         "transform": [{"filter": picked}], "encoding": {}},
        {"mark": {"type": "text", "fontSize": 10}, "transform": [{"filter": picked}], "encoding": {
            "text": field(f"{colour['field']}:Q", format=".0%"),
            "color": {"condition": {"test": f"datum.{colour['field']} > 0.5", "value": "white"}, "value": "black"}}},
    ]
    return out


def heatmap(matrix, rows: list[str] | None = None, cols: list[str] | None = None, title: str = "", **kw) -> None:
    """Draw one matrix full width (see `spec` for the options)."""
    draw(spec(matrix, rows, cols, title, **kw))


def small_multiples_spec(matrices, names: list[str], rows: list[str], cols: list[str], columns: int = 4,
                         scheme: str = "blues", domain=None, value_title: str = "value", width: int = PANEL_WIDTH) -> dict:
    """One small heatmap per matrix (e.g. every head of a layer) in a grid of `columns`, sharing one colour scale.

    Each row of a panel gets PANEL_STEP pixels and the token labels are written down the left of each line
    of panels; the columns (the same tokens) share the width left, so the grid fits the page."""
    df = frame(matrices, rows, cols, panels=names)
    label_room = 8 + 6 * max(len(str(r)) for r in rows)  # the labels' width, about 6 px a character
    panel_width = max(60, int((width - label_room - 120) / columns) - 12)  # 120: the legend; 12: space between panels
    return {"data": df, "columns": columns,
            "facet": field("panel:N", sort=names, title=None, header={"labelFontSize": 12}),
            "spec": {"width": panel_width, "height": {"step": PANEL_STEP}, "mark": "rect", "encoding": {
                "x": field("col:N", sort=cols, title=None, axis=None),
                "y": field("row:N", sort=rows, title=None,
                           axis={"labelOverlap": False, "labelFlush": False, "ticks": False, "labelFontSize": 10}),
                "color": field("value:Q", scale=colour_scale(scheme, domain, df["value"]), title=value_title),
                "tooltip": [field("panel:N", title="panel"), field("row:N", title="query"), field("col:N", title="key"),
                            field("value:Q", format=".3f", title=value_title)]}}}


def small_multiples(matrices, names: list[str], rows: list[str], cols: list[str], **kw) -> None:
    """Draw `small_multiples_spec` at its own size."""
    draw(small_multiples_spec(matrices, names, rows, cols, **kw), width="content")
