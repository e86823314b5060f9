import pandas as pd
import streamlit as st

from core.foundations import classical_demo as demo
from core.foundations import kmeans, linear_regression, logistic_regression
from core.foundations.decision_tree import DecisionTree, best_split
from core.foundations.knn import KNearestNeighbours
from core.infra import data
from ui import state
from ui.page import friendly_errors, header, show_code
from ui.vega import draw, field, table_heatmap, values

header(
    "🌳 Classical machine learning",
    "Before neural networks: five models you can write in a page of NumPy each (and the lab did, in `core/foundations/`). "
    "Each runs on 2-D points you can see, so you can watch what it learns: a line through a cloud, a boundary between "
    "two classes, or clusters found without any labels.",
)

LAMBDAS = [0.0, 1e-4, 1e-3, 0.01, 0.1, 1.0]
LRS = [0.001, 0.01, 0.03, 0.1, 0.3, 0.5, 0.9, 1.1, 1.5]
PLOT = {"autosize": {"type": "pad"}}  # width and height are the plot itself: x and y units look alike
AXIS = {"domain": [-demo.LIM, demo.LIM], "nice": False}
CLASSES = field("class:N", scale={"domain": ["0", "1"], "range": demo.CLASS_COLOURS[:2]}, title="class", legend={"orient": "bottom"})


def regions_chart(surface: pd.DataFrame, points: pd.DataFrame, colour: dict, colour_field: str, title: str) -> dict:
    """Shaded regions (stronger = more confident) under the points; circles train, triangles test."""
    x, y = field("x:Q", scale=AXIS, title="x₁"), field("y:Q", scale=AXIS, title="x₂")
    back = {**colour, "field": colour_field, "legend": None}
    layers = [{"mark": "rect", "encoding": {
        "x": x, "x2": field("x2:Q"), "y": y, "y2": field("y2:Q"), "color": back,
        "opacity": field("probability:Q", scale={"domain": [0.5, 1], "range": [0.05, 0.45]}, legend=None)}}]
    shape = (field("split:N", scale={"domain": ["train", "test"], "range": ["circle", "triangle-up"]}, title="points",
                   legend={"orient": "bottom"}) if "split" in points else {"value": "circle"})
    size = field("split:N", scale={"domain": ["train", "test"], "range": [36, 90]}, legend=None) if "split" in points else {"value": 36}
    dots = {"type": "point", "filled": True, "stroke": "white", "strokeWidth": 0.5, "opacity": 0.95}
    layers.append({"data": values(points), "mark": dots,
                   "encoding": {"x": x, "y": y, "color": colour, "shape": shape, "size": size,
                                "tooltip": [field(f"{colour_field}:N"), *([field("predicted:N")] if "predicted" in points else [])]}})
    return {"title": title, "data": surface, "width": 430, "height": 430, "layer": layers, **PLOT}


def data_controls(prefix: str, default: str) -> tuple[str, int, float, int]:
    c = st.columns(4)
    dataset = c[0].selectbox("Points", data.POINT_SETS, index=data.POINT_SETS.index(default), key=f"{prefix}.data")
    n = c[1].slider("How many", 20, 1000, 300, 10, key=f"{prefix}.n")
    noise = c[2].slider("Noise", 0.0, 0.6, 0.25 if prefix == "cl" else 0.1, 0.05, key=f"{prefix}.noise")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key=f"{prefix}.seed")
    return dataset, n, noise, int(seed)


def classifiers(model: str) -> None:
    dataset, n, noise, seed = data_controls("cl", "moons")
    c = st.columns(4)
    test = c[0].slider("Test share", 0.1, 0.9, 0.3, 0.05, key="cl.test")
    kw = {}
    if model == "logistic regression":
        kw["degree"] = c[1].slider("Feature degree", 1, 6, 1, key="cl.degree",
                                   help="1: the features x₁, x₂ (a straight boundary). 2 adds x₁², x₁x₂, x₂² (curves), and so on.")
        kw["l2"] = c[2].select_slider("L2 penalty λ", LAMBDAS, 0.01, key="cl.l2", format_func=lambda v: f"{v:g}")
    elif model == "k-nearest neighbours":
        kw["k"] = c[1].slider("Neighbours k", 1, 300, 15, key="cl.k", help="More than there are training points is refused.")
    else:
        kw["max_depth"] = c[1].slider("Maximum depth", 1, 15, 4, key="cl.depth")
    result = state.cached(demo.classify)(demo.ClassifierConfig(model=model, dataset=dataset, n=n, noise=noise, test_fraction=test,
                                                               seed=seed, **kw))
    m = st.columns(4)
    m[0].metric("Training accuracy", f"{result.train_accuracy:.1%}")
    m[1].metric("Test accuracy", f"{result.test_accuracy:.1%}")
    m[2].metric("Training points", f"{(result.points.split == 'train').sum():,}")
    m[3].metric("Test points", f"{(result.points.split == 'test').sum():,}")
    left, right = st.columns([3, 2])
    draw(regions_chart(result.surface, result.points, CLASSES, "class", f"{model}: predicted class regions"), left, width="content")
    left.caption("Shade: the predicted class, stronger where the model is more sure. Circles: training points; triangles: test points.")
    draw(table_heatmap(pd.DataFrame(result.confusion, index=["0", "1"], columns=["0", "1"]), "Test points: truth × prediction", ".0f",
                       "predicted class", "true class", scheme="greys"), right)
    gap = result.train_accuracy - result.test_accuracy
    right.caption(f"Training accuracy is {abs(gap):.1%} {'above' if gap >= 0 else 'below'} test accuracy"
                  + (": the model has learnt its training points better than the rule (overfitting)." if gap > 0.05 else "."))
    with right:
        if model == "logistic regression":
            draw({"title": {"text": "Weight of each feature", "subtitle": "orange pushes towards class 1, blue towards class 0"},
                  "data": result.weights, "height": {"step": 22}, "mark": "bar", "encoding": {
                      "y": field("feature:N", sort=None, title=None, axis={"labelOverlap": False, "labelLimit": 0}), "x": field("weight:Q"),
                      "color": field("weight:Q", scale={"scheme": "blueorange", "domainMid": 0}, legend=None),
                      "tooltip": [field("feature:N"), field("weight:Q", format=".4f")]}})
            n_train = int((result.points.split == "train").sum())
            st.caption(f"Newton's method took {len(result.history.steps)} steps. C = 1/(λn) = "
                       f"{logistic_regression.sklearn_C(kw['l2'], n_train):.4g} in scikit-learn's terms.")
    if model == "logistic regression":
        st.latex(r"p(y{=}1\mid x) = \sigma(w\cdot\phi(x) + b),\quad L = -\frac1n\sum_i \big[y_i\log p_i + (1-y_i)\log(1-p_i)\big]"
                 r" + \frac{\lambda}{2}\lVert w\rVert^2,\quad \theta \leftarrow \theta - H^{-1}\nabla L")
        show_code(logistic_regression.fit)
    elif model == "k-nearest neighbours":
        st.latex(r"p(c\mid x) = \frac1k\,\#\{\,i \in N_k(x) : y_i = c\,\}")
        show_code(KNearestNeighbours)
    else:
        if result.tree_dot:
            st.graphviz_chart(result.tree_dot)
        else:
            st.info(f"The tree has more than 63 nodes (depth {result.model.depth}): too many to draw legibly. Lower the depth to see it.")
        st.latex(r"\mathrm{Gini}(S) = 1 - \sum_c p_c^2,\qquad \text{split cost} = \frac{n_L\,\mathrm{Gini}(L) + n_R\,\mathrm{Gini}(R)}{n}")
        show_code(best_split, DecisionTree)


def clustering() -> None:
    dataset, n, noise, seed = data_controls("km", "gaussians")
    c = st.columns(4)
    true = c[0].slider("Blobs in the data (gaussians, spiral)", 2, 6, 3, key="km.true")
    k = c[1].slider("Clusters k", 1, 10, 3, key="km.k")
    init = c[2].radio("Start", ["k-means++", "random points"], key="km.init", horizontal=True)
    config = demo.ClusterConfig(dataset=dataset, n=n, noise=noise, true_clusters=true, k=k, init=init, seed=seed)
    result = state.cached(demo.cluster)(config)
    step = c[3].slider("Show after step", 0, max(result.steps, 1), result.steps, key=f"km.step.{result.steps}",
                       disabled=result.steps == 0)
    points, path, regions, inertia = result.at_step(step)
    m = st.columns(3)
    m[0].metric("Lloyd steps until nothing changed", result.steps)
    m[1].metric(f"Inertia after step {step}", f"{inertia:.3f}")
    m[2].metric("Converged", "yes" if result.result.converged else "no (step limit)")
    clusters = [str(i) for i in range(k)]
    colour = field("cluster:N", scale={"domain": clusters, "range": (demo.CLASS_COLOURS * 2)[:k]}, title="cluster",
                   legend={"orient": "bottom"})
    chart = regions_chart(regions, points, colour, "cluster", f"k-means, k = {k}: clusters after step {step}")
    x, y = field("x:Q", scale=AXIS), field("y:Q", scale=AXIS)
    chart["layer"] += [
        {"data": values(path), "mark": {"type": "line", "color": "black", "strokeWidth": 1.5}, "encoding": {
            "x": x, "y": y, "detail": field("cluster:N"), "order": field("step:Q")}},
        {"data": values(path[path.step == step]), "mark": {"type": "point", "shape": "cross", "size": 260, "filled": True,
                                                          "stroke": "black", "strokeWidth": 1},
         "encoding": {"x": x, "y": y, "color": colour,
                      "tooltip": [field("cluster:N"), field("x:Q", format=".3f"), field("y:Q", format=".3f")]}},
    ]
    left, right = st.columns([3, 2])
    draw(chart, left, width="content")
    left.caption("Shade: the region nearest to each centre. Crosses: the centres; black lines: where each centre has been. "
                 "Colours are cluster numbers, which k-means makes up: they need not match any class.")
    history = result.result.history
    inertia_steps = pd.DataFrame({"step": history.steps, "inertia": history.metrics["inertia"]})
    draw({"title": "Inertia Σ‖xᵢ − μ(cᵢ)‖² after each step", "height": 250, "layer": [
        {"data": values(inertia_steps), "mark": {"type": "line", "point": {"color": "#222222"}, "color": "#222222"},
         "encoding": {"x": field("step:Q", axis={"tickMinStep": 1}), "y": field("inertia:Q", scale={"zero": False})}},
        {"data": {"values": [{"step": max(step, 1)}]}, "mark": {"type": "rule", "strokeDash": [4, 3]},
         "encoding": {"x": field("step:Q")}}]}, right)
    right.caption("Every assign step and every update step can only lower the inertia, so Lloyd's algorithm always stops; where it "
                  "stops depends on the start (try seeds with random points).")
    st.latex(r"c_i = \arg\min_j \lVert x_i - \mu_j\rVert^2,\qquad \mu_j = \frac{1}{|\{i: c_i = j\}|}\sum_{i:\,c_i=j} x_i")
    show_code(kmeans.fit)


def regression() -> None:
    c = st.columns(4)
    slope = c[0].slider("True slope", -3.0, 3.0, 1.5, 0.1, key="lr.slope")
    intercept = c[1].slider("True intercept", -2.0, 2.0, -0.5, 0.1, key="lr.intercept")
    noise = c[2].slider("Noise σ", 0.0, 2.0, 0.5, 0.1, key="lr.noise")
    spread = c[3].slider("Spread of x", 0.2, 5.0, 1.0, 0.1, key="lr.spread",
                         help="Wider x makes the loss surface a narrow valley: one learning rate can't suit both w and b.")
    c = st.columns(4)
    n = c[0].slider("Points", 2, 500, 40, key="lr.n")
    lr = c[1].select_slider("Learning rate", LRS, 0.1, key="lr.lr")
    steps = c[2].slider("Gradient-descent steps", 1, 500, 50, key="lr.steps")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key="lr.seed")
    result = state.cached(demo.line)(demo.LineConfig(n=n, slope=slope, intercept=intercept, noise=noise, x_spread=spread, lr=lr,
                                                     steps=steps, seed=int(seed)))
    closed, descent = result.closed, result.descent
    m = st.columns(4)
    m[0].metric("Closed form: w, b", f"{closed.weights[0]:.3f}, {closed.bias:.3f}")
    m[1].metric("Its mean squared error", f"{closed.history.last('loss'):.4f}")
    if result.diverging:
        m[2].metric("Gradient descent", f"diverged at step {descent.history.steps[-1]}" if descent.history.diverged else "diverging",
                    help=None if descent.history.diverged else f"after {steps} steps: w = {descent.weights[0]:.3g}, b = {descent.bias:.3g}")
        st.warning(f"Gradient descent diverged: each step overshoots the valley by more than the last. On these points any learning "
                   f"rate above {result.max_stable_lr:.3g} (2 / the steepest curvature of the loss) does; lower it, or narrow the "
                   "spread of x.", icon="💥")
    else:
        m[2].metric("Gradient descent: w, b", f"{descent.weights[0]:.3f}, {descent.bias:.3f}")
        m[3].metric("Its mean squared error", f"{descent.history.last('loss'):.4f}",
                    f"{descent.history.last('loss') - closed.history.last('loss'):+.2g} vs closed form", delta_color="inverse")
    left, right = st.columns(2)
    fits = field("fit:N", scale={"range": ["#222222", "#e45756"]}, title=None, legend={"orient": "bottom", "labelLimit": 0})
    draw({"title": "Points and the two fitted lines", "height": 360, "padding": {"right": 20}, "layer": [
        {"data": values(result.points), "mark": {"type": "point", "filled": True, "color": "#4c78a8", "opacity": 0.7},
         "encoding": {"x": field("x:Q"), "y": field("y:Q")}},
        {"data": values(result.lines), "mark": {"type": "line", "strokeWidth": 2.5},
         "encoding": {"x": field("x:Q"), "y": field("y:Q"), "color": fits, "strokeDash": field("fit:N", legend=None)}}]}, left)
    free = {"nice": False, "zero": False}
    w, b = field("w:Q", title="slope w", scale=free), field("b:Q", title="intercept b", scale=free)
    draw({"title": {"text": "Mean squared error over (w, b)", "subtitle": "red: gradient descent's path"}, "height": 360,
          "data": result.surface, "layer": [
        {"mark": "rect", "encoding": {
            "x": w, "x2": field("w2:Q"), "y": b, "y2": field("b2:Q"),
            "color": field("loss:Q", scale={"type": "log", "scheme": "viridis", "reverse": True}, title="MSE")}},
        {"data": values(result.path), "mark": {"type": "line", "color": "#e45756", "point": {"color": "#e45756", "size": 18}, "clip": True},
         "encoding": {"x": field("w:Q"), "y": field("b:Q"), "order": field("step:Q"),
                      "tooltip": [field("step:Q"), field("loss:Q", format=".4f")]}},
        {"data": {"values": [{"w": float(closed.weights[0]), "b": closed.bias}]},
         "mark": {"type": "point", "shape": "diamond", "size": 160, "filled": True, "color": "white", "stroke": "black"},
         "encoding": {"x": field("w:Q"), "y": field("b:Q")}}]}, right)
    right.caption("White diamond: the closed-form minimum. The path starts at (0, 0).")
    st.latex(r"L(w,b) = \frac1n\sum_i (w x_i + b - y_i)^2,\qquad \theta^\star = (X^\top X)^{-1}X^\top y,\qquad "
             r"\theta \leftarrow \theta - \eta\,\frac2n X^\top(X\theta - y)")
    show_code(linear_regression.closed_form, linear_regression.fit)


CHOICES = {"Linear regression": None, "Logistic regression": "logistic regression", "k-nearest neighbours": "k-nearest neighbours",
           "Decision tree": "decision tree", "k-means clustering": None}
choice = st.radio("Model", list(CHOICES), horizontal=True, index=1, key="cl.model")
with friendly_errors():
    if choice == "Linear regression":
        regression()
    elif choice == "k-means clustering":
        clustering()
    else:
        classifiers(CHOICES[choice])
