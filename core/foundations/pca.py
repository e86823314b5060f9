"""Principal component analysis: the SVD of centred data.

Subtract each column's mean, then take the SVD  X − μ = U Σ Vᵀ. The rows of Vᵀ are the
principal directions (orthogonal, the first along the widest spread of the data), the
coordinates of each row along them are U Σ, and the variance along direction i is σᵢ² / (n − 1).

    explained variance ratio of component i = σᵢ² / Σⱼ σⱼ²

Two or three components often keep most of the variance, so a 64-pixel digit or a 384-number
sentence embedding can be drawn as a point in the plane.

>>> X = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]])
>>> result = pca(X, 1)
>>> np.round(result.explained_variance_ratio, 6).tolist(), np.round(np.abs(result.components), 4).tolist()
([1.0], [[0.7071, 0.7071]])
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core.errors import LabError

DATASETS = ("digits", "iris", "sentiment embeddings")


@dataclass(frozen=True)
class PCAResult:
    mean: np.ndarray  # (d,) the column means subtracted first
    components: np.ndarray  # (k, d) principal directions, one per row, unit length
    singular_values: np.ndarray  # (k,) σᵢ of the centred data
    explained_variance: np.ndarray  # (k,) σᵢ² / (n − 1)
    explained_variance_ratio: np.ndarray  # (k,) share of the total variance
    scores: np.ndarray  # (n, k) each row's coordinates along the components: (X − μ) Vₖ = Uₖ Σₖ

    def reconstruct(self) -> np.ndarray:
        """Each row rebuilt from its k coordinates: μ + scores · components."""
        return self.mean + self.scores @ self.components


def pca(X: np.ndarray, k: int | None = None) -> PCAResult:
    """PCA of the rows of X keeping k components (all when k is None).

    Signs: a singular vector is only defined up to sign; like scikit-learn, each component is
    turned so that its largest entry (in size) is positive, which makes the result repeatable.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise LabError(f"PCA needs a table with at least two rows; got shape {X.shape}")
    if not np.isfinite(X).all():
        raise LabError("PCA needs finite numbers in every cell")
    n, d = X.shape
    k = min(n, d) if k is None else k
    if not 1 <= k <= min(n, d):
        raise LabError(f"k must be between 1 and {min(n, d)} (the smaller of {n} rows and {d} columns); got {k}")
    mean = X.mean(axis=0)
    with threadpool_limits(limits=1, user_api="blas"):  # one BLAS thread: see core.foundations.low_rank.decompose
        U, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    signs = np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    U, Vt = U * signs, Vt * signs[:, None]
    variance = s ** 2 / (n - 1)
    total = variance.sum()
    ratio = variance / total if total > 0 else np.zeros_like(variance)
    return PCAResult(mean, Vt[:k], s[:k], variance[:k], ratio[:k], U[:, :k] * s[:k])


def variance_table(result: PCAResult) -> pd.DataFrame:
    """One row per component: its share of the variance and the running total."""
    r = result.explained_variance_ratio
    return pd.DataFrame({"component": np.arange(1, len(r) + 1), "share": r, "cumulative": np.cumsum(r)})


def as_pictures(vectors: np.ndarray, names: list[str], side: int = 8) -> pd.DataFrame:
    """Vectors of side² numbers (a digit, a component) as (picture, row, col, value) rows, one square picture each."""
    rows, cols = np.repeat(np.arange(side), side), np.tile(np.arange(side), side)
    return pd.concat([pd.DataFrame({"picture": name, "row": rows, "col": cols, "value": np.asarray(v, dtype=float)})
                      for name, v in zip(names, vectors)], ignore_index=True)


def dataset(name: str, encoder=None) -> tuple[np.ndarray, np.ndarray, str]:
    """(X, labels as strings, what one row is) for one of DATASETS; the sentiment embeddings need `encoder`."""
    from core.infra import data

    if name in ("digits", "iris"):
        X, y, _, classes = data.sklearn_table(name)
        row = "an 8 × 8 image of a digit (64 gray levels)" if name == "digits" else "a flower (4 measurements in cm)"
        return X, np.array(classes)[y], row
    if name == "sentiment embeddings":
        if encoder is None:
            raise LabError("the sentiment embeddings need the MiniLM encoder")
        from core.lm.sentence_embeddings import embed

        df = data.sentiment()
        X = embed(encoder, df.text.tolist()).astype(np.float64)
        return X, df.label.to_numpy(), "a sentence of the sentiment set (MiniLM's 384-number sentence embedding, length 1)"
    raise LabError(f"choose one of {', '.join(DATASETS)}, not {name!r}")
