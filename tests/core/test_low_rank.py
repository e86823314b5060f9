"""core.foundations.low_rank: truncated SVD against scikit-learn's TruncatedSVD, images in and refused."""

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image
from sklearn.decomposition import TruncatedSVD
from threadpoolctl import threadpool_limits

from core.errors import LabError
from core.foundations import low_rank as lr
from core.infra.data import MAX_UPLOAD_BYTES


@pytest.fixture(autouse=True)
def one_blas_thread():
    """As core runs its SVDs: many BLAS threads on a busy 2-core machine wait on each other for seconds."""
    with threadpool_limits(limits=1):
        yield


def png(array: np.ndarray, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8), mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def china() -> np.ndarray:
    return lr.sample_image("china.jpg")


def test_sample_image_is_the_427_by_640_photo_in_gray_levels(china):
    rgb = load_sample_image("china.jpg").astype(float)
    luma = rgb @ [0.299, 0.587, 0.114]  # ITU-R 601, what PIL's "L" mode computes in integers
    assert china.shape == (427, 640)
    assert np.abs(china - luma).max() <= 1.0


@pytest.mark.parametrize("k", [1, 5, 40])
def test_rank_k_image_equals_truncated_svd_of_scikit_learn(china, k):
    ours = lr.reconstruct(lr.decompose(china), k)
    ref = TruncatedSVD(k, algorithm="arpack", tol=0.0, random_state=0).fit(china)
    rebuilt = ref.inverse_transform(ref.transform(china))
    assert np.abs(ours - rebuilt).max() < 1e-8 * np.abs(china).max()


def test_energy_and_error_follow_eckart_young(china):
    svd = lr.decompose(china)
    assert np.allclose(svd.s, np.linalg.svd(china, compute_uv=False), rtol=1e-10)
    for k in (1, 10, 100):
        c = lr.compress(svd, k)
        direct = np.linalg.norm(china - lr.reconstruct(svd, k)) / np.linalg.norm(china)  # unclipped A_k
        assert c.relative_error == pytest.approx(direct, rel=1e-8)
        assert c.stored == k * (427 + 640 + 1) and c.original == 427 * 640
    assert lr.compress(svd, 427).relative_error < 1e-6 and lr.compress(svd, 427).saved < 0  # all of it: more numbers than pixels


def test_rank_for_energy_is_the_first_k_reaching_the_share():
    s = np.array([4.0, 2.0, 1.0, 1.0])  # energies 16, 4, 1, 1 of 22
    assert [lr.rank_for_energy(s, share) for share in (0.5, 16 / 22, 0.9, 0.99, 1.0)] == [1, 1, 2, 4, 4]


def test_an_uploaded_png_round_trips_and_a_big_one_is_scaled_down():
    pixels = np.random.default_rng(0).integers(0, 256, (30, 50))
    assert np.array_equal(lr.image_from_upload(png(pixels)), pixels)
    big = lr.image_from_upload(png(np.zeros((900, 1200)), "L"))
    assert big.shape == (480, 640)


@pytest.mark.parametrize("data, message", [
    (b"x1,x2,label\n0,0,a\n", "not an image"), (b"", "not an image"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not an image"),
    (b"\0" * (MAX_UPLOAD_BYTES + 1), "the limit is 5 MB"),
])
def test_what_is_not_an_image_or_too_big_is_refused(data, message):
    with pytest.raises(LabError, match=message):
        lr.image_from_upload(data, "file")


def test_an_image_with_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(LabError, match="2,000 × 1,000 pixels"):
        lr.image_from_upload(png(np.zeros((1000, 2000))), "wide.png")


def test_k_outside_the_singular_values_is_refused():
    svd = lr.decompose(np.eye(3))
    for k in (0, 4):
        with pytest.raises(LabError, match="between 1 and 3"):
            lr.reconstruct(svd, k)


def test_the_bridge_update_needs_fewer_directions_than_a_random_matrix():
    spectra = lr.lora_bridge(true_rank=4, decay=0.6, noise=0.05)
    update, random = spectra.values()
    assert lr.rank_for_energy(update, 0.9) <= 4 < lr.rank_for_energy(random, 0.9)
