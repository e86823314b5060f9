"""The week-0 pages (linear algebra, SVD and PCA, classical ML, evaluation): every control at both ends,
bad uploads, and the numbers they show against the core functions (themselves tested against numpy/scikit-learn)."""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.foundations import classical_demo, evaluation_demo, linear_algebra
from core.infra import data
from core.infra.data import MAX_UPLOAD_BYTES
from tests.app.conftest import assert_clean as ok
from tests.app.conftest import metric, open_page, widget

pytestmark = pytest.mark.slow  # each test starts the app and reruns a page many times


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


def test_linear_algebra_every_preset_and_the_entries_at_their_ends():
    at = open_page("pages/linear_algebra.py")
    ok(at)
    for name, entries in linear_algebra.PRESETS.items():
        at.selectbox(key="la.preset").select(name).run()
        ok(at)
        A = np.array(entries).reshape(2, 2)
        assert [at.number_input(key=k).value for k in ("la.a", "la.b", "la.c", "la.d")] == pytest.approx(np.round(A.ravel(), 4))
        assert float(metric(at, "Determinant")) == pytest.approx(np.linalg.det(np.round(A, 4)), abs=5e-4)
        singular = abs(np.linalg.det(A)) < 1e-12
        assert singular == any("No inverse" in i.value for i in at.info), name
        assert metric(at, "Rank") == str(np.linalg.matrix_rank(A))
    at.selectbox(key="la.preset").select("rotation by 90° (no real eigenvectors)").run()
    assert metric(at, "Eigenvalues") == "0 ± 1i" and any("no real arrow" in m.value for m in at.markdown)
    for value in (-5.0, 5.0):  # every entry at both ends
        for key in ("la.a", "la.b", "la.c", "la.d"):
            at.number_input(key=key).set_value(value)
        at.run()
        ok(at)
        assert float(metric(at, "Determinant")) == 0.0 and metric(at, "Rank") == "1"  # all four equal: rank 1
    at.number_input(key="la.b").set_value(-5.0).run()  # [[5, −5], [5, 5]]: a turn by 45° and a stretch by √50
    assert metric(at, "Singular values") == "7.07, 7.07" and any("reflection" not in c.value for c in at.caption)


def test_linear_algebra_vectors_at_their_ends_and_the_zero_vector():
    at = open_page("pages/linear_algebra.py")
    for key, value in (("la.u1", -5.0), ("la.u2", 5.0), ("la.v1", 5.0), ("la.v2", -5.0)):
        at.number_input(key=key).set_value(value)
    at.run()
    ok(at)
    assert metric(at, "u · v") == "-50" and metric(at, "Angle between") == "180.0°"
    at.number_input(key="la.v1").set_value(0.0)
    at.number_input(key="la.v2").set_value(0.0)
    at.run()
    ok(at)
    assert metric(at, "Angle between") == "undefined" and any("zero vector" in i.value for i in at.info)


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_svd_page_images_k_at_both_ends_and_bad_uploads():
    at = open_page("pages/svd_pca.py")
    ok(at)
    assert metric(at, "Energy kept").endswith("%")
    k = widget(at.slider, "Singular values kept")
    k.set_value(1).run()
    ok(at)
    assert metric(at, "Storage saved") == f"{1 - (427 + 640 + 1) / (427 * 640):.1%}"
    widget(at.slider, "Singular values kept").set_value(427).run()
    ok(at)
    assert metric(at, "Relative error") == "0.00%" and metric(at, "Storage saved").startswith("none")
    at.radio(key="svd.source").set_value("flower.jpg").run()
    ok(at)
    at.radio(key="svd.source").set_value("your own image").run()
    ok(at)
    assert any("Upload a picture" in i.value for i in at.info)
    assert metric(at, "Rows × columns") == "1,797 × 64"  # the other tabs still draw while the upload is missing
    for name, content, expected in [
        ("notes.txt", "שלום 👋 <b>bold</b>\x00".encode(), "not an image"),
        ("huge.png", b"\x89PNG" + b"\0" * MAX_UPLOAD_BYTES, "the limit is 5 MB"),
        ("wide.png", png(np.zeros((1000, 2000))), "scale it down"),
    ]:
        at.file_uploader(key="svd.upload").set_value((name, content, "application/octet-stream")).run()
        ok(at)
        assert expected in warnings(at), (name, warnings(at))
    at.file_uploader(key="svd.upload").set_value(("tiny.png", png(np.arange(12).reshape(3, 4) * 20), "image/png")).run()
    ok(at)
    assert widget(at.slider, "Singular values kept").max == 3


def test_pca_and_lora_controls_at_their_ends():
    at = open_page("pages/svd_pca.py")
    at.selectbox(key="pca.data").select("iris").run()
    ok(at)
    assert metric(at, "Rows × columns") == "150 × 4" and metric(at, "Components for 90%") == "1 of 4"
    at.selectbox(key="pca.x").select(4)
    at.selectbox(key="pca.y").select(4)  # the same component on both axes: a diagonal line, no error
    at.run()
    ok(at)
    for key, low, high in (("lora.k", 1, 32), ("lora.decay", 0.3, 1.0), ("lora.noise", 0.0, 0.5)):
        for value in (low, high):
            at.slider(key=key).set_value(value).run()
            ok(at)
    for r in (1, 64):
        at.select_slider(key="lora.r").set_value(r).run()
        ok(at)
    assert metric(at, "Update's energy a rank-64") == "100.0%"


@pytest.mark.parametrize("model", ["Logistic regression", "k-nearest neighbours", "Decision tree"])
def test_classifiers_show_what_core_computes_and_survive_every_end(model):
    at = open_page("pages/classical_ml.py")
    at.radio(key="cl.model").set_value(model).run()
    ok(at)
    name = {"Logistic regression": "logistic regression", "Decision tree": "decision tree"}.get(model, model)
    expected = classical_demo.classify(classical_demo.ClassifierConfig(model=name))
    assert metric(at, "Test accuracy") == f"{expected.test_accuracy:.1%}"
    ends = {"cl.n": (20, 1000), "cl.noise": (0.0, 0.6), "cl.test": (0.1, 0.9), "cl.degree": (1, 6), "cl.depth": (1, 15), "cl.k": (1, 300)}
    for key, values in ends.items():
        if not any(s.key == key for s in at.slider):
            continue
        for value in values:
            at.slider(key=key).set_value(value).run()
            ok(at)
    if model == "k-nearest neighbours":  # k = 300 with 1,000 points and 90% held out: more neighbours than training points
        assert "only 100 training points" in warnings(at)
    for dataset in ("circle", "xor", "spiral", "gaussians"):
        at.selectbox(key="cl.data").select(dataset).run()
        ok(at)
    if model == "Logistic regression":
        for value in (0.0, 1.0):
            at.select_slider(key="cl.l2").set_value(value).run()
            ok(at)


def test_kmeans_and_regression_controls_at_their_ends():
    at = open_page("pages/classical_ml.py")
    at.radio(key="cl.model").set_value("k-means clustering").run()
    ok(at)
    for key, values in {"km.true": (2, 6), "km.k": (1, 10), "km.n": (20, 1000), "km.noise": (0.0, 0.6)}.items():
        for value in values:
            at.slider(key=key).set_value(value).run()
            ok(at)
    at.radio(key="km.init").set_value("random points").run()
    step = next(s for s in at.slider if s.label.startswith("Show after step"))
    step.set_value(0).run()
    ok(at)
    assert metric(at, "Inertia after step 0")
    at.slider(key="km.n").set_value(20).run()
    at.slider(key="km.k").set_value(10).run()
    ok(at)
    at.radio(key="cl.model").set_value("Linear regression").run()
    ok(at)
    line = classical_demo.line(classical_demo.LineConfig())
    assert metric(at, "Closed form: w, b") == f"{line.closed.weights[0]:.3f}, {line.closed.bias:.3f}"
    at.select_slider(key="lr.lr").set_value(1.5).run()
    ok(at)
    assert "diverged" in warnings(at)
    for key, values in {"lr.slope": (-3.0, 3.0), "lr.intercept": (-2.0, 2.0), "lr.noise": (0.0, 2.0), "lr.spread": (0.2, 5.0),
                        "lr.n": (2, 500), "lr.steps": (1, 500)}.items():
        for value in values:
            at.slider(key=key).set_value(value).run()
            ok(at)


def test_evaluation_page_numbers_and_every_end():
    at = open_page("pages/evaluation.py")
    ok(at)
    cv = evaluation_demo.cross_validate(evaluation_demo.CVConfig(model="k-nearest neighbours"))
    assert metric(at, "Chosen neighbours k") == str(cv.best)
    for key, values in {"ev.folds": (2, 20), "ev.n": (20, 1000), "ev.noise": (0.0, 0.6), "ev.test": (0.1, 0.5)}.items():
        for value in values:
            at.slider(key=key).set_value(value).run()
            ok(at)
    at.slider(key="ev.n").set_value(20).run()
    at.slider(key="ev.folds").set_value(20).run()  # 10 training rows cut into 20 folds
    ok(at)
    assert "2 ≤ k ≤ the number of rows" in warnings(at)
    at.radio(key="ev.model").set_value("decision tree").run()
    ok(at)
    for value, expected in ((0.0, "100.0%"), (1.0, "undefined")):  # everything positive, then nothing
        at.slider(key="ev.threshold").set_value(value).run()
        ok(at)
        assert metric(at, "Recall" if value == 0.0 else "Precision") == expected
    assert any("nothing is predicted positive" in i.value for i in at.info)
    at.slider(key="ev.share").set_value(0.0).run()  # no positives left: one class only
    ok(at)
    assert "both classes" in warnings(at)
    for key, values in {"ev.share": (0.5,), "ev.s.noise": (0.0, 1.0), "ev.degree": (1, 4), "ev.poly": (0, 15), "ev.ntrain": (5, 100),
                        "ev.bnoise": (0.0, 1.0)}.items():
        for value in values:
            at.slider(key=key).set_value(value).run()
            ok(at)


@pytest.mark.parametrize("path", ["pages/linear_algebra.py", "pages/svd_pca.py", "pages/classical_ml.py", "pages/evaluation.py"])
def test_seed_boxes_at_their_ends(path):
    at = open_page(path)
    for box in at.number_input:
        if box.key and box.key.endswith("seed"):
            for value in (box.min, box.max):
                box.set_value(value).run()
                ok(at)


def test_pca_of_minilm_sentence_vectors():
    """Loads MiniLM (once per server) and embeds every sentence of the sentiment set."""
    at = open_page("pages/svd_pca.py")
    at.selectbox(key="pca.data").select("sentiment embeddings").run()
    ok(at)
    assert metric(at, "Rows × columns") == f"{len(data.sentiment()):,} × 384"
    assert any("MiniLM" in c.value for c in at.caption)
