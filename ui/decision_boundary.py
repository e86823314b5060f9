"""A 2-D classifier as the playground draws it: its decision regions behind the points, live.

    decision_boundary.view(trainer)    # metrics, the regions with the points, the loss curves
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


def spec(regions: pd.DataFrame, split: mlp.Split, size: int = 440) -> dict:
    """The regions (colour = predicted class, strength = its probability) under the points
    (filled by class; ringed white in training, black in test)."""
    classes = {"domain": [str(k) for k in range(split.n_classes)], "scheme": "tableau10"}  # one colour per class, both layers
    axis = {"domain": [-LIMIT, LIMIT], "clamp": True}
    return layers(
        chart(regions, "rect", x=field("x:Q", scale=axis, title="x₁"), x2="x2:Q", y=field("y:Q", scale=axis, title="x₂"), y2="y2:Q",
              color=field("class:N", scale=classes, legend=None),
              opacity=field("probability:Q", scale={"domain": [1 / split.n_classes, 1], "range": [0.0, 0.55]}, legend=None)),
        chart(points(split), {"type": "circle", "size": 28, "opacity": 0.95, "strokeWidth": 1}, x="x:Q", y="y:Q",
              color=field("class:N", scale=classes, title="class"),
              stroke=field("set:N", scale={"domain": ["train", "test"], "range": ["white", "black"]}, title="points")),
        width=size, height=size)


def view(t: mlp.Trainer) -> None:
    """Where a playground trainer stands: its metrics, its decision regions and its loss curves."""
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
    draw(spec(playground.boundary(t.model, LIMIT), d), left, width="content")
    if h.steps:
        curves = h.frame()
        curves = curves[curves.metric.isin(["loss", "test_loss"]) & np.isfinite(curves.value)]
        draw(lines(curves.replace({"loss": "train loss", "test_loss": "test loss"}), field("step:Q", title="epoch"),
                   field("value:Q", title="loss"), "metric:N", height=300), right)
    else:
        right.info("Press Play (or Step) to train.", icon="▶️")
    right.caption(f"{len(d.X_train)} training and {len(d.X_test)} test points, {d.n_classes} classes; network "
                  f"2 → {' → '.join(map(str, t.config.hidden)) or '(no hidden layer)'} → {d.n_classes} (softmax), "
                  f"{sum(p.size for p in t.model.params):,} parameters.")
