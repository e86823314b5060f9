"""Charts as plain Vega-Lite dicts, for pages whose every control must rerun in well under a second.

Altair validates each chart against the Vega-Lite JSON schema while it is built: ~50 ms a chart
on a busy 2-core machine, so a page with six charts spent most of its rerun there. Streamlit draws
a Vega-Lite dict as it is (`st.vega_lite_chart`), with no validation: the probability pages build
their charts as dicts with the helpers below. A spec reads like Altair's (Vega-Lite docs apply).
A spec's top-level "data" may be a DataFrame: `draw` hands it to Streamlit, which ships it as Arrow
(fast for thousands of rows); layers with their own data use small inline `values(...)`.

>>> field("p:Q", title="P(heads)")
{'field': 'p', 'type': 'quantitative', 'title': 'P(heads)'}
>>> table_heatmap(pd.DataFrame([[1, 2]], index=["a"], columns=["x", "y"]))["data"].to_dict("records")[1]
{'row': 'a', 'column': 'y', 'value': 2.0, 'dark': True}
"""

import numpy as np
import pandas as pd
import streamlit as st

TYPES = {"Q": "quantitative", "N": "nominal", "O": "ordinal", "T": "temporal"}


def field(shorthand: str, **props) -> dict:
    """Altair's shorthand 'name:Q' as a Vega-Lite field definition, plus any properties."""
    name, _, kind = shorthand.rpartition(":")
    return {"field": name, "type": TYPES[kind], **props}


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


def draw(spec: dict, container=st, width: str = "stretch") -> None:
    """Draw a spec full width in `container` (a column, a tab, or the page); width="content" keeps the
    spec's own width (a square plot whose x and y units must look the same length)."""
    data = spec.get("data")
    if isinstance(data, pd.DataFrame):
        spec = {k: v for k, v in spec.items() if k != "data"}
        container.vega_lite_chart(data, spec, width=width)
    else:
        container.vega_lite_chart(spec=spec, width=width)


def table_heatmap(frame: pd.DataFrame, title: str = "", fmt: str = ".2f", x_title: str = "", y_title: str = "",
                  scheme: str = "blues", text: bool = True, cell: int = 42) -> dict:
    """A small table with each value written in its cell: rows down, columns across, in the frame's order.

    For big unlabelled matrices (attention maps) see ui/heatmaps.py; `text=False` for medium ones.
    """
    n_rows, n_cols = frame.shape
    cells = frame.to_numpy(dtype=float).ravel()
    long = pd.DataFrame({"row": np.repeat([str(r) for r in frame.index], n_cols), "column": np.tile([str(c) for c in frame.columns], n_rows),
                         "value": cells, "dark": cells > 0.6 * np.nanmax(cells)})  # white text on the darkest cells
    labels = [str(c) for c in frame.columns]
    angle = 0 if sum(map(len, labels)) <= 24 or max(map(len, labels)) == 1 else -40  # tilt long labels so none is hidden
    layers = [{"mark": "rect", "encoding": {"color": field("value:Q", scale={"scheme": scheme, "zero": True}, legend=None)}}]  # 0 is the lightest
    if text:
        layers.append({"mark": {"type": "text", "fontSize": 13}, "encoding": {
            "text": field("value:Q", format=fmt),
            "color": {"condition": {"test": "datum.dark", "value": "white"}, "value": "black"}}})
    return {
        "title": title, "data": long, "height": {"step": cell},  # a step per row: a fixed height draws too small
        "encoding": {"x": field("column:N", sort=[str(c) for c in frame.columns], title=x_title, axis={"labelAngle": angle}),
                     "y": field("row:N", sort=[str(r) for r in frame.index], title=y_title),
                     "tooltip": [field("row:N"), field("column:N"), field("value:Q", format=".4g")]},
        "layer": layers,
    }
