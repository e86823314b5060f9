"""Vectors and 2 × 2 matrices, seen as what they do to the plane.

A matrix is a function: it sends every point x to Ax. Its columns say where the two basis
arrows e₁ = (1, 0) and e₂ = (0, 1) land, and because the map is linear, that fixes everything
else: grid lines stay straight, parallel and evenly spaced, and the unit circle becomes an ellipse.

    determinant   det A = ad − bc          the signed area the unit square becomes (< 0: the plane is flipped)
    eigenvector   A v = λ v                a direction that stays put, only stretched by λ
    SVD           A = U Σ Vᵀ               every matrix is rotate (Vᵀ) → stretch along the axes (Σ) → rotate (U)

Everything here is written out for 2 × 2 matrices, where a formula fits on a line; it equals
numpy's general routines (tests/core/test_linear_algebra.py).

>>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
>>> determinant(A)
3.0
>>> eig = eigen(A)
>>> [round(v.real, 6) for v in eig.values], eig.kind
([3.0, 1.0], 'real')
>>> svd = svd_2x2(A)
>>> [round(s, 6) for s in svd.singular_values]
[3.0, 1.0]
>>> vectors(np.array([3.0, 4.0]), np.array([1.0, 0.0])).projection.tolist()
[3.0, 0.0]
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import LabError

TOL = 1e-12  # below this (relative to the matrix's size) a number counts as zero: a singular matrix, a repeated eigenvalue

# Starting points for the learner: each preset is a matrix [[a, b], [c, d]] that shows one idea.
PRESETS: dict[str, tuple[float, float, float, float]] = {
    "stretch and lean (two real eigenvectors)": (1.5, 0.8, 0.3, 1.0),
    "identity": (1.0, 0.0, 0.0, 1.0),
    "rotation by 30°": (np.cos(np.pi / 6), -np.sin(np.pi / 6), np.sin(np.pi / 6), np.cos(np.pi / 6)),
    "rotation by 90° (no real eigenvectors)": (0.0, -1.0, 1.0, 0.0),
    "scaling (2 across, ½ up)": (2.0, 0.0, 0.0, 0.5),
    "shear": (1.0, 1.0, 0.0, 1.0),
    "symmetric stretch": (2.0, 1.0, 1.0, 2.0),
    "reflection in y = x": (0.0, 1.0, 1.0, 0.0),
    "projection onto the x-axis": (1.0, 0.0, 0.0, 0.0),
    "projection onto y = x": (0.5, 0.5, 0.5, 0.5),
    "singular (rank 1)": (1.0, 2.0, 0.5, 1.0),
    "rotate and shrink (spiral in)": (0.6, -0.6, 0.6, 0.6),
    "zero matrix": (0.0, 0.0, 0.0, 0.0),
}


def matrix(a: float, b: float, c: float, d: float) -> np.ndarray:
    """[[a, b], [c, d]] as a float array, refusing what is not a finite number."""
    A = np.array([[a, b], [c, d]], dtype=np.float64)
    if not np.isfinite(A).all():
        raise LabError("every entry of the matrix must be a finite number")
    return A


def rotation(angle: float) -> np.ndarray:
    """The matrix turning the plane by `angle` radians counter-clockwise."""
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


# ----------------------------------------------------------------------------- vectors


@dataclass(frozen=True)
class VectorFacts:
    """Everything about two vectors u and v: dot product, lengths, angle, and u projected on v."""

    dot: float  # u·v = Σ uᵢvᵢ = ‖u‖‖v‖ cos θ
    norms_u: dict[str, float]  # "L1", "L2", "L∞" of u
    norms_v: dict[str, float]
    cosine: float | None  # None when either vector is zero (no direction, no angle)
    angle_degrees: float | None
    projection: np.ndarray | None  # (u·v / v·v) v: the shadow of u on the line through v; None when v = 0
    residual: np.ndarray | None  # u − projection, perpendicular to v


def norms(x: np.ndarray) -> dict[str, float]:
    """Three ways to measure a vector: L1 = Σ|xᵢ| (city blocks), L2 = √Σxᵢ² (straight line), L∞ = max|xᵢ|.

    >>> norms(np.array([3.0, -4.0]))
    {'L1': 7.0, 'L2': 5.0, 'L∞': 4.0}
    """
    return {"L1": float(np.abs(x).sum()), "L2": float(np.sqrt((x * x).sum())), "L∞": float(np.abs(x).max())}


def vectors(u: np.ndarray, v: np.ndarray) -> VectorFacts:
    """Dot product, norms, angle and the projection of u on v, written out."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if u.shape != v.shape or not (np.isfinite(u).all() and np.isfinite(v).all()):
        raise LabError("both vectors need the same number of finite entries")
    dot = float((u * v).sum())
    nu, nv = norms(u), norms(v)
    cosine = None if nu["L2"] == 0 or nv["L2"] == 0 else float(np.clip(dot / (nu["L2"] * nv["L2"]), -1.0, 1.0))
    angle = None if cosine is None else float(np.degrees(np.arccos(cosine)))
    projection = None if nv["L2"] == 0 else dot / float((v * v).sum()) * v
    residual = None if projection is None else u - projection
    return VectorFacts(dot, nu, nv, cosine, angle, projection, residual)


# ----------------------------------------------------------------------------- a matrix as a map


def determinant(A: np.ndarray) -> float:
    """det [[a, b], [c, d]] = ad − bc: the area (with sign) that the unit square becomes."""
    (a, b), (c, d) = A
    return float(a * d - b * c)


def grid_lines(A: np.ndarray, extent: int = 2) -> pd.DataFrame:
    """The lines x = i and y = i (|i| ≤ extent) before and after A, as (line, t, x, y, stage, axis) rows.

    Two points per line are enough: a linear map sends straight lines to straight lines.
    """
    ticks = np.arange(-extent, extent + 1, dtype=np.float64)
    ends = np.array([-extent, extent], dtype=np.float64)
    vertical = np.stack([np.repeat(ticks, 2), np.tile(ends, len(ticks))])  # (2, 2 · lines): x fixed, y from −extent to extent
    before = np.hstack([vertical, vertical[::-1]])  # then the horizontal lines: the same points with x and y swapped
    names = [f"{d} {i:+.0f}" for d in ("vertical", "horizontal") for i in ticks]
    n = before.shape[1]
    return pd.DataFrame({"line": np.tile(np.repeat(names, 2), 2), "t": np.tile([0, 1], n), "x": np.r_[before[0], (A @ before)[0]],
                         "y": np.r_[before[1], (A @ before)[1]], "stage": np.repeat(["before", "after"], n),
                         "axis": np.tile(np.repeat(np.r_[ticks, ticks] == 0, 2), 2)})


def unit_circle(n: int = 121) -> np.ndarray:
    """n points of the unit circle as a (2, n) array, closed (first point repeated last)."""
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([np.cos(t), np.sin(t)])


def unit_square(A: np.ndarray | None = None) -> pd.DataFrame:
    """The unit square's corners (closed path), after A if given: its area becomes |det A|."""
    square = np.array([[0, 1, 1, 0, 0], [0, 0, 1, 1, 0]], dtype=np.float64)
    pts = square if A is None else A @ square
    return pd.DataFrame({"t": np.arange(5), "x": pts[0], "y": pts[1]})


# ----------------------------------------------------------------------------- eigenvalues


@dataclass(frozen=True)
class Eigen:
    """Eigenvalues λ and unit eigenvectors v with A v = λ v, and what kind of case this is."""

    values: tuple[complex, complex]  # largest real part first (complex pairs: +imaginary first)
    vectors: np.ndarray  # columns are eigenvectors (complex when the eigenvalues are)
    kind: str  # "real", "repeated", "complex"
    directions: int  # distinct real directions that stay put: 2, 1 (a shear) or 0 (a rotation); 2 for a multiple of I
    singular: bool  # det A = 0: some direction is crushed to zero (λ = 0)
    explanation: str


def eigen(A: np.ndarray) -> Eigen:
    """Eigenvalues from the characteristic polynomial λ² − (trace)λ + det = 0, eigenvectors from A − λI.

    λ = tr/2 ± √(tr²/4 − det): two real roots, one repeated root, or a complex pair when the
    discriminant is negative (the matrix turns every direction: nothing stays put).
    """
    tr, det = float(np.trace(A)), determinant(A)
    zero = TOL * max(float(np.abs(A).max()), 1e-300)  # "zero" at this matrix's scale
    disc = tr * tr / 4 - det
    if disc < -zero * zero:
        l1 = complex(tr / 2, np.sqrt(-disc))
        values, kind = (l1, l1.conjugate()), "complex"
    else:
        root = np.sqrt(max(disc, 0.0))
        big = tr / 2 + np.copysign(root, tr)  # the larger root in size; the other from λ₁λ₂ = det (no cancellation)
        small = det / big if abs(big) > zero else tr / 2 - np.copysign(root, tr)
        l1, l2 = sorted([big, small], reverse=True)
        values, kind = (complex(l1), complex(l2)), "repeated" if l1 - l2 <= 1e6 * zero else "real"
    V = np.stack([_eigenvector(A, lam if kind == "complex" else lam.real, i, zero) for i, lam in enumerate(values)], axis=1)
    directions = 0 if kind == "complex" else 1 if abs(V[0, 0] * V[1, 1] - V[0, 1] * V[1, 0]) < 1e-9 else 2
    singular = abs(det) <= zero * max(float(np.abs(A).max()), 1e-300)
    return Eigen(values, V, kind, directions, singular, _explain(kind, directions, singular, values))


def _eigenvector(A: np.ndarray, lam: complex | float, i: int, zero: float) -> np.ndarray:
    """A unit v with (A − λI) v = 0: perpendicular to the larger row of A − λI (any v when A = λI: take eᵢ)."""
    M = A - lam * np.eye(2)
    if np.abs(M).max() <= 10 * zero:
        return np.eye(2, dtype=M.dtype)[i]
    r = M[0] if np.abs(M[0]).sum() >= np.abs(M[1]).sum() else M[1]
    v = np.array([-r[1], r[0]])
    return v / np.sqrt((np.abs(v) ** 2).sum())


def _explain(kind: str, directions: int, singular: bool, values: tuple[complex, complex]) -> str:
    if kind == "complex":
        l1 = values[0]
        text = (f"The eigenvalues are a complex pair {l1.real:.3g} ± {abs(l1.imag):.3g}i: the matrix turns every direction, "
                f"so no real arrow stays on its own line. |λ| = {abs(l1):.3g} is how much it scales per turn.")
    elif directions == 1:
        text = (f"One repeated eigenvalue λ = {values[0].real:.3g} with a single direction that stays put: "
                "a shear slides everything else along it.")
    elif kind == "repeated":
        text = f"λ = {values[0].real:.3g} twice and every direction stays put: the matrix is {values[0].real:.3g} × the identity."
    else:
        text = (f"Two real eigenvalues, {values[0].real:.3g} and {values[1].real:.3g}: arrows along the two eigenvectors "
                "stay on their lines and are only stretched (a negative λ flips them).")
    if singular:
        text += (" The determinant is 0, so the matrix is singular: it flattens the plane onto a line (or a point), "
                 "one eigenvalue is 0, and no inverse can undo it: many points land on the same place.")
    return text


# ----------------------------------------------------------------------------- SVD


@dataclass(frozen=True)
class SVD2:
    """A = U Σ Vᵀ with σ₁ ≥ σ₂ ≥ 0; U and V orthogonal (a rotation, or a rotation then a reflection)."""

    U: np.ndarray
    singular_values: tuple[float, float]
    Vt: np.ndarray
    reflection: bool  # det A < 0: one of the two turns must be a mirror image

    @property
    def S(self) -> np.ndarray:
        return np.diag(self.singular_values)


def svd_2x2(A: np.ndarray) -> SVD2:
    """The SVD of a 2 × 2 matrix in closed form (Blinn, "Consider the lowly 2×2 matrix", 1996).

    Split A into a rotation-like part and a reflection-like part:
        E = (a+d)/2, F = (a−d)/2, G = (c+b)/2, H = (c−b)/2,  Q = √(E²+H²), R = √(F²+G²)
    then A = Rot(φ) · diag(Q+R, Q−R) · Rot(θ) with θ = (atan2(H,E) − atan2(G,F))/2, φ = (atan2(H,E) + atan2(G,F))/2.
    σ₁ = Q + R and σ₂ = |Q − R|; when Q − R < 0 (det A < 0) the sign goes into U as a reflection.
    """
    (a, b), (c, d) = A
    E, F, G, H = (a + d) / 2, (a - d) / 2, (c + b) / 2, (c - b) / 2
    Q, R = np.hypot(E, H), np.hypot(F, G)
    a1, a2 = np.arctan2(G, F), np.arctan2(H, E)
    theta, phi = (a2 - a1) / 2, (a2 + a1) / 2
    U, Vt = rotation(phi), rotation(theta)
    s1, s2 = Q + R, Q - R
    reflection = s2 < 0
    if reflection:
        U = U @ np.diag([1.0, -1.0])
    return SVD2(U, (float(s1), float(abs(s2))), Vt, bool(reflection))


def svd_steps(A: np.ndarray, n: int = 121) -> tuple[pd.DataFrame, pd.DataFrame, SVD2]:
    """The unit circle and the right singular vectors v₁, v₂ after each step of A = U Σ Vᵀ.

    Returns (circle rows: step, t, x, y), (arrow rows: step, arrow, x, y) and the SVD itself.
    Step 0 is the circle; Vᵀ turns v₁, v₂ onto the axes; Σ stretches the axes by σ₁, σ₂; U turns them into place.
    """
    svd = svd_2x2(A)
    steps = [("0. start", np.eye(2)), ("1. turn: Vᵀ", svd.Vt), ("2. stretch: Σ Vᵀ", svd.S @ svd.Vt),
             ("3. turn: U Σ Vᵀ = A", svd.U @ svd.S @ svd.Vt)]
    circle, V = unit_circle(n), svd.Vt.T
    curves, arrows = [], []
    for name, M in steps:
        pts, tips = M @ circle, M @ V
        curves.append(pd.DataFrame({"step": name, "t": np.arange(n), "x": pts[0], "y": pts[1]}))
        arrows.append(pd.DataFrame({"step": name, "arrow": ["v₁ (→ σ₁u₁)", "v₂ (→ σ₂u₂)"], "x": tips[0], "y": tips[1]}))
    return pd.concat(curves, ignore_index=True), pd.concat(arrows, ignore_index=True), svd


# ----------------------------------------------------------------------------- everything about one matrix


@dataclass(frozen=True)
class Analysis:
    A: np.ndarray
    det: float
    rank: int
    eigen: Eigen
    svd: SVD2
    inverse: np.ndarray | None  # None when singular
    area: str  # the determinant in words


def analyse(A: np.ndarray) -> Analysis:
    """Determinant, rank, eigenvalues, SVD and inverse of a 2 × 2 matrix, with the determinant in words.

    The rank is the number of singular values that are not (numerically) zero: 2 keeps the plane,
    1 flattens it onto a line, 0 sends everything to the origin.
    """
    det = determinant(A)
    eig, svd = eigen(A), svd_2x2(A)
    s1, s2 = svd.singular_values
    zero = TOL * max(s1, 1e-300)
    rank = int(s1 > 1e-300) + int(s2 > zero)
    inverse = None if rank < 2 else np.array([[A[1, 1], -A[0, 1]], [-A[1, 0], A[0, 0]]]) / det
    if rank == 2:
        area = (f"The unit square becomes a parallelogram of area |det A| = {abs(det):.3g}"
                + (", flipped over (det < 0: the order of e₁ and e₂ is reversed, like a mirror)." if det < 0 else "."))
    elif rank == 1:
        area = "det A = 0: the unit square is squashed flat onto a line. Area 0: the plane loses a dimension."
    else:
        area = "A is the zero matrix: every point lands on the origin."
    return Analysis(A, det, rank, eig, svd, inverse, area)


def arrows(tips: dict[str, np.ndarray], tails: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per arrow: name, tail (x0, y0) (the origin unless given), tip (x, y), and the heading
    in degrees clockwise from straight up (how a chart turns a triangle into an arrowhead)."""
    rows = []
    for name, tip in tips.items():
        tail = (tails or {}).get(name, np.zeros(2))
        dx, dy = tip[0] - tail[0], tip[1] - tail[1]
        rows.append({"name": name, "x0": float(tail[0]), "y0": float(tail[1]), "x": float(tip[0]), "y": float(tip[1]),
                     "heading": float(90 - np.degrees(np.arctan2(dy, dx)))})
    return pd.DataFrame(rows)


def latex_matrix(M: np.ndarray, fmt: str = ".3g") -> str:
    r"""A matrix as LaTeX: \begin{pmatrix} … \end{pmatrix}.

    >>> latex_matrix(np.eye(2))
    '\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}'
    """
    rows = r" \\ ".join(" & ".join(format(float(x), fmt) for x in row) for row in np.atleast_2d(M))
    return rf"\begin{{pmatrix}} {rows} \end{{pmatrix}}"
