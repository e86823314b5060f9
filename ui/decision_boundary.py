"""A 2-D classifier as the playground draws it: its decision regions behind the points, live.

    decision_boundary.view(trainer)    # metrics, the regions with the points, the loss curves,
                                       # the network as a diagram and what each hidden neuron computes
"""

import numpy as np
import pandas as pd
import streamlit as st

from core.nn import mlp, playground
from ui.vega import chart, draw, field, layers, lines

LIMIT = 1.3  # the points lie in [-1, 1]²; a margin around them


def points(split: mlp.Split) -> pd.DataFrame:
    """Training and test points in one table (x, y, class, set)."""
    return pd.concat([pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "class": y.astype(str), "set": name})
                      for X, y, name in ((split.X_train, split.y_train, "train"), (split.X_test, split.y_test, "test"))])


def class_legend(names: list[str] | None, n_classes: int) -> dict:
    """The class legend: on top, one entry per class, named (an uploaded file's labels) or numbered."""
    names = names or [str(k) for k in range(n_classes)]
    labels = " : ".join(f"datum.label == '{k}' ? {name!r}" for k, name in enumerate(names)) + " : datum.label"
    return {"title": "class", "orient": "top", "direction": "horizontal", "labelExpr": labels, "labelLimit": 160}


def spec(regions: pd.DataFrame, split: mlp.Split, size: int = 440, names: list[str] | None = None) -> dict:
    """The regions (colour = predicted class, strength = its probability) under the points
    (filled by class; ringed white in training, black in test), with a legend of the classes."""
    classes = {"domain": [str(k) for k in range(split.n_classes)], "scheme": "tableau10"}  # one colour per class, both layers
    axis = {"domain": [-LIMIT, LIMIT], "clamp": True}
    return layers(
        chart(regions, "rect", x=field("x:Q", scale=axis, title="x₁"), x2="x2:Q", y=field("y:Q", scale=axis, title="x₂"), y2="y2:Q",
              color=field("class:N", scale=classes, legend=None),  # the points' legend names the classes
              opacity=field("probability:Q", scale={"domain": [1 / split.n_classes, 1], "range": [0.0, 0.55]}, legend=None)),
        chart(points(split), {"type": "circle", "size": 28, "opacity": 0.95, "strokeWidth": 1}, x="x:Q", y="y:Q",
              color=field("class:N", scale=classes, legend=class_legend(names, split.n_classes)),
              stroke=field("set:N", scale={"domain": ["train", "test"], "range": ["white", "black"]},
                           legend={"title": "points (ring)", "orient": "top", "direction": "horizontal",
                                   # a grey dot: the ring is what this legend tells apart, not a class's colour
                                   "symbolFillColor": "#999999", "symbolStrokeWidth": 2})),
        width=size, height=size, resolve={"legend": {"color": "independent"}})  # else the regions' None hides the class legend


def network_dot(t: mlp.Trainer) -> str:
    """The network as Graphviz DOT, left to right: inputs, hidden neurons, one output per class; an edge
    per weight, its width ∝ |w| (solid dark: w > 0, dashed grey: w < 0)."""
    sizes = [t.data.X_train.shape[1], *t.config.hidden, t.data.n_classes]
    names = [[f"x{k + 1}" for k in range(sizes[0])], *[[f"h{i}.{k + 1}" for k in range(w)] for i, w in enumerate(t.config.hidden, 1)],
             [f"class {k}" for k in range(sizes[-1])]]
    lines_ = ['digraph { rankdir=LR; ordering=out; splines=line; nodesep=0.08; ranksep=0.9; bgcolor="transparent";',
              'node [shape=circle, width=0.42, fixedsize=true, fontsize=9, style=filled, fillcolor="#f4f4f4", color="#888888"];',
              'edge [arrowhead=none];']
    for layer in names:
        lines_.append("{ rank=same; " + " ".join(f'"{n}"' for n in layer) + " }")
    weights = t.model.weights
    biggest = max((float(np.nanmax(np.abs(W))) for W in weights if W.size), default=1.0) or 1.0
    for W, before, after in zip(weights, names[:-1], names[1:]):
        for i, a in enumerate(before):
            for j, b in enumerate(after):
                w = float(np.nan_to_num(W[i, j]))
                style = 'color="#222222"' if w > 0 else 'color="#aaaaaa", style=dashed'
                lines_.append(f'"{a}" -> "{b}" [penwidth={0.2 + 3.5 * abs(w) / biggest:.2f}, {style}, tooltip="w = {w:.3f}"];')
    return "\n".join(lines_ + ["}"])


def neuron_maps_spec(maps: pd.DataFrame, room: int = 440) -> dict:
    """Small squares, one per hidden neuron, a row per layer: its activation over the plane. The widest
    layer's squares share `room` pixels (up to 56 px each), the legend goes underneath: nothing is cut off."""
    size = int(np.clip(room // maps.neuron.max() - 4, 6, 56))
    bound = max(float(maps.h.abs().max()), 1e-9)
    return {"data": maps, "mark": "rect",
            "encoding": {"x": field("x:Q", axis=None), "x2": {"field": "x2"}, "y": field("y:Q", axis=None), "y2": {"field": "y2"},
                         "color": field("h:Q", title="activation h", scale={"scheme": "greys", "domain": [-bound, bound] if
                                                                             (maps.h < 0).any() else [0, bound]},
                                        legend={"orient": "bottom", "direction": "horizontal", "gradientLength": 160}),
                         "row": field("layer:O", title="hidden layer", header={"labelFontSize": 12}),
                         "column": field("neuron:O", title="neuron", header={"labelFontSize": 11})},
            "width": size, "height": size, "spacing": 4}


def view(t: mlp.Trainer, names: list[str] | None = None) -> None:
    """Where a playground trainer stands: its metrics, its decision regions and its loss curves, then
    the network diagram and each hidden neuron's map."""
    h, d = t.history, t.data
    if h.diverged:
        st.warning(f"Training diverged at epoch {h.steps[-1]}: {mlp.why_diverged(h, d.n_classes)}. The steps "
                   "overshoot: lower the learning rate, then Reset.", icon="💥")
    now = t.latest()
    cols = st.columns(5)
    cols[0].metric("Epoch", f"{t.epoch:,}")
    cols[1].metric("Train loss", f"{now['loss']:.4f}")
    cols[2].metric("Test loss", f"{now['test_loss']:.4f}")
    cols[3].metric("Test accuracy", f"{now['test_acc']:.1%}")
    cols[4].metric("Epochs / s", f"{h.last('steps_per_s'):,.0f}" if h.steps else "–",
                   help="Full passes over the training set per second (each pass: forward, backward and update per batch).")
    left, right = st.columns([3, 2])
    draw(spec(playground.boundary(t.model, LIMIT), d, names=names), left, width="content")
    if h.steps:
        curves = h.frame()
        curves = curves[curves.metric.isin(["loss", "test_loss"]) & np.isfinite(curves.value)]
        draw(lines(curves.replace({"loss": "train loss", "test_loss": "test loss"}), field("step:Q", title="epoch"),
                   field("value:Q", title="loss"), field("metric:N", title=None, legend={"orient": "top"},
                                                         scale={"domain": ["train loss", "test loss"], "range": ["#222222", "#9a9a9a"]}),
                   height=300), right)  # greys: the class colours keep their one meaning
    else:
        right.info("Press Play (or Step) to train.", icon="▶️")
    right.caption(f"{len(d.X_train)} training and {len(d.X_test)} test points, {d.n_classes} classes; network "
                  f"2 → {' → '.join(map(str, t.config.hidden)) or '(no hidden layer)'} → {d.n_classes} (softmax), "
                  f"{sum(p.size for p in t.model.params):,} parameters.")
    st.markdown("**Inside the network**")
    diagram, maps = st.columns([2, 3])
    diagram.graphviz_chart(network_dot(t), width="stretch")
    diagram.caption("Each line is a weight, as thick as it is large: solid dark for w > 0, dashed grey for w < 0.")
    if t.config.hidden:
        draw(neuron_maps_spec(playground.neuron_maps(t.model, LIMIT)), maps, width="content")
        maps.caption("What each hidden neuron computes over the same plane (x₁ across, x₂ up): its activation h. "
                     "The output layer mixes these maps into the decision regions above.")
    else:
        maps.info("No hidden layer: the classes are split by straight lines (logistic regression).", icon="📏")
