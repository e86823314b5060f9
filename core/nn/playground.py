"""Helpers for the neural-network playground: 2-D data in, decision boundary out.

>>> X, y, names, ranges = points_from_csv(b"x1,x2,label\\n" + b"0,0,a\\n4,2,b\\n" * 5)
>>> X.tolist()[:2], y.tolist()[:2], names, ranges
([[-1.0, -1.0], [1.0, 1.0]], [0, 1], ['a', 'b'], [(0.0, 4.0), (0.0, 2.0)])
>>> parse_widths("8, 8")
(8, 8)
"""

import io

import numpy as np
import pandas as pd

from core.errors import LabError
from core.foundations.evaluation import decision_regions
from core.nn.mlp import MLP

MIN_POINTS = 10  # fewer leaves nothing to hold out for testing
MAX_POINTS = 20_000  # the playground retrains live: more points than this would make every tick slow
MAX_CLASSES = 10
MAX_WIDTH, MAX_LAYERS = 64, 6


def points_from_csv(data: bytes) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple[float, float]]]:
    """An uploaded CSV with columns x1, x2, label (or any three columns in that order) as
    (X scaled into [-1, 1]², integer labels, class names, each column's (min, max) before scaling).
    Bad files raise LabError."""
    try:
        frame = pd.read_csv(io.BytesIO(data))
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise LabError(f"that file is not a readable CSV ({type(e).__name__}); expected columns x1, x2, label") from None
    if {"x1", "x2", "label"} <= set(frame.columns):
        frame = frame[["x1", "x2", "label"]]
    elif frame.shape[1] == 3:
        frame.columns = ["x1", "x2", "label"]
    else:
        raise LabError(f"expected columns x1, x2, label; found {', '.join(map(str, frame.columns)) or 'none'}")
    if frame.isna().any().any():
        bad = int(frame.isna().any(axis=1).sum())
        raise LabError(f"{bad} row(s) have missing values: fill or remove them")
    coords = frame[["x1", "x2"]].apply(pd.to_numeric, errors="coerce")
    if coords.isna().any().any():
        raise LabError("x1 and x2 must be numbers; some are not (e.g. row "
                       f"{int(np.flatnonzero(coords.isna().any(axis=1).to_numpy())[0]) + 2} of the file)")
    infinite = ~np.isfinite(coords.to_numpy(dtype=np.float64)).all(axis=1)
    if infinite.any():  # 'inf', or a number too large for a float: scaling into [-1, 1] would turn it into NaN
        raise LabError(f"x1 and x2 must be finite numbers; row {int(np.flatnonzero(infinite)[0]) + 2} of the file is infinite")
    if len(frame) < MIN_POINTS or len(frame) > MAX_POINTS:
        raise LabError(f"the playground needs between {MIN_POINTS} and {MAX_POINTS:,} points; this file has {len(frame):,}")
    codes, names = pd.factorize(frame["label"].astype(str), sort=True)
    if not 2 <= len(names) <= MAX_CLASSES:
        raise LabError(f"need between 2 and {MAX_CLASSES} classes in 'label'; found {len(names)}")
    X = coords.to_numpy(dtype=np.float64)
    lo, hi = X.min(axis=0), X.max(axis=0)
    X = 2 * (X - lo) / np.where(hi > lo, hi - lo, 1.0) - 1  # into [-1, 1]² like the generated sets
    ranges = [(float(a), float(b)) for a, b in zip(lo, hi)]
    return X, codes.astype(np.int64), [str(n) for n in names], ranges


def parse_widths(text: str, max_width: int = MAX_WIDTH) -> tuple[int, ...]:
    """'8, 8' → (8, 8): the hidden layers' widths. Empty text means no hidden layer."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise LabError(f"hidden layers must be whole numbers separated by commas, like '8, 8' (got '{text}')") from None
    if any(w < 1 for w in widths):
        raise LabError("a hidden layer needs at least one unit (zero units would cut the network in two)")
    if any(w > max_width for w in widths) or len(widths) > MAX_LAYERS:
        raise LabError(f"keep it to at most {MAX_LAYERS} hidden layers of at most {max_width} units, so it trains live")
    return widths


def boundary(model: MLP, lim: float = 1.3, n: int = 50) -> pd.DataFrame:
    """The model's decision regions on an n×n grid over [-lim, lim]² (core.foundations.evaluation.decision_regions),
    the class as text: a class name for the chart's colour legend."""
    tiles = decision_regions(model.predict_proba, (-lim, lim), (-lim, lim), n)
    return tiles.assign(**{"class": tiles["class"].astype(str)})


def neuron_maps(model: MLP, lim: float = 1.3, n: int = 24) -> pd.DataFrame:
    """What every hidden neuron computes over the plane, as TensorFlow Playground draws it: its
    activation h on an n×n grid over [-lim, lim]² (layer, neuron, x, x2, y, y2, h), layers from 1.

    >>> m = MLP([2, 3, 2], "relu", np.random.default_rng(0))
    >>> maps = neuron_maps(m, n=4)
    >>> len(maps), sorted(maps.neuron.unique().tolist()), bool((maps.h >= 0).all())
    (48, [1, 2, 3], True)
    """
    edges = np.linspace(-lim, lim, n + 1)
    i, j = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    centres = np.stack([(edges[i] + edges[i + 1]) / 2, (edges[j] + edges[j + 1]) / 2], 1)
    with np.errstate(all="ignore"):
        _, cache = model.forward(centres)
    frames = [pd.DataFrame({"layer": layer, "neuron": k + 1, "x": edges[i], "x2": edges[i + 1], "y": edges[j], "y2": edges[j + 1],
                            "h": np.nan_to_num(h[:, k])})
              for layer, h in enumerate(cache["h"], start=1) for k in range(h.shape[1])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["layer", "neuron", "x", "x2", "y", "y2", "h"])
