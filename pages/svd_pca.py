import numpy as np
import pandas as pd
import streamlit as st

from core.foundations import low_rank, pca
from core.infra.data import MAX_UPLOAD_MB
from ui import state
from ui.page import friendly_errors, header, show_code
from ui.vega import draw, field, values

header(
    "🖼️ The SVD of real data",
    "Every matrix is a sum of rank-one layers σᵢuᵢvᵢᵀ, largest first. Keep the top k and most of the matrix survives: "
    "a **photo** rebuilt from a few dozen layers, a **dataset** drawn in the plane of its two widest directions (PCA), "
    "and the reason **LoRA** can fine-tune a model through a thin product B·A.",
)

UPLOAD = "your own image"
SOURCES = [*low_rank.SAMPLE_IMAGES, UPLOAD]


def sample_svd(name: str) -> tuple[np.ndarray, low_rank.MatrixSVD]:
    image = low_rank.sample_image(name)
    return image, low_rank.decompose(image)


def upload_svd(data: bytes, name: str) -> tuple[np.ndarray, low_rank.MatrixSVD]:
    image = low_rank.image_from_upload(data, name)
    return image, low_rank.decompose(image)


def pca_table(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The dataset's rows; the sentiment sentences go through MiniLM first (loaded once per server)."""
    return pca.dataset(name, state.model("minilm") if name == "sentiment embeddings" else None)


def pca_result(name: str) -> tuple[pca.PCAResult, np.ndarray, str]:
    X, labels, row = state.cached(pca_table)(name)
    return pca.pca(X), labels, row


tab_image, tab_pca, tab_lora = st.tabs(["A photo, layer by layer", "PCA: the widest directions of a dataset", "Why LoRA works"])

with tab_image, friendly_errors():
    c = st.columns([2, 3])
    source = c[0].radio("Image", SOURCES, horizontal=True, key="svd.source")
    if source == UPLOAD:
        upload = c[1].file_uploader(f"Any picture up to {MAX_UPLOAD_MB} MB (it is turned gray)", key="svd.upload")
        if upload is None:
            st.info(f"Upload a picture to decompose it; until then, this is {low_rank.SAMPLE_IMAGES[0]}.", icon="🖼️")
            image, svd = state.shared(sample_svd)(low_rank.SAMPLE_IMAGES[0])
        else:
            image, svd = state.shared(upload_svd)(upload.getvalue(), upload.name)
    else:
        image, svd = state.shared(sample_svd)(source)
    m, n = image.shape
    rank = len(svd.s)
    k = st.slider("Singular values kept, k", 1, rank, min(20, rank), key=f"svd.k.{rank}")
    result = low_rank.compress(svd, k)
    kpi = st.columns(4)
    kpi[0].metric("Energy kept Σσᵢ² (i ≤ k) / Σσᵢ²", f"{result.energy:.2%}")
    kpi[1].metric("Relative error ‖A − Aₖ‖ / ‖A‖", f"{result.relative_error:.2%}")
    kpi[2].metric(f"Numbers stored k(m + n + 1), of {result.original:,}", f"{result.stored:,}")
    kpi[3].metric("Storage saved", f"{result.saved:.1%}" if result.saved >= 0 else f"none ({-result.saved:.0%} more)")
    left, right = st.columns(2)
    left.image(image.astype(np.uint8), caption=f"The original: {m} × {n} gray levels, rank {rank}", width="stretch")
    right.image(result.image.round().astype(np.uint8), caption=f"Rebuilt from the top {k} singular value{'s' if k > 1 else ''}",
                width="stretch")
    spectrum = pd.DataFrame({"i": np.arange(1, rank + 1), "σ": svd.s, "energy": np.cumsum(svd.s ** 2) / max((svd.s ** 2).sum(), 1e-300)})
    marker = {"data": {"values": [{"i": k}]}, "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#e45756"},
              "encoding": {"x": field("i:Q")}}
    c = st.columns(2)
    draw({"title": "Singular values σᵢ (log scale)", "height": 240, "layer": [
        {"data": values(spectrum), "mark": {"type": "line", "color": "#4c78a8"},
         "encoding": {"x": field("i:Q", title="i"), "y": field("σ:Q", scale={"type": "log"}),
                      "tooltip": [field("i:Q"), field("σ:Q", format=".4g")]}}, marker]}, c[0])
    draw({"title": "Energy kept by the first k", "height": 240, "layer": [
        {"data": values(spectrum), "mark": {"type": "line", "color": "#4c78a8"},
         "encoding": {"x": field("i:Q", title="k"), "y": field("energy:Q", axis={"format": "%"}, scale={"zero": False}),
                      "tooltip": [field("i:Q"), field("energy:Q", format=".3%")]}}, marker]}, c[1])
    st.caption(f"Red: k = {k}. This image needs k = {low_rank.rank_for_energy(svd.s, 0.9)} for 90% of its energy and "
               f"k = {low_rank.rank_for_energy(svd.s, 0.99)} for 99%. Photos have a few strong layers (broad light and shade) "
               "and a long tail of weak ones (texture and noise). The first layer is mostly the overall brightness, which is why "
               "it alone holds most of the energy while the picture is still a blur.")
    st.latex(r"A = \sum_{i=1}^{r} \sigma_i u_i v_i^\top,\qquad A_k = \sum_{i=1}^{k} \sigma_i u_i v_i^\top,\qquad "
             r"\lVert A - A_k\rVert_F^2 = \sum_{i>k} \sigma_i^2 \;(\text{the least any rank-}k\text{ matrix can miss})")
    show_code(low_rank.reconstruct, low_rank.energy)

with tab_pca, friendly_errors():
    c = st.columns(3)
    name = c[0].selectbox("Dataset", pca.DATASETS, key="pca.data",
                          help="The sentiment sentences are first turned into 384 numbers each by MiniLM (loaded once per server).")
    result, labels, row = pca_result(name)
    components = min(20, len(result.explained_variance_ratio))  # the first 20 are drawn and offered
    x_pc = c[1].selectbox("Horizontal axis", range(1, components + 1), 0, format_func=lambda i: f"component {i}", key="pca.x")
    y_pc = c[2].selectbox("Vertical axis", range(1, components + 1), 1, format_func=lambda i: f"component {i}", key="pca.y")
    table = pca.variance_table(result).head(components)
    needed = int(np.searchsorted(pca.variance_table(result).cumulative, 0.9 - 1e-12) + 1)
    kpi = st.columns(3)
    kpi[0].metric("Rows × columns", f"{len(labels):,} × {len(result.mean)}")
    kpi[1].metric(f"Variance along components {x_pc} and {y_pc}",
                  f"{result.explained_variance_ratio[x_pc - 1] + (result.explained_variance_ratio[y_pc - 1] if y_pc != x_pc else 0):.1%}")
    kpi[2].metric("Components for 90% of the variance", f"{needed} of {len(result.explained_variance_ratio)}")
    st.caption(f"One row is {row}.")
    points = pd.DataFrame({"x": result.scores[:, x_pc - 1], "y": result.scores[:, y_pc - 1], "label": labels.astype(str)})
    left, right = st.columns([3, 2])
    draw({"title": f"Each row at its coordinates along components {x_pc} and {y_pc}", "height": 420, "data": points,
          "mark": {"type": "point", "filled": True, "size": 22, "opacity": 0.7},
          "encoding": {"x": field("x:Q", title=f"component {x_pc}"), "y": field("y:Q", title=f"component {y_pc}"),
                       "color": field("label:N", scale={"scheme": "tableau10"}, title="label", legend={"orient": "right", "labelLimit": 0}),
                       "tooltip": [field("label:N"), field("x:Q", format=".3f"), field("y:Q", format=".3f")]}}, left)
    draw({"title": "Share of the variance per component", "height": 420, "layer": [
        {"data": values(table), "mark": {"type": "bar", "color": "#bab0ac"},
         "encoding": {"x": field("component:O", axis={"labelAngle": 0, "labelOverlap": False}),  # 20 bands: each number fits flat
                      "y": field("share:Q", axis={"format": "%"}, title="share of the variance"),
                      "tooltip": [field("component:O"), field("share:Q", format=".2%"), field("cumulative:Q", format=".2%")]}},
        {"data": values(table), "mark": {"type": "line", "point": {"color": "#222222"}, "color": "#222222"},
         "encoding": {"x": field("component:O", axis={"labelAngle": 0, "labelOverlap": False}), "y": field("cumulative:Q")}}]}, right)
    right.caption("Bars: each component's share; black: the running total. Labels were not used to find the components: "
                  "where the classes still fall apart, the widest directions of the data happen to separate them.")
    if name == "digits":
        shown = min(6, components)
        mean_tiles = pca.as_pictures([result.mean], ["the mean digit"])
        tiles = pca.as_pictures(result.components[:shown], [f"component {i + 1}" for i in range(shown)])
        limit = float(np.abs(tiles.value).max())
        pixel = {"x": field("col:O", axis=None), "y": field("row:O", axis=None)}
        c = st.columns([1, 5])
        square = {"autosize": {"type": "pad"}, "width": 90, "height": 90}  # pixels stay square
        draw({"data": mean_tiles, "mark": "rect", "title": "The mean digit", **square,
              "encoding": {**pixel, "color": field("value:Q", scale={"scheme": "greys", "domain": [0, 16]}, legend=None)}}, c[0],
             width="content")
        draw({"data": tiles, "mark": "rect", **square,
              "title": "The first components as 8 × 8 pictures",
              "encoding": {**pixel, "column": field("picture:N", sort=None, title=None),
                           "color": field("value:Q", title="weight",
                                          scale={"scheme": "redblue", "reverse": True, "domain": [-limit, limit], "domainMid": 0})}}, c[1],
             width="content")
        st.caption("The mean digit: black = 16, the most ink a pixel holds. A digit is the mean digit plus some amount of each "
                   "component: a component adds ink where it is red and removes "
                   "it where it is blue (a negative amount does the opposite).")
    st.latex(r"X - \mu = U\Sigma V^\top,\qquad \text{coordinates} = (X-\mu)V_k = U_k\Sigma_k,\qquad "
             r"\text{share}_i = \frac{\sigma_i^2}{\sum_j \sigma_j^2}")
    show_code(pca.pca)

with tab_lora, friendly_errors():
    st.markdown("Fine-tuning changes a weight matrix W by some ΔW. LoRA learns that change as **B·A**, two thin matrices of rank r, so it "
                "trains r·(d_in + d_out) numbers instead of d_in·d_out. That only works if ΔW's energy sits in a few directions. "
                "Below: a 64 × 64 update whose singular values decay (as measured for real fine-tuning updates by Hu et al., 2021), "
                "beside a random matrix of the same size.")
    c = st.columns(4)
    true_rank = c[0].slider("Directions the update really uses", 1, 32, 4, key="lora.k")
    decay = c[1].slider("Decay of its singular values", 0.3, 1.0, 0.6, 0.05, key="lora.decay")
    noise = c[2].slider("Full-rank noise", 0.0, 0.5, 0.05, 0.05, key="lora.noise")
    r = c[3].select_slider("LoRA rank r", [1, 2, 4, 8, 16, 32, 64], 4, key="lora.r")
    spectra = state.cached(low_rank.lora_bridge)(true_rank, decay, noise)
    image_s = state.shared(sample_svd)(low_rank.SAMPLE_IMAGES[0])[1].s
    curves = pd.concat([low_rank.energy_curve(s, name, 64) for name, s in
                        [*spectra.items(), ("the photo (first 64 of its 427)", image_s)]])
    kept = {name: low_rank.energy(s, r) for name, s in spectra.items()}
    update, random = kept.values()
    kpi = st.columns(3)
    kpi[0].metric(f"Update's energy a rank-{r} B·A can reach", f"{update:.1%}")
    kpi[1].metric(f"Random matrix's energy at rank {r}", f"{random:.1%}")
    kpi[2].metric(f"Numbers LoRA trains: r·(64 + 64), of {64 * 64:,}", f"{r * 128:,}")
    draw({"title": "Energy kept by the top k singular values", "height": 320, "layer": [
        {"data": values(curves), "mark": {"type": "line", "point": {"size": 12}},
         "encoding": {"x": field("k:Q", title="k"), "y": field("energy:Q", axis={"format": "%"}),
                      "color": field("matrix:N", scale={"range": ["#e45756", "#bab0ac", "#4c78a8"]}, title=None,
                                     legend={"orient": "bottom", "labelLimit": 0}),
                      "tooltip": [field("matrix:N"), field("k:Q"), field("energy:Q", format=".2%")]}},
        {"data": {"values": [{"k": r}]}, "mark": {"type": "rule", "strokeDash": [4, 3]}, "encoding": {"x": field("k:Q")}}]})
    st.caption(f"Dashed: r = {r}. A rank-{r} B·A can reach at most {update:.1%} of this update's energy (Eckart–Young) and "
               f"{random:.1%} of a random matrix's: a thin B·A suits an update like the red one, not a random one.")
    st.page_link("pages/lora_update.py", label="Train LoRA on such an update: the rank-r update", icon="🧩")
    st.page_link("pages/lora_finetune.py", label="Fine-tune BERT with LoRA", icon="🪡")
    show_code(low_rank.lora_bridge)
