"""The lab's two chart idioms, timed through Streamlit: Altair objects against Vega-Lite dicts.

    ./lab bench        (or: .venv/bin/python benchmarks/bench_charts.py [--repeats 30])

Each rerun of a page rebuilds its charts and hands them to Streamlit. An Altair chart is converted
to Vega-Lite on the way (`streamlit.elements.vega_charts._convert_altair_to_vega_lite_spec`, which
calls `alt.Chart.to_dict()` and so validates the chart against the Vega-Lite JSON schema); a dict
goes as it is. Both then ship their data as Arrow. Three charts of the kinds the pages draw, each
built and handed over both ways (`st.altair_chart(build())` against `ui.vega.draw(build())`, bare
mode, no browser):

1. a 200-point line chart (two metrics over 100 steps, as ui.live draws a training run);
2. a 30 × 30 heatmap with token labels (ui.heatmaps.spec, the attention page's kind);
3. faceted small multiples: 12 heatmaps of 16 × 16 sharing a colour scale (ui.heatmaps.small_multiples_spec).

The contenders are interleaved round by round (benchmarks.timing.race), 30 rounds after a warm-up;
the verdict is the median CPU milliseconds per chart (CPU time: another process's load stretches
wall time, not this process's CPU time). Writes benchmarks/results/charts.json.
"""

import argparse
import json
import logging
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import altair as alt  # noqa: E402  (only here: the lab's pages and ui/ draw dicts)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from benchmarks.timing import race  # noqa: E402
from ui import heatmaps, vega  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "charts.json"


def line_data() -> pd.DataFrame:
    steps = np.arange(1, 101)
    return pd.DataFrame({"step": np.tile(steps, 2), "metric": np.repeat(["loss", "test_loss"], 100),
                         "value": np.concatenate([1 / np.sqrt(steps), 1.1 / np.sqrt(steps) + 0.05])})


def matrix(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random((n, n))
    return m / m.sum(1, keepdims=True)


# ----------------------------------------------------------------------------- the same charts, both ways


def altair_line(df: pd.DataFrame) -> alt.Chart:
    return alt.Chart(df, height=220).mark_line().encode(
        x="step:Q", y=alt.Y("value:Q", title=None), color="metric:N",
        tooltip=["step", "metric", alt.Tooltip("value:Q", format=".4g")])


def dict_line(df: pd.DataFrame) -> dict:
    return vega.lines(df, "step:Q", vega.field("value:Q", title=None), "metric:N", height=220,
                      tooltip=["step:Q", "metric:N", vega.field("value:Q", format=".4g")])


def altair_heatmap(m: np.ndarray, names: list[str]) -> alt.Chart:
    df = heatmaps.frame(m, names, names)
    return alt.Chart(df, height=20 * len(names)).mark_rect().encode(
        x=alt.X("col:N", sort=names, title="key"), y=alt.Y("row:N", sort=names, title="query"),
        color=alt.Color("value:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="weight"),
        tooltip=[alt.Tooltip("row:N", title="query"), alt.Tooltip("col:N", title="key"), alt.Tooltip("value:Q", format=".3f")])


def dict_heatmap(m: np.ndarray, names: list[str]) -> dict:
    return heatmaps.spec(m, names, names, domain=[0, 1], value_title="weight")


def altair_facets(stack: np.ndarray, panels: list[str], names: list[str]) -> alt.FacetChart:
    df = heatmaps.frame(stack, names, names, panels=panels)
    hidden = alt.Axis(labels=False, ticks=False)
    base = alt.Chart(df).mark_rect().encode(
        x=alt.X("col:N", sort=names, title=None, axis=hidden), y=alt.Y("row:N", sort=names, title=None, axis=hidden),
        color=alt.Color("value:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="weight"),
        tooltip=["panel", "row", "col", alt.Tooltip("value:Q", format=".3f")]).properties(width=120, height=120)
    return base.facet(facet=alt.Facet("panel:N", sort=panels, title=None), columns=6)


def dict_facets(stack: np.ndarray, panels: list[str], names: list[str]) -> dict:
    return heatmaps.small_multiples_spec(stack, panels, names, names, size=120, domain=[0, 1], value_title="weight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # bare mode warns on every call that no app is running

    df = line_data()
    names30 = heatmaps.labels([f"tok{i}" for i in range(30)])
    m30 = matrix(30)
    names16 = heatmaps.labels([f"t{i}" for i in range(16)])
    stack = np.stack([matrix(16, seed) for seed in range(12)])
    panels = [f"head {h}" for h in range(12)]
    charts = {
        "line, 200 points": (lambda: st.altair_chart(altair_line(df), width="stretch"), lambda: vega.draw(dict_line(df))),
        "heatmap, 30 × 30": (lambda: st.altair_chart(altair_heatmap(m30, names30), width="stretch"),
                             lambda: vega.draw(dict_heatmap(m30, names30))),
        "small multiples, 12 × (16 × 16)": (lambda: st.altair_chart(altair_facets(stack, panels, names16)),
                                            lambda: vega.draw(dict_facets(stack, panels, names16), width="content")),
    }
    contenders = {f"{chart} | {way}": fn for chart, pair in charts.items() for way, fn in zip(("altair", "dict"), pair)}
    times = race(contenders, repeats=args.repeats, warmup=2)

    rows = {}
    for chart in charts:
        a, d = times[f"{chart} | altair"], times[f"{chart} | dict"]
        rows[chart] = {"altair_cpu_ms": round(1000 * a.cpu_s, 2), "dict_cpu_ms": round(1000 * d.cpu_s, 2),
                       "altair_wall_ms": round(1000 * a.wall_s, 2), "dict_wall_ms": round(1000 * d.wall_s, 2),
                       "altair_over_dict_cpu": round(a.cpu_s / max(d.cpu_s, 1e-9), 1)}
        print(f"{chart:34s} altair {rows[chart]['altair_cpu_ms']:7.2f} ms CPU   dict {rows[chart]['dict_cpu_ms']:6.2f} ms CPU"
              f"   ({rows[chart]['altair_over_dict_cpu']}×)")
    out = {"what": "median CPU (and wall) milliseconds to build a chart and hand it to Streamlit (bare mode), "
                   f"Altair object vs Vega-Lite dict, {args.repeats} interleaved rounds",
           "charts": rows,
           "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                       "python": platform.python_version(), "streamlit": st.__version__, "altair": alt.__version__}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
