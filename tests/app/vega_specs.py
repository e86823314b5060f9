"""Read back what a page drew with ui.vega: each chart's Vega-Lite spec and the tables it shipped.

    for chart in charts(at): chart.title, chart.spec["encoding"], chart.frames["data0"]
"""

import json
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest


@dataclass
class Chart:
    spec: dict
    frames: dict[str, pd.DataFrame]  # the DataFrames `draw` shipped as Arrow, by dataset name

    @property
    def title(self) -> str:
        title = self.spec.get("title", "")
        return title.get("text", "") if isinstance(title, dict) else title

    def frame(self, i: int = 0) -> pd.DataFrame:
        return list(self.frames.values())[i]

    def layers(self) -> list[dict]:
        """The spec's layers (the spec itself when it has none)."""
        return self.spec.get("layer", [self.spec])


def charts(at: AppTest) -> list[Chart]:
    out = []
    for element in at.get("vega_lite_chart"):
        frames = {d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in element.proto.datasets}
        out.append(Chart(json.loads(element.proto.spec), frames))
    return out


def chart(at: AppTest, title: str) -> Chart:
    """The chart whose title starts with `title`."""
    return next(c for c in charts(at) if c.title.startswith(title))
