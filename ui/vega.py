"""The lab's one chart idiom: Vega-Lite specs as plain dicts, drawn with `draw`.

Why dicts and not Altair objects: Streamlit converts an Altair chart to Vega-Lite on every rerun
(`alt.Chart.to_dict()` validates it against the JSON schema), 13-17 ms of CPU a chart; a dict
is drawn as it is, ~0 ms (benchmarks/bench_charts.py measures both). A spec reads like Altair's
and the Vega-Lite docs apply: a "mark", an "encoding" of fields, "layer"s on top of each other.

Data: any "data" in a spec, at the top or in a layer, may be a DataFrame: `draw` ships each one
to the browser as Arrow (fast for thousands of rows). `values(frame)` inlines a few records.

    draw(lines(history, "step:Q", "value:Q", color="metric:N", title="Loss"))
    draw(layers(bars(table, "p:Q", "outcome:N"), rule(x=0.5), title="…"), column)

>>> field("p:Q", title="P(heads)")
{'field': 'p', 'type': 'quantitative', 'title': 'P(heads)'}
>>> lines(pd.DataFrame({"t": [0, 1], "y": [2, 3]}), "t:Q", "y:Q", point=True)["mark"]
{'type': 'line', 'point': True}
>>> colour_scale("redblue", values=[-0.5, 2.0])
{'scheme': 'redblue', 'domain': [-2.0, 2.0], 'domainMid': 0, 'clamp': True}
>>> table_heatmap(pd.DataFrame([[1, 2]], index=["a"], columns=["x", "y"]))["data"].to_dict("records")[1]
{'row': 'a', 'column': 'y', 'value': 2.0, 'dark': True}
"""

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from core.foundations.evaluation import most_confused

CONFUSION_CLASSES = 12  # a confusion chart draws at most this many classes (plus one row and column for the rest)

TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}
# colour schemes with a neutral middle: their scale is made symmetric around 0, so white means 0
# the browser test sets this to "svg", so that it can read every chart's axes and legends from the page (Streamlit draws
# charts of more than 2,000 rows on a canvas, which has no elements to read; the layout is the same either way)
RENDERER = os.environ.get("LLM_LAB_CHART_RENDERER")
DIVERGING = frozenset({"redblue", "blueorange", "redyellowblue", "redgrey", "purplegreen", "pinkyellowgreen", "spectral"})


CATEGORY10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def class_colours(classes: Sequence, extra: dict[str, str] | None = None) -> dict:
    """A colour scale giving each class the same colour on every chart of a page (Vega-Lite's category10, in
    the classes' order), plus `extra` fixed colours for values that are not classes (e.g. {"neither": "#bbb"}).

    >>> class_colours(["neg", "pos"], {"neither": "#bbbbbb"})
    {'domain': ['neg', 'pos', 'neither'], 'range': ['#1f77b4', '#ff7f0e', '#bbbbbb']}
    """
    extra = extra or {}
    return {"domain": [str(c) for c in classes] + list(extra),
            "range": [CATEGORY10[i % len(CATEGORY10)] for i in range(len(classes))] + list(extra.values())}


def field(shorthand: str, **props) -> dict:
    """Altair's shorthand 'name:Q' as a Vega-Lite field definition, plus any properties.

    Dots and brackets in a column name ("[SEP]") are escaped: Vega-Lite would read them as nested access."""
    name, _, kind = shorthand.rpartition(":")
    escaped = name.replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")
    if escaped != name:
        props = {"title": name, **props}
    return {"field": escaped, "type": TYPES[kind], **props}


def channel(spec: str | dict | list) -> dict | list:
    """An encoding channel from a shorthand ('x:Q'), a full definition (dict) or a list of them (tooltips)."""
    if isinstance(spec, list):
        return [channel(s) for s in spec]
    return field(spec) if isinstance(spec, str) else spec


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def values(frame: pd.DataFrame) -> dict:
    """Inline data for a spec or a layer (records; NaN becomes null so the JSON is valid).

    Built from each column's `tolist()` (plain Python numbers and strings): ~10x faster than
    pandas' own to_dict on string columns, which matters on pages that draw a dozen small layers.

    >>> values(pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]}))
    {'values': [{'a': 1.0, 'b': 'x'}, {'a': None, 'b': 'y'}]}
    """
    columns = {str(c): frame[c].tolist() for c in frame.columns}
    return {"values": [{k: None if _missing(v) else v for k, v in zip(columns, row)} for row in zip(*columns.values())]}


def chart(data, mark: str | dict, title: str = "", height=None, width=None, **encoding) -> dict:
    """One mark over one table. Encodings by channel name: shorthand strings or `field(...)` dicts."""
    spec = {"data": data, "mark": mark, "encoding": {k: _secondary(k, channel(v)) for k, v in encoding.items() if v is not None}}
    if data is None:
        del spec["data"]  # a layer that draws its parent's data
    return _sized(spec, title, height, width)


def _secondary(name: str, definition):
    """x2 and y2 (the other end of a bar or a tile) share x's and y's type: Vega-Lite allows none of their own."""
    if name in ("x2", "y2") and isinstance(definition, dict):
        return {k: v for k, v in definition.items() if k != "type"}
    return definition


def lines(data, x, y, color=None, title: str = "", height=240, point: bool = False, **encoding) -> dict:
    """A line per value of `color` (long data: one row per point)."""
    return chart(data, {"type": "line", "point": point}, title, height, x=x, y=y, color=color, **encoding)


def bars(data, x, y, color=None, title: str = "", height=None, **encoding) -> dict:
    """Bars; the quantitative channel sets their length (horizontal bars: x quantitative, y nominal)."""
    return chart(data, "bar", title, height, x=x, y=y, color=color, **encoding)


def curves(named: dict, x_title: str, y_title: str, title: str = "", height=240, log_y: bool = False, start: int = 0,
           point: bool = False) -> dict:
    """A line per named array, against its index (from `start`): {"head 0": [...], "head 1": [...]}."""
    data = pd.concat([pd.DataFrame({"x": np.arange(start, start + len(v)), "y": np.asarray(v, dtype=float), "curve": name})
                      for name, v in named.items()], ignore_index=True)
    y = field("y:Q", title=y_title, **({"scale": {"type": "log"}} if log_y else {}))
    scheme = "category10" if len(named) <= 10 else "viridis"  # past 10 curves category10 repeats: a sequential scheme, in order
    return lines(data, field("x:Q", title=x_title), y, field("curve:N", title=None, sort=list(named), scale={"scheme": scheme}),
                 title=title, height=height, point=point, tooltip=[field("curve:N", title="curve"), field("x:Q", title=x_title),
                                                      field("y:Q", title=y_title, format=".4g")])


def share_bars(labels: Sequence, shares: Sequence[float], title: str = "", value_title: str | None = None, step: int = 28,
               whole: bool = False, coloured: bool = False, fmt: str = ".3f") -> dict:
    """Horizontal bars of probabilities or shares, one per label in the given order, the axis in %.

    `whole`: the axis runs from 0 to 100% (bars of different charts compare); `coloured`: a colour per label."""
    data = pd.DataFrame({"label": [str(label) for label in labels], "share": shares})
    x = field("share:Q", title=value_title, axis={"format": "%"}, **({"scale": {"domain": [0, 1]}} if whole else {}))
    return bars(data, x, field("label:N", sort=None, title=None), color=field("label:N", legend=None) if coloured else None,
                title=title, height={"step": step},
                tooltip=[field("label:N", title="value"), field("share:Q", format=fmt, title=value_title or "share")])


def rule(x: float | None = None, y: float | None = None, **mark) -> dict:
    """A layer with one straight line at x (vertical) or y (horizontal), e.g. a threshold or a floor.

    The position is a `datum`, a value on the other layers' scale: it adds no field and no axis title."""
    axis, value = ("x", x) if x is not None else ("y", y)
    return {"data": {"values": [{}]}, "mark": {"type": "rule", **mark}, "encoding": {axis: {"datum": value}}}


def layers(*parts: dict, title: str = "", height=None, width=None, **props) -> dict:
    """Draw `parts` on top of each other on shared axes (the whole chart's size and title are set here)."""
    inner = [{k: v for k, v in part.items() if k not in ("height", "width")} for part in parts]
    return _sized({"layer": inner, **props}, title, height, width)


def _sized(spec: dict, title: str, height, width) -> dict:
    if title:
        spec["title"] = title
    if height is not None:
        spec["height"] = height
    if width is not None:
        spec["width"] = width
    return spec


def colour_scale(scheme: str = "blues", domain: Sequence[float] | None = None, values=None, **props) -> dict:
    """A colour scale. A diverging scheme is made symmetric around 0 (±max |value| unless `domain` is given),
    so its neutral middle colour always means 0."""
    scale = {"scheme": scheme, **props}
    if scheme in DIVERGING:
        if domain is not None:
            m = float(max(abs(domain[0]), abs(domain[1])))
        else:
            finite = np.asarray(values, dtype=float) if values is not None else np.array([])
            finite = finite[np.isfinite(finite)]
            m = float(np.abs(finite).max()) if finite.size else 1.0
        scale |= {"domain": [-(m or 1.0), m or 1.0], "domainMid": 0, "clamp": True}
    elif domain is not None:
        scale |= {"domain": list(domain), "clamp": True}
    return scale


def heatmap(data: pd.DataFrame, x: str | dict, y: str | dict, color: str = "value", title: str = "", scheme: str = "blues",
            domain: Sequence[float] | None = None, step: float = 20, legend_title: str | None = None, fmt: str = ".3f") -> dict:
    """A grid of coloured cells from long data (one row per cell). Each row of the grid gets `step`
    pixels (a fixed height would squeeze long matrices until labels vanish); a diverging `scheme`
    is centred on 0."""
    x, y = channel(x), channel(y)
    return _sized({"data": data, "mark": "rect", "encoding": {
        "x": x, "y": y,
        "color": field(f"{color}:Q", scale=colour_scale(scheme, domain, data[color]), title=legend_title or color),
        "tooltip": [_tip(y), _tip(x), field(f"{color}:Q", format=fmt, title=legend_title or color)]}}, title, {"step": step}, None)


def _tip(channel_def: dict) -> dict:
    """A tooltip entry naming the same field as an axis channel (without its axis and sort)."""
    return {k: v for k, v in channel_def.items() if k in ("field", "type", "title")}


def table_heatmap(frame: pd.DataFrame, title: str = "", fmt: str = ".2f", x_title: str = "", y_title: str = "",
                  scheme: str = "blues", text: bool = True, cell: int = 42, log_colours: bool = False, blank_zeros: bool = False,
                  domain: Sequence[float] | None = None, legend_title: str | None = None) -> dict:
    """A small table with each value written in its cell: rows down, columns across, in the frame's order.

    `log_colours`: a symmetric-log colour scale, so small counts beside a large diagonal still show;
    `blank_zeros`: no number written in a cell holding 0 (counts: the few non-zero cells stand out);
    `domain`: the colour scale's range of values, so two tables drawn with the same one compare cell for cell
    (a diverging `scheme` is centred on 0); `legend_title`: draw a colour legend with this title.
    For big unlabelled matrices (attention maps) see ui/heatmaps.py; `text=False` for medium ones.
    """
    n_rows, n_cols = frame.shape
    cells = frame.to_numpy(dtype=float).ravel()
    shade = np.log1p(np.abs(cells)) if log_colours else np.abs(cells) if scheme in DIVERGING else cells
    if domain is None:
        top = np.nanmax(shade)
    else:  # the darkest colour sits at the domain's end, whatever the largest value drawn
        top = max(abs(domain[0]), abs(domain[1])) if scheme in DIVERGING else domain[1]
    long = pd.DataFrame({"row": np.repeat([str(r) for r in frame.index], n_cols),
                         "column": np.tile([str(c) for c in frame.columns], n_rows),
                         "value": cells, "dark": shade > 0.6 * top})  # white text on the darkest cells
    labels = [str(c) for c in frame.columns]
    angle = 0 if sum(map(len, labels)) <= 24 or max(map(len, labels)) == 1 else -40  # tilt long labels so none is hidden
    if scheme in DIVERGING:
        scale = colour_scale(scheme, domain, cells)
    else:
        scale = {"scheme": scheme, "zero": True} | ({"type": "symlog"} if log_colours else {})  # 0 is the lightest
        scale |= {"domain": list(domain), "clamp": True} if domain is not None else {}
    legend = {"title": legend_title, "orient": "bottom", "gradientLength": 160} if legend_title else None
    layered = [{"mark": "rect", "encoding": {"color": field("value:Q", scale=scale, legend=legend)}}]
    if text:
        blanks = {"transform": [{"filter": "datum.value != 0"}]} if blank_zeros else {}
        layered.append({"mark": {"type": "text", "fontSize": 13}, **blanks, "encoding": {
            "text": field("value:Q", format=fmt),
            "color": {"condition": {"test": "datum.dark", "value": "white"}, "value": "black"}}})
    return {
        "title": title, "data": long, "height": {"step": cell},  # a step per row: a fixed height draws too small
        "encoding": {"x": field("column:N", sort=[str(c) for c in frame.columns], title=x_title,
                                axis={"labelAngle": angle, "labelOverlap": False, "labelFlush": False}),
                     "y": field("row:N", sort=[str(r) for r in frame.index], title=y_title,
                                axis={"labelOverlap": False, "labelFlush": False}),  # every row and column keeps its label
                     "tooltip": [field("row:N", title=y_title or "row"), field("column:N", title=x_title or "column"),
                                 field("value:Q", format=".4g")]},
        "layer": layered,
    }


def confusion(matrix, labels: Sequence | None = None, title: str = "Confusion (held-out)") -> dict:
    """A confusion matrix, true class down, predicted across, counts in the cells. Past 3 classes the colours
    are logarithmic, so the few mistakes off a large diagonal still show. `matrix` may be a DataFrame labelled both ways."""
    frame = matrix if isinstance(matrix, pd.DataFrame) else pd.DataFrame(matrix, index=list(labels), columns=list(labels))
    if len(frame) > CONFUSION_CLASSES:  # too many cells to draw: the classes in the most mistakes, the rest pooled
        counts, kept = most_confused(frame.to_numpy(), frame.index, CONFUSION_CLASSES)
        title = f"{title}: the {CONFUSION_CLASSES} of {len(frame)} classes in the most mistakes"
        frame = pd.DataFrame(counts, index=pd.Index(kept, name=frame.index.name), columns=pd.Index(kept, name=frame.columns.name))
    return table_heatmap(frame, title, ".0f", "predicted", "true", cell=max(24, min(42, 330 // max(len(frame), 1))),
                         log_colours=len(frame) > 3, blank_zeros=True)


def _ship_frames(spec, datasets: dict) -> object:
    """A copy of `spec` with every DataFrame under a "data" key replaced by a named dataset, shorthand
    channels ("x:Q") as field definitions, and NumPy numbers and arrays (a sort order from .unique(),
    a datum) as plain JSON values."""
    if isinstance(spec, (list, tuple)):
        return [_ship_frames(s, datasets) for s in spec]
    if isinstance(spec, (np.generic, np.ndarray)):
        return spec.tolist()
    if not isinstance(spec, dict):
        return spec
    out = {}
    for key, value in spec.items():
        if key == "data" and isinstance(value, pd.DataFrame):
            name = f"data{len(datasets)}"
            datasets[name] = value
            out[key] = {"name": name}
        elif key == "encoding" and isinstance(value, dict):  # shorthand ("bits:Q") allowed anywhere in an encoding
            out[key] = {k: _ship_frames(_secondary(k, channel(v)), datasets) for k, v in value.items()}
        else:
            out[key] = _ship_frames(value, datasets)
    return out


def draw(spec: dict, container=st, width: str = "stretch") -> None:
    """Draw a spec in `container` (a column, a tab, a placeholder, or the page), full width by default.

    `width="content"` keeps the spec's own width (small multiples, square plots)."""
    datasets: dict[str, pd.DataFrame] = {}
    spec = _ship_frames(spec, datasets)
    if datasets:
        spec["datasets"] = datasets  # Streamlit sends each as Arrow, not JSON
    if width == "stretch":  # fit the width only: a title, axis titles and a legend add to the height, not squeeze the plot into it
        spec.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    if RENDERER:
        spec["usermeta"] = {"embedOptions": {"renderer": RENDERER}}
    container.vega_lite_chart(spec=spec, width=width)
