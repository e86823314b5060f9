"""Vega-Lite specs of the sequence-to-sequence page: accuracy by source length, alignments, schedules, curves."""

import pandas as pd

from ui.vega import field, values

MODEL_COLOURS = {"fixed context": "#d62728", "additive attention": "#ff7f0e", "transformer": "#1f77b4"}  # one colour per model
ONLY_CHAR = "split(datum.label, ' ')[1]"  # axis labels "12 e" are unique per position; show just the character


def accuracy_by_length(table: pd.DataFrame, cap: int) -> dict:
    """Exact match per bin of source length, one line per model; the bins beyond `cap` shaded (never trained on)."""
    table = table.assign(mid=(table["from"] + table["to"]) / 2, bin=table["from"].astype(str) + "–" + table["to"].astype(str))
    top = float(table["to"].max())
    layers = []
    if (table["to"] > cap).any():
        layers.append({"data": values(pd.DataFrame({"x": [cap + 0.5], "x2": [top + 0.5], "label": ["longer than any training source"]})),
                       "mark": {"type": "rect", "color": "#eeeeee"}, "encoding": {"x": field("x:Q"), "x2": field("x2:Q")}})
        layers.append({"data": values(pd.DataFrame({"x": [cap + 1], "label": ["longer than any training source →"]})),
                       "mark": {"type": "text", "align": "left", "baseline": "top", "dy": 4, "color": "#555"},
                       "encoding": {"x": field("x:Q"), "y": {"value": 0}, "text": field("label:N")}})
    layers.append({"data": values(table), "mark": {"type": "line", "point": True},
                   "encoding": {"x": field("mid:Q", title="source length (characters)", scale={"domain": [0, top + 0.5], "nice": False}),
                                "y": field("accuracy:Q", title="exact match", scale={"domain": [0, 1]},
                                           axis={"format": "%"}),
                                "color": field("model:N", scale={"domain": list(MODEL_COLOURS), "range": list(MODEL_COLOURS.values())},
                                               legend={"orient": "bottom", "title": None}),
                                "tooltip": [field("model:N"), field("bin:N", title="source length"), field("accuracy:Q", format=".1%"),
                                            field("pairs:Q", title="pairs")]}})
    return {"height": 320, "layer": layers}


def alignment(frame: pd.DataFrame, title: str, rows: list[str], cols: list[str], cell: int = 15, row_height: int = 18) -> dict:
    """One heatmap per head, stacked: rows = output characters, columns = source characters, colour = attention weight.

    Every row and column keeps its label (no overlap culling): rows are `row_height` pixels, columns `cell`."""
    return {
        "title": title, "data": frame, "transform": [{"calculate": "'head ' + datum.head", "as": "head_name"}],
        "facet": {"row": field("head_name:N", title=None, header={"labelAngle": 0, "labelAlign": "left"})},
        "spec": {"width": {"step": cell}, "height": {"step": row_height}, "mark": "rect",
                 "encoding": {"x": field("source:N", sort=cols, title="source character",
                                         axis={"labelExpr": ONLY_CHAR, "labelAngle": 0, "labelOverlap": False}),
                              "y": field("output:N", sort=rows, title="output", axis={"labelExpr": ONLY_CHAR, "labelOverlap": False}),
                              "color": field("weight:Q", title="attention weight", scale={"scheme": "blues", "domain": [0, 1]}),
                              "tooltip": [field("output:N"), field("source:N"), field("weight:Q", format=".3f")]}},
        "resolve": {"scale": {"x": "shared", "y": "shared"}},
    }


def lines(frame: pd.DataFrame, y: str, y_title: str, colour: str, colour_title: str | None = None, log: bool = False,
          height: int = 300) -> dict:
    """A line per `colour` value against the step."""
    scale = {"type": "log"} if log else {"zero": False}
    return {"data": frame, "height": height, "mark": "line",
            "encoding": {"x": field("step:Q"), "y": field(f"{y}:Q", title=y_title, scale=scale, axis={"format": "~g"}),
                         "color": field(f"{colour}:N", title=colour_title, legend={"orient": "bottom"}),
                         "tooltip": [field("step:Q"), field(f"{colour}:N"), field(f"{y}:Q", format=".4g")]}}
