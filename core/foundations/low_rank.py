"""The SVD of real data: keep the top k singular values, and most of a matrix survives.

Any m × n matrix is a sum of rank-one layers, largest first:

    A = σ₁ u₁v₁ᵀ + σ₂ u₂v₂ᵀ + … ,   σ₁ ≥ σ₂ ≥ … ≥ 0

Keeping the first k layers gives A_k, the best rank-k approximation there is (Eckart–Young):
no other rank-k matrix is closer, and what is missed is exactly the tail of the squared
singular values,

    ‖A − A_k‖²_F = Σ_{i>k} σᵢ²        energy kept = Σ_{i≤k} σᵢ² / Σ σᵢ²

Storing A_k takes k(m + n + 1) numbers instead of m·n. A photo is such a matrix of gray levels;
so is a weight update ΔW in fine-tuning, which is why LoRA can learn it as a thin product B·A.

The decomposition itself comes from numpy (LAPACK), computed once per image; the lesson here is
the truncation, a cheap product for every k.

>>> A = np.diag([3.0, 2.0, 1.0])
>>> svd = decompose(A)
>>> round(energy(svd.s, 1), 4), stored_numbers(3, 3, 1)
(0.6429, 7)
>>> np.round(reconstruct(svd, 1), 6).tolist()
[[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
"""

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.infra.data import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB

SAMPLE_IMAGES = ("china.jpg", "flower.jpg")  # scikit-learn's bundled photos, 427 × 640 each
MAX_PIXELS = 1600 * 1200  # a larger photo takes seconds to decompose on 2 cores: refused with a message
MAX_SIDE = 640  # an accepted image is scaled down so its longer side is at most this (the sample photos' width)


@dataclass(frozen=True)
class MatrixSVD:
    """A = U diag(s) Vt, thin: U is m × r, s has r values (largest first), Vt is r × n, r = min(m, n)."""

    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.U.shape[0], self.Vt.shape[1]


def decompose(A: np.ndarray) -> MatrixSVD:
    """The thin SVD of A (numpy's LAPACK routine).

    One BLAS thread: a photo-sized SVD takes ~0.1 s on one core, while several threads on a busy
    2-core server wait on each other for seconds.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        U, s, Vt = np.linalg.svd(np.asarray(A, dtype=np.float64), full_matrices=False)
    return MatrixSVD(U, s, Vt)


def reconstruct(svd: MatrixSVD, k: int) -> np.ndarray:
    """A_k = Σ_{i≤k} σᵢ uᵢ vᵢᵀ: the first k columns of U, scaled by σ, times the first k rows of Vᵀ."""
    k = check_rank(k, len(svd.s))
    return (svd.U[:, :k] * svd.s[:k]) @ svd.Vt[:k]


def check_rank(k: int, available: int) -> int:
    if not 1 <= k <= available:
        raise LabError(f"k must be between 1 and {available} (the number of singular values); got {k}")
    return int(k)


def energy(s: np.ndarray, k: int) -> float:
    """Share of Σσᵢ² in the first k singular values (1.0 for a zero matrix, which has nothing to lose)."""
    total = float((s ** 2).sum())
    return 1.0 if total == 0 else float((s[:k] ** 2).sum() / total)


def stored_numbers(m: int, n: int, k: int) -> int:
    """Numbers needed to store A_k as U_k (m·k), σ (k) and V_k (n·k)."""
    return k * (m + n + 1)


def rank_for_energy(s: np.ndarray, share: float) -> int:
    """The smallest k whose energy reaches `share`.

    >>> rank_for_energy(np.array([3.0, 2.0, 1.0]), 0.9)
    2
    """
    total = float((s ** 2).sum())
    if total == 0:
        return 1
    cumulative = np.cumsum(s ** 2) / total
    return int(np.searchsorted(cumulative, share - 1e-12) + 1)


def energy_curve(s: np.ndarray, name: str, max_k: int | None = None) -> pd.DataFrame:
    """(matrix, k, energy) for k = 1..max_k: how fast the singular values gather a matrix's energy."""
    total = float((s ** 2).sum()) or 1.0
    k = np.arange(1, (max_k or len(s)) + 1)
    return pd.DataFrame({"matrix": name, "k": k, "energy": np.cumsum(s ** 2)[: len(k)] / total})


# ----------------------------------------------------------------------------- images


@dataclass(frozen=True)
class Compression:
    """An image rebuilt from its top k singular values, and what it cost."""

    k: int
    image: np.ndarray  # A_k clipped to the gray levels 0..255
    energy: float  # Σ_{i≤k} σ² / Σ σ²
    relative_error: float  # ‖A − A_k‖_F / ‖A‖_F = √(1 − energy)
    stored: int  # k(m + n + 1)
    original: int  # m·n

    @property
    def saved(self) -> float:
        """Share of the storage saved (negative when A_k takes more numbers than the image)."""
        return 1 - self.stored / self.original


def compress(svd: MatrixSVD, k: int) -> Compression:
    m, n = svd.shape
    kept = energy(svd.s, k)
    image = np.clip(reconstruct(svd, k), 0, 255)
    return Compression(k, image, kept, float(np.sqrt(max(0.0, 1 - kept))), stored_numbers(m, n, k), m * n)


def _gray(img) -> np.ndarray:
    """A PIL image as gray levels 0..255 (ITU-R 601 luma, PIL's "L"), scaled so its longer side ≤ MAX_SIDE."""
    from PIL import Image

    img = img.convert("L")
    if max(img.size) > MAX_SIDE:
        ratio = MAX_SIDE / max(img.size)
        img = img.resize((max(1, round(img.width * ratio)), max(1, round(img.height * ratio))), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float64)


def sample_image(name: str = "china.jpg") -> np.ndarray:
    """One of scikit-learn's sample photos in gray levels: 427 × 640."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    if name not in SAMPLE_IMAGES:
        raise LabError(f"choose one of {', '.join(SAMPLE_IMAGES)}, not {name!r}")
    return _gray(Image.fromarray(load_sample_image(name)))


def image_from_upload(data: bytes, name: str = "upload") -> np.ndarray:
    """An uploaded picture in gray levels; refuses a file that is not an image or is too big to decompose live."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        raise LabError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_MB} MB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size  # read from the header, before any pixel is decoded
            if width * height > MAX_PIXELS:
                raise LabError(f"{name} is {width:,} × {height:,} pixels; the limit is {MAX_PIXELS:,} pixels "
                               f"(e.g. 1600 × 1200): scale it down and upload it again")
            gray = _gray(img)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as e:
        raise LabError(f"{name} is not an image this lab can read (PNG, JPEG, GIF, BMP, WebP …): {type(e).__name__}") from None
    if min(gray.shape) < 2:
        raise LabError(f"{name} is {gray.shape[1]} × {gray.shape[0]} pixels: an image needs at least 2 rows and 2 columns")
    return gray


# ----------------------------------------------------------------------------- the bridge to LoRA


def lora_bridge(true_rank: int = 4, decay: float = 0.6, noise: float = 0.1, d: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """Singular values of two d × d matrices: an update ΔW whose energy sits in a few directions
    (decaying singular values plus a little full-rank noise, built by core.llm.lora_toy, whose
    rank-r B·A learns it) and a random matrix of the same size (energy spread over every direction)."""
    from core.llm.lora_toy import ToyConfig, task

    _, delta = task(ToyConfig(d_in=d, d_out=d, true_rank=true_rank, decay=decay, noise=noise, seed=seed))
    rng = np.random.default_rng(seed)
    random = rng.normal(size=(d, d)) / np.sqrt(d)
    return {"fine-tuning-like update ΔW": np.linalg.svd(delta.double().numpy(), compute_uv=False),
            "random matrix (no structure)": np.linalg.svd(random, compute_uv=False)}
