"""ui/vega.py and ui/heatmaps.py: the lab's charts as Vega-Lite dicts.

Altair validated every chart against the Vega-Lite JSON schema as it was built; a dict is drawn as it
is, so these tests do that validation instead (the schema Altair ships, the version Streamlit draws),
and check what the pages rely on: a row step for heatmaps, diverging scales centred on 0, escaped
field names, DataFrames shipped as named datasets.
"""

import json
from pathlib import Path

import altair as alt
import jsonschema
import numpy as np
import pandas as pd
import pytest

from ui import heatmaps, vega

SCHEMA = json.loads((Path(alt.__file__).parent / "vegalite" / "v6" / "schema" / "vega-lite-schema.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
LONG = pd.DataFrame({"step": [1, 2, 1, 2], "metric": ["loss", "loss", "acc", "acc"], "value": [1.0, 0.5, 0.2, 0.6]})


def shipped(spec: dict) -> dict:
    """The spec as `draw` hands it to Streamlit: DataFrames as named datasets, NumPy values as JSON."""
    datasets = {}
    out = vega._ship_frames(spec, datasets)
    if datasets:
        out["datasets"] = {name: vega.values(frame)["values"] for name, frame in datasets.items()}
    return json.loads(json.dumps(out))  # fails here on anything JSON can't hold


def specs() -> dict[str, dict]:
    m = np.array([[0.1, -2.0], [0.5, 1.5]])
    return {
        "lines": vega.lines(LONG, "step:Q", vega.field("value:Q", title=None), "metric:N", point=True, tooltip=["step:Q", "metric:N"]),
        "bars": vega.bars(LONG, "value:Q", vega.field("metric:N", sort=None), height={"step": 20}),
        "share_bars": vega.share_bars(["a", "b"], [0.25, 0.75], "Shares", whole=True, coloured=True),
        "curves": vega.curves({"one": [1.0, 0.5], "two": [0.3, 0.1]}, "distance", "similarity", log_y=True, start=1),
        "layers + rule": vega.layers(vega.lines(LONG, "step:Q", "value:Q", "metric:N"), vega.rule(y=0.5, strokeDash=[4, 4]),
                                     vega.rule(x=np.int64(2), color="grey"), title="t", height=250),
        "heatmap": heatmaps.spec(m, ["0 the", "1 cat"], ["x", "y"], "A", scheme="redblue", value_title="weight"),
        "numbered heatmap": heatmaps.spec(np.arange(48.0).reshape(6, 8) - 20, None, None, "positions", scheme="redblue", height=200),
        "highlighted heatmap": heatmaps.spec(m.clip(0, 1), ["0 the", "1 cat"], ["0 the", "1 cat"], domain=[0, 1], highlight="0 the"),
        "small multiples": heatmaps.small_multiples_spec(np.stack([m, m]), ["head 0", "head 1"], ["a", "b"], ["a", "b"]),
        "table heatmap": vega.table_heatmap(pd.DataFrame(m, index=["r1", "r2"], columns=["c1", "c2"]), "T"),
        "confusion": vega.confusion(np.arange(16).reshape(4, 4), list("abcd")),
    }


@pytest.mark.parametrize("name", list(specs()))
def test_every_helper_makes_a_valid_vega_lite_spec(name):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(shipped(specs()[name]))]
    assert not errors, errors


def test_field_shorthand_and_escaping():
    assert vega.field("p:Q", title="P") == {"field": "p", "type": "quantitative", "title": "P"}
    assert vega.field("[SEP]:Q") == {"field": "\\[SEP\\]", "type": "quantitative", "title": "[SEP]"}  # not nested access
    assert vega.field("a.b:N", title="x")["field"] == "a\\.b"


def test_diverging_scales_are_symmetric_around_zero():
    assert vega.colour_scale("redblue", values=[-0.5, 3.0]) == {"scheme": "redblue", "domain": [-3.0, 3.0], "domainMid": 0, "clamp": True}
    assert vega.colour_scale("redblue", domain=[-1, 4])["domain"] == [-4.0, 4.0]
    assert vega.colour_scale("blues", domain=[0, 1]) == {"scheme": "blues", "domain": [0, 1], "clamp": True}
    assert "domainMid" not in vega.colour_scale("viridis", values=[-1.0, 2.0])


def test_heatmaps_get_a_step_per_labelled_row_and_a_numbered_axis_for_positions():
    m = np.zeros((30, 4))
    names = [f"{i} w" for i in range(30)]
    token_rows = heatmaps.spec(m, names, list("abcd"))
    assert token_rows["height"] == {"step": heatmaps.ROW_STEP}
    assert token_rows["encoding"]["y"]["axis"]["labelOverlap"] is False  # every token keeps its label
    assert token_rows["encoding"]["y"]["axis"]["labelFlush"] is False  # Streamlit's theme would crowd the first and last
    assert heatmaps.spec(m[:3], names[:3], list("abcd"))["height"] == {"step": 40.0}  # few rows: still 120 px tall
    assert heatmaps.spec(m, names, list("abcd"), height=100)["height"] == {"step": heatmaps.ROW_STEP}  # labels win over a height
    positions = heatmaps.spec(np.zeros((128, 64)), height=360)
    assert positions["height"] == 360  # 128 positions share the height on a numbered axis, ticks at round numbers
    assert positions["encoding"]["y"]["type"] == positions["encoding"]["x"]["type"] == "quantitative"
    assert positions["encoding"]["y"]["scale"]["domain"] == [-0.5, 127.5] and positions["encoding"]["y"]["scale"]["reverse"]
    assert heatmaps.spec(np.zeros((2, 50)), ["a", "b"])["encoding"]["x"]["type"] == "quantitative"  # feature axis: numbers


def test_a_highlighted_row_gets_its_numbers_and_the_others_fade():
    w = np.array([[1.0, 0.0], [0.25, 0.75]])
    out = heatmaps.spec(w, ["0 the", "1 cat"], ["0 the", "1 cat"], domain=[0, 1], highlight="1 cat")
    rect, outline, text = out["layer"]
    assert rect["encoding"]["opacity"]["condition"]["test"] == 'datum.row === "1 cat"'
    assert text["transform"] == [{"filter": 'datum.row === "1 cat"'}] and text["encoding"]["text"]["format"] == ".0%"
    assert VALIDATOR.is_valid(shipped(out))


def test_small_multiples_give_each_row_a_readable_step_and_fit_the_page():
    names = [f"{i} word" for i in range(29)]
    out = heatmaps.small_multiples_spec(np.zeros((12, 29, 29)), [f"head {h}" for h in range(12)], names, names)
    assert out["spec"]["height"] == {"step": heatmaps.PANEL_STEP} and heatmaps.PANEL_STEP >= 14
    assert out["columns"] * (out["spec"]["width"] + 12) + 8 + 6 * len("28 word") + 120 <= heatmaps.PANEL_WIDTH


def test_more_than_ten_curves_get_a_colour_each_in_order():
    named = {f"head {h}": [1.0, 0.5] for h in range(16)}
    colour = vega.curves(named, "distance", "factor")["encoding"]["color"]
    assert colour["scale"]["scheme"] != "category10"  # category10 has 10 colours: heads 10-15 would repeat 0-5
    assert colour["sort"] == list(named)  # head 2 before head 10, not sorted as text
    assert vega.curves({"a": [1.0], "b": [2.0]}, "x", "y")["encoding"]["color"]["scale"]["scheme"] == "category10"


def test_draw_ships_every_data_frame_as_a_named_dataset():
    spec = vega.layers(vega.lines(LONG, "step:Q", "value:Q"), vega.chart(LONG.head(1), "point", x="step:Q", y="value:Q"))
    datasets = {}
    out = vega._ship_frames(spec, datasets)
    assert [layer["data"] for layer in out["layer"]] == [{"name": "data0"}, {"name": "data1"}]
    assert datasets["data1"].equals(LONG.head(1))


def test_a_layer_rule_adds_no_field_and_no_height():
    layered = vega.layers(vega.lines(LONG, "step:Q", "value:Q", height=240), vega.rule(x=1.5))
    assert "height" not in layered["layer"][0]
    assert layered["layer"][1]["encoding"] == {"x": {"datum": 1.5}}


def test_shorthand_in_a_hand_written_encoding_becomes_a_field():
    spec = {"data": LONG, "mark": "rect", "encoding": {"x": "step:O", "y2": "value:Q", "tooltip": ["metric:N", vega.field("value:Q")]}}
    out = shipped(spec)
    assert out["encoding"]["x"] == {"field": "step", "type": "ordinal"}
    assert out["encoding"]["y2"] == {"field": "value"}  # x2/y2 take their type from x/y
    assert out["encoding"]["tooltip"][0] == {"field": "metric", "type": "nominal"}
