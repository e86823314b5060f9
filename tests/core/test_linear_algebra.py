"""core.foundations.linear_algebra against numpy's general routines (eig, svd, det, norm) on the same matrices."""

import numpy as np
import pytest

from core.errors import LabError
from core.foundations.linear_algebra import PRESETS, determinant, eigen, grid_lines, matrix, svd_2x2, svd_steps, unit_square, vectors

TOL = 1e-10
RNG = np.random.default_rng(20)
RANDOM = [RNG.normal(size=(2, 2)) * s for s in (1e-3, 1.0, 1.0, 1.0, 50.0) for _ in range(8)]
SPECIAL = [np.array(p, dtype=float).reshape(2, 2) for p in PRESETS.values()] + [
    np.array([[3.0, 0.0], [0.0, 3.0]]), np.array([[2.0, 1e-7], [0.0, 2.0]]), np.array([[0.0, 1.0], [0.0, 0.0]]),
    np.array([[-1.0, 0.0], [0.0, -4.0]]), np.array([[1e-9, 0.0], [0.0, 1.0]]), np.array([[1.0, 2.0], [2.0, 4.0]])]
MATRICES = RANDOM + SPECIAL


@pytest.mark.parametrize("A", MATRICES)
def test_determinant_equals_numpy(A):
    assert determinant(A) == pytest.approx(np.linalg.det(A), abs=TOL * max(1.0, np.abs(A).max() ** 2))


@pytest.mark.parametrize("A", MATRICES)
def test_eigenvalues_equal_numpy_and_vectors_satisfy_av_equals_lambda_v(A):
    ours = eigen(A)
    ref = np.linalg.eigvals(A)
    key = lambda z: (round(z.real, 8), round(z.imag, 8))
    assert np.allclose(sorted(ours.values, key=key), sorted(ref, key=key), rtol=0, atol=TOL * max(1.0, np.abs(A).max()))
    for lam, v in zip(ours.values, ours.vectors.T):
        assert np.sqrt((np.abs(v) ** 2).sum()) == pytest.approx(1.0, abs=1e-12)
        assert np.abs(A @ v - lam * v).max() < TOL * max(1.0, np.abs(A).max())


@pytest.mark.parametrize("A", [A for A in MATRICES if abs(np.diff(np.linalg.eigvals(A))[0]) > 1e-3])
def test_eigenvectors_equal_numpys_up_to_sign_or_phase(A):
    ours = eigen(A)
    values, vecs = np.linalg.eig(A)
    for lam, v in zip(ours.values, ours.vectors.T):
        ref = vecs[:, np.argmin(np.abs(values - lam))]
        assert abs(np.vdot(ref, v)) == pytest.approx(1.0, abs=TOL)  # same line: equal up to a factor of size 1


def test_the_three_kinds_of_eigen_case():
    assert eigen(np.array(PRESETS["rotation by 90° (no real eigenvectors)"]).reshape(2, 2)).values == (1j, -1j)
    rot = eigen(np.array(PRESETS["rotation by 90° (no real eigenvectors)"]).reshape(2, 2))
    assert (rot.kind, rot.directions) == ("complex", 0) and "no real arrow" in rot.explanation
    shear = eigen(np.array(PRESETS["shear"]).reshape(2, 2))
    assert (shear.kind, shear.directions) == ("repeated", 1)
    assert np.allclose(np.abs(shear.vectors), [[1, 1], [0, 0]])  # both along the x-axis, the line the shear slides along
    scaled = eigen(np.array([[3.0, 0.0], [0.0, 3.0]]))
    assert (scaled.kind, scaled.directions) == ("repeated", 2) and "identity" in scaled.explanation


@pytest.mark.parametrize("name", ["singular (rank 1)", "projection onto the x-axis", "zero matrix", "projection onto y = x"])
def test_a_singular_matrix_is_explained_not_an_error(name):
    A = np.array(PRESETS[name]).reshape(2, 2)
    result = eigen(A)
    assert result.singular and "singular" in result.explanation and "no inverse" in result.explanation
    assert min(abs(v) for v in result.values) < TOL
    assert svd_2x2(A).singular_values[1] == pytest.approx(0.0, abs=TOL)


@pytest.mark.parametrize("A", MATRICES)
def test_svd_equals_numpy_up_to_sign(A):
    ours = svd_2x2(A)
    U, s, Vt = np.linalg.svd(A)
    scale = max(1.0, np.abs(A).max())
    assert np.allclose(ours.singular_values, s, rtol=0, atol=TOL * scale)
    assert np.allclose(ours.U @ ours.S @ ours.Vt, A, rtol=0, atol=TOL * scale)
    assert np.allclose(ours.U.T @ ours.U, np.eye(2), atol=TOL) and np.allclose(ours.Vt @ ours.Vt.T, np.eye(2), atol=TOL)
    assert ours.reflection == (np.linalg.det(A) < -1e-14 * scale ** 2)
    if s[0] - s[1] > 1e-6 * scale:  # distinct singular values: each singular vector is fixed up to its sign
        for i in range(2 if s[1] > 1e-6 * scale else 1):
            sign = np.sign(ours.Vt[i] @ Vt[i])
            assert np.allclose(ours.Vt[i], sign * Vt[i], atol=1e-8) and np.allclose(ours.U[:, i], sign * U[:, i], atol=1e-8)


def test_svd_steps_end_at_the_matrix_applied_to_the_circle():
    A = np.array([[1.0, 2.0], [-0.5, 0.3]])
    curves, arrows, svd = svd_steps(A, n=9)
    t = np.linspace(0, 2 * np.pi, 9)
    last = curves[curves.step == curves.step.iloc[-1]]
    assert np.allclose(last[["x", "y"]].to_numpy().T, A @ np.stack([np.cos(t), np.sin(t)]))
    turned = arrows[arrows.step.str.startswith("1.")][["x", "y"]].to_numpy()
    assert np.allclose(np.abs(turned), np.eye(2), atol=1e-12)  # Vᵀ turns v₁, v₂ onto the axes
    final = arrows[arrows.step.str.startswith("3.")][["x", "y"]].to_numpy()
    assert np.allclose(np.linalg.norm(final, axis=1), svd.singular_values)  # and A sends vᵢ to σᵢuᵢ


def test_grid_and_square_are_the_matrix_applied():
    A = np.array([[2.0, 1.0], [0.0, 1.0]])
    lines = grid_lines(A, extent=1)
    before = lines[lines.stage == "before"][["x", "y"]].to_numpy()
    after = lines[lines.stage == "after"][["x", "y"]].to_numpy()
    assert np.allclose(after, before @ A.T)
    sq = unit_square(A)[["x", "y"]].to_numpy()
    area = 0.5 * abs(np.dot(sq[:-1, 0], sq[1:, 1]) - np.dot(sq[1:, 0], sq[:-1, 1]))  # shoelace
    assert area == pytest.approx(abs(np.linalg.det(A)))


def test_vectors_equal_numpy():
    u, v = np.array([3.0, -1.0, 2.0]), np.array([0.5, 2.0, -4.0])
    facts = vectors(u, v)
    assert facts.dot == pytest.approx(np.dot(u, v), abs=1e-12)
    for name, order in (("L1", 1), ("L2", 2), ("L∞", np.inf)):
        assert facts.norms_u[name] == pytest.approx(np.linalg.norm(u, order), abs=1e-12)
    assert np.allclose(facts.projection, np.dot(u, v) / np.dot(v, v) * v)
    assert abs(facts.residual @ v) < 1e-12  # what is left is perpendicular to v
    assert facts.angle_degrees == pytest.approx(np.degrees(np.arccos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v))))


def test_the_zero_vector_has_no_direction():
    facts = vectors(np.array([1.0, 2.0]), np.zeros(2))
    assert facts.projection is None and facts.angle_degrees is None and facts.dot == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_numbers_are_refused(bad):
    with pytest.raises(LabError):
        matrix(1.0, bad, 0.0, 1.0)
    with pytest.raises(LabError):
        vectors(np.array([1.0, bad]), np.array([1.0, 0.0]))
