import numpy as np
import pandas as pd
import streamlit as st

from core.foundations import linear_algebra as la
from ui import state
from ui.page import friendly_errors, header, show_code
from ui.vega import draw, field, values

header(
    "📐 Matrices as transformations",
    "A 2 × 2 matrix is a function of the plane: it sends every point **x** to **Ax**. Its two columns say where the "
    "basis arrows e₁ and e₂ land, and that fixes everything else: grid lines stay straight, parallel and evenly "
    "spaced, and the unit circle becomes an ellipse. Pick a preset, then edit the four numbers.",
)

ENTRIES = ("la.a", "la.b", "la.c", "la.d")
DEFAULT = next(iter(la.PRESETS))
if state.recall("la.a") is None:  # first visit: the default preset's numbers in the four boxes
    for key, v in zip(ENTRIES, la.PRESETS[DEFAULT]):
        state.remember(key, float(v))


def load_preset() -> None:
    for key, v in zip(ENTRIES, la.PRESETS[state.recall("la.preset")]):
        state.remember(key, round(float(v), 4))


# one colour per meaning, the same in every chart of the page
WHAT = ["grid before", "grid after A", "unit circle → ellipse", "unit square → parallelogram (det > 0)",
        "unit square → parallelogram (det < 0)", "Ae₁ and Ae₂ (the columns)", "eigenvector directions"]
COLOURS = ["#d9d9d9", "#4c78a8", "#f58518", "#54a24b", "#e45756", "#222222", "#b279a2"]
colour = field("what:N", scale={"domain": WHAT, "range": COLOURS}, title=None, legend={"orient": "bottom", "columns": 2, "labelLimit": 0})
PLOT = {"autosize": {"type": "pad"}}  # width and height are the plot itself, so one unit looks as long on x as on y


def square_axes(limit: float, title_x: str | None = "x", title_y: str | None = "y") -> dict:
    scale = {"domain": [-limit, limit], "nice": False}
    return {"x": field("x:Q", scale=scale, title=title_x), "y": field("y:Q", scale=scale, title=title_y)}


def arrow_layers(frame: pd.DataFrame, axes: dict, colour_enc: dict, size: int = 90) -> list[dict]:
    """A shaft (rule from tail to tip) and a head (a triangle turned along the arrow) per row."""
    return [
        {"data": values(frame), "mark": {"type": "rule", "strokeWidth": 2.5},
         "encoding": {"x": {**axes["x"], "field": "x0"}, "y": {**axes["y"], "field": "y0"}, "x2": field("x:Q"), "y2": field("y:Q"),
                      "color": colour_enc}},
        {"data": values(frame), "mark": {"type": "point", "shape": "triangle-up", "filled": True, "size": size, "opacity": 1},
         "encoding": {**axes, "angle": field("heading:Q", scale={"domain": [-360, 360], "range": [-360, 360]}), "color": colour_enc,
                      "tooltip": [field("name:N"), field("x:Q", format=".3f"), field("y:Q", format=".3f")]}},
    ]


st.selectbox("Start from a preset", list(la.PRESETS), key="la.preset", on_change=load_preset)
c = st.columns(4)
labels = ("a (top left)", "b (top right)", "c (bottom left)", "d (bottom right)")
entries = [c[i].number_input(labels[i], -5.0, 5.0, step=0.1, format="%.3f", key=key) for i, key in enumerate(ENTRIES)]

with friendly_errors():
    A = la.matrix(*entries)
    info = state.cached(la.analyse)(A)
    st.latex(rf"A = {la.latex_matrix(A)},\qquad \det A = ad - bc = {info.det:.4g}")

    lines = la.grid_lines(A)
    circle = la.unit_circle()
    after = A @ circle
    limit = float(max(2.4, np.abs(lines[["x", "y"]].to_numpy()).max() * 1.05, np.abs(after).max() * 1.05))
    axes = square_axes(limit)
    lines["what"] = np.where(lines.stage == "before", "grid before", "grid after A")
    curves = pd.DataFrame({"t": np.arange(circle.shape[1]), "x": after[0], "y": after[1], "what": "unit circle → ellipse"})
    square = la.unit_square(A).assign(what=WHAT[3] if info.det >= 0 else WHAT[4])
    columns = la.arrows({"Ae₁": A[:, 0], "Ae₂": A[:, 1]}).assign(what="Ae₁ and Ae₂ (the columns)")
    layers = [
        {"data": values(square), "mark": {"type": "line", "fillOpacity": 0.3, "strokeWidth": 1.5},  # a closed path, filled: a polygon
         "encoding": {**axes, "order": field("t:Q"), "color": colour, "fill": colour}},
        {"data": values(lines), "mark": {"type": "line", "clip": True},
         "encoding": {**axes, "detail": field("line:N"), "order": field("t:Q"), "color": colour,
                      "strokeWidth": {"condition": {"test": "datum.axis", "value": 2.2}, "value": 0.9}}},
        {"data": values(curves), "mark": {"type": "line", "strokeWidth": 2.5},
         "encoding": {**axes, "order": field("t:Q"), "color": colour}},
    ]
    eig = info.eigen
    if eig.kind != "complex":  # an eigenvector's whole line stays put: draw it across the plot
        ends = pd.concat([pd.DataFrame({"line": i, "x": [-v[0] * limit * 2, v[0] * limit * 2], "y": [-v[1] * limit * 2, v[1] * limit * 2],
                                        "t": [0, 1], "what": "eigenvector directions"})
                          for i, v in enumerate(np.real(eig.vectors).T)])
        layers.append({"data": values(ends), "mark": {"type": "line", "strokeDash": [6, 4], "strokeWidth": 2, "clip": True},
                       "encoding": {**axes, "detail": field("line:N"), "order": field("t:Q"), "color": colour}})
    layers += arrow_layers(columns, axes, colour)

    m = st.columns(4)
    m[0].metric("Determinant", f"{info.det:.4g}")
    m[1].metric("Rank", info.rank)
    if eig.kind == "complex":
        m[2].metric("Eigenvalues λ", f"{eig.values[0].real:.3g} ± {abs(eig.values[0].imag):.3g}i")
    else:
        m[2].metric("Eigenvalues λ", f"{eig.values[0].real:.3g}, {eig.values[1].real:.3g}")
    m[3].metric("Singular values σ", f"{info.svd.singular_values[0]:.3g}, {info.svd.singular_values[1]:.3g}")
    left, right = st.columns([3, 2])
    draw({"title": "The plane before (grey) and after A", "width": 460, "height": 460, "layer": layers, **PLOT}, left, width="content")
    with right:
        st.markdown(f"**Area.** {info.area}")
        st.markdown(f"**Eigenvectors.** {eig.explanation}")
        if info.inverse is None:
            st.info("No inverse: A sends different points to the same place, so nothing can tell them apart again. "
                    "Eigenvalue 0 means a whole direction is crushed to the origin.", icon="🫓")
        else:
            st.latex(r"A^{-1} = \frac{1}{\det A}\begin{pmatrix} d & -b \\ -c & a \end{pmatrix}")
            st.latex(rf"A^{{-1}} = {la.latex_matrix(info.inverse)}")
        st.latex(r"A\mathbf{v} = \lambda\mathbf{v} \;\Rightarrow\; \lambda^2 - (a+d)\lambda + \det A = 0")

    st.subheader("The SVD: every matrix is turn → stretch → turn")
    st.markdown("Any matrix can be written **A = U Σ Vᵀ**: Vᵀ turns the plane (so the input directions v₁, v₂ that A stretches "
                "most and least lie on the axes), Σ stretches along the axes by the singular values σ₁ ≥ σ₂ ≥ 0, and U turns the result "
                "into place. Follow the circle and the two arrows v₁, v₂ through each step.")
    steps, tips, svd = state.cached(la.svd_steps)(A)
    reach = float(max(1.2, svd.singular_values[0] * 1.1))
    small_axes = square_axes(reach, title_x=None, title_y=None)  # four panels side by side: no room for axis titles or legends
    arrow_colour = field("arrow:N", scale={"domain": ["v₁ (→ σ₁u₁)", "v₂ (→ σ₂u₂)"], "range": ["#e45756", "#4c78a8"]}, legend=None)
    panels = st.columns(4)
    for panel, name in zip(panels, steps.step.unique()):
        arrows = la.arrows({r.arrow: np.array([r.x, r.y]) for r in tips[tips.step == name].itertuples()}).rename(columns={"name": "arrow"})
        layers = [{"data": values(steps[steps.step == name]), "mark": {"type": "line", "color": COLOURS[2], "strokeWidth": 2},
                   "encoding": {**small_axes, "order": field("t:Q")}}]
        layers += arrow_layers(arrows, small_axes, arrow_colour, size=60)
        draw({"title": name, "width": 180, "height": 180, "layer": layers, **PLOT}, panel, width="content")
    U, S, Vt = svd.U, svd.singular_values, svd.Vt
    st.latex(rf"A = \underbrace{{{la.latex_matrix(U, '.3f')}}}_{{U}}\underbrace{{{la.latex_matrix(svd.S, '.3f')}}}_{{\Sigma}}"
             rf"\underbrace{{{la.latex_matrix(Vt, '.3f')}}}_{{V^\top}}")
    st.caption("Red arrow: v₁, the input direction A stretches most (it ends as σ₁u₁). Blue arrow: v₂, the one it stretches "
               "least (it ends as σ₂u₂).")
    if svd.reflection:
        st.caption("det A < 0, so one of the turns must be a mirror: here U is a rotation followed by a reflection (det U = −1).")
    if S[1] == 0 or info.rank < 2:
        st.caption("σ₂ = 0: the stretch step flattens the circle onto a line segment, which is what a singular matrix does.")
    show_code(la.eigen, la.svd_2x2, la.determinant)

st.subheader("Vectors: dot product, length, projection")
c = st.columns(4)
u = np.array([c[0].number_input("u₁", -5.0, 5.0, 2.0, 0.1, key="la.u1"), c[1].number_input("u₂", -5.0, 5.0, 1.5, 0.1, key="la.u2")])
v = np.array([c[2].number_input("v₁", -5.0, 5.0, 3.0, 0.1, key="la.v1"), c[3].number_input("v₂", -5.0, 5.0, 0.0, 0.1, key="la.v2")])
with friendly_errors():
    facts = state.cached(la.vectors)(u, v)
    tips, tails = {}, {}
    if facts.projection is not None:  # drawn first, so u's and v's arrowheads stay on top
        tips["u − projection (⟂ v)"] = u
        tails["u − projection (⟂ v)"] = facts.projection
        tips["projection of u on v"] = facts.projection
    tips.update({"v": v, "u": u})
    frame = la.arrows(tips, tails)
    reach = float(max(1.0, np.abs(frame[["x", "y", "x0", "y0"]].to_numpy()).max() * 1.15))
    names = ["u", "v", "projection of u on v", "u − projection (⟂ v)"]
    vec_colour = field("name:N", scale={"domain": names, "range": ["#f58518", "#4c78a8", "#54a24b", "#b279a2"]}, title=None,
                       legend={"orient": "bottom", "columns": 2, "labelLimit": 0})
    left, right = st.columns([1, 1])
    draw({"width": 360, "height": 360, "layer": arrow_layers(frame, square_axes(reach), vec_colour), **PLOT}, left, width="content")
    with right:
        m = st.columns(3)
        m[0].metric("u · v", f"{facts.dot:.4g}")
        m[1].metric("Angle between", "undefined" if facts.angle_degrees is None else f"{facts.angle_degrees:.1f}°")
        m[2].metric("cos θ", "undefined" if facts.cosine is None else f"{facts.cosine:.3f}")
        st.dataframe(pd.DataFrame({"vector": ["u", "v"], **{k: [facts.norms_u[k], facts.norms_v[k]] for k in facts.norms_u}}),
                     hide_index=True, width="stretch")
        if facts.projection is None:
            st.info("v is the zero vector: it has no direction, so nothing can be projected onto it and no angle exists.", icon="ℹ️")
        else:
            st.markdown(f"Projection of u on v: ({facts.projection[0]:.3g}, {facts.projection[1]:.3g}); what is left over, "
                        f"({facts.residual[0]:.3g}, {facts.residual[1]:.3g}), is perpendicular to v (their dot product is "
                        f"{float(facts.residual @ v):.1g}).")
        st.latex(r"u\cdot v = \sum_i u_i v_i = \lVert u\rVert_2 \lVert v\rVert_2 \cos\theta,\qquad "
                 r"\operatorname{proj}_v u = \frac{u\cdot v}{v\cdot v}\,v")
        st.latex(r"\lVert x\rVert_1 = \sum_i |x_i|,\quad \lVert x\rVert_2 = \sqrt{\textstyle\sum_i x_i^2},\quad "
                 r"\lVert x\rVert_\infty = \max_i |x_i|")
    show_code(la.vectors)
