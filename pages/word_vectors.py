import pandas as pd
import streamlit as st

from core.infra import data
from core.lm import cooccurrence, tfidf, word2vec
from core.lm.word_corpus import tokenized_sentences
from core.lm.word_vectors import WordVectors, encoder_input_vectors, project
from ui import live, state
from ui.page import friendly_errors, header, literal, show_code, text_box
from ui.vega import draw, field

header(
    "🧭 From counts to word vectors",
    "How does a computer get from text to numbers that *mean* something? Four steps, each a real computation on "
    "real text. **1** A document becomes a row of word counts, reweighed by TF-IDF, and documents are compared by "
    "the angle between their rows. **2** A word becomes the counts of its neighbours; PPMI keeps the surprising "
    "ones and a truncated SVD squeezes them into a short dense vector. **3** word2vec *learns* such vectors by "
    "predicting neighbours, live. **4** Explore any of these vectors: neighbours, analogies, a map.",
)

STEPS = ["1 · Documents as counts (TF-IDF)", "2 · Co-occurrence → PPMI → SVD", "3 · word2vec, trained live", "4 · Explore the vectors"]
CORPORA = {"analogy-world": "A toy world (analogies built in)", "python-docs": "Python's reference manual",
           "sentiment": "The lab's sentiment sentences", "upload": "Your own text file"}
PROBES = {"analogy-world": "king, paris, french, mother", "python-docs": "list, function, string, exception",
          "sentiment": "food, movie, service, great", "upload": ""}
DOC_SETS = {"sentiment": f"The sentiment sentences ({len(data.sentiment())})", "sections": "The manual's sections (79 help() topics)",
            "upload": "Your own text file"}
HEAT_ROWS = 12  # documents in the heatmap: the chosen one and its nearest
HEAT_TERMS = 24  # the columns: the terms that weigh most in those rows


# ----------------------------------------------------------------------------- data, computed once and shared (read-only)


def word_sentences(corpus: str, upload: bytes | None, name: str) -> list[list[str]]:
    if corpus == "upload":
        return tokenized_sentences(data.text_from_upload(upload, name))
    if corpus == "sentiment":
        return tokenized_sentences("\n\n".join(data.sentiment().text))
    return tokenized_sentences(data.load_text(corpus))


def document_set(source: str, upload: bytes | None, name: str, unit: str) -> tfidf.DocumentSet:
    if source == "sections":
        sections = data.python_docs_sections()
        return tfidf.document_set(list(sections.values()), list(sections))
    if source == "sentiment":
        texts = data.sentiment().text.tolist()
    else:
        texts = tfidf.documents_from_text(data.text_from_upload(upload, name), unit)
    return tfidf.document_set(texts)


def tfidf_model(config: tfidf.TfidfConfig, source: str, upload: bytes | None, name: str, unit: str) -> tfidf.DocumentTerms:
    docs = state.shared(document_set)(source, upload, name, unit)
    return tfidf.fit_tfidf(config, docs.texts)


def counted(window: int, weighting: str, min_count: int, max_vocab: int, corpus: str, upload: bytes | None, name: str):
    config = cooccurrence.CountVectorsConfig(window=window, weighting=weighting, min_count=min_count, max_vocab=max_vocab)
    return cooccurrence.count(config, state.shared(word_sentences)(corpus, upload, name))


def count_vectors(config: cooccurrence.CountVectorsConfig, corpus: str, upload: bytes | None, name: str) -> cooccurrence.CountVectors:
    """Counting is cached apart, so moving α or k only redoes PPMI and the SVD."""
    vocab, counts = state.shared(counted)(config.window, config.weighting, config.min_count, config.max_vocab, corpus, upload, name)
    return cooccurrence.from_counts(config, vocab, counts)


def count_word_vectors(config, corpus: str, upload: bytes | None, name: str) -> WordVectors:
    result = state.shared(count_vectors)(config, corpus, upload, name)
    return WordVectors("PPMI + SVD", result.vocab.words, result.vectors)


def minilm_word_vectors() -> WordVectors:
    return encoder_input_vectors(state.model("minilm"))


def word_map(_vectors: WordVectors, key: tuple, words: tuple[str, ...], method: str, seed: int) -> pd.DataFrame:
    return project(_vectors, list(words), method, seed)


def probe_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w.strip().lower() for w in text.replace(";", ",").split(",") if w.strip()))[:8]


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, title: str, legend: str, x_title: str | None, y_title: str | None,
            step: int = 22, scheme: str = "blues") -> dict:
    """Every row and column labelled (a band of `step` pixels each), one colour scale from 0, its meaning in the legend."""
    return {"title": title, "data": frame, "height": {"step": step}, "width": {"step": step}, "mark": "rect", "encoding": {
        "x": field(f"{x}:N", sort=list(dict.fromkeys(frame[x])), title=x_title, axis={"labelAngle": -45, "labelOverlap": False}),
        "y": field(f"{y}:N", sort=list(dict.fromkeys(frame[y])), title=y_title, axis={"labelLimit": 340, "labelOverlap": False}),
        "color": field(f"{value}:Q", title=legend, scale={"scheme": scheme, "domainMin": 0}),
        "tooltip": [field(f"{y}:N"), field(f"{x}:N"), field(f"{value}:Q", format=".3f")]}}


def idf_and_matrix(cells: pd.DataFrame, value: str, legend: str, show_idf: bool) -> dict:
    """The document × term heatmap, and above it (TF-IDF only) each column's idf as a bar, the columns aligned."""
    matrix = heatmap(cells, "term", "document", value, "", legend, None, None)
    matrix.pop("data")
    matrix.pop("title")
    if not show_idf:
        return {"title": "The chosen document (top row) and its nearest, × their heaviest terms", "data": cells, **matrix}
    bars = {"height": 110, "width": {"step": 22}, "mark": "bar", "encoding": {
        "x": field("term:N", sort=list(dict.fromkeys(cells.term)), axis=None),
        "y": field("idf:Q", aggregate="mean", title="idf"), "color": {"value": "#8c8c8c"},
        "tooltip": [field("term:N"), field("idf:Q", aggregate="mean", format=".3f")]}}
    return {"title": "Each column's idf (rare terms weigh more); the chosen document (top row) and its nearest × their heaviest terms",
            "data": cells, "vconcat": [bars, matrix], "spacing": 4, "resolve": {"scale": {"x": "shared"}}}


def upload_widget(key: str) -> tuple[bytes | None, str]:
    file = st.file_uploader(f"A UTF-8 text file (up to {data.MAX_UPLOAD_MB} MB)", type=["txt", "md", "csv"], key=key)
    return (file.getvalue(), file.name) if file is not None else (None, "")


# ----------------------------------------------------------------------------- 1 · documents as counts


def documents_step() -> None:
    st.latex(r"x_{d,t} = \mathrm{tf}(t,d)\cdot\Big(\ln\frac{1+n}{1+\mathrm{df}(t)} + 1\Big),\qquad "
             r"x_d \leftarrow \frac{x_d}{\lVert x_d\rVert_2},\qquad \cos(d,e) = \frac{x_d\cdot x_e}{\lVert x_d\rVert\,\lVert x_e\rVert}")
    source = st.radio("Documents", list(DOC_SETS), format_func=DOC_SETS.get, horizontal=True, key="wv.docs")
    upload, name, unit = None, "", "line"
    if source == "upload":
        upload, name = upload_widget("wv.docs_upload")
        unit = st.radio("One document per", ["line", "paragraph", "sentence"], horizontal=True, key="wv.unit")
        if upload is None:
            st.info("Upload a text file; each line (or paragraph, or sentence) becomes a document.")
            return
    c = st.columns(4)
    weighting = c[0].radio("Cells hold", ["TF-IDF", "bag-of-words counts"], key="wv.weighting",
                           help="Bag-of-words: raw counts, no rarity weight, no scaling")
    bow = weighting != "TF-IDF"
    stop = c[1].toggle("Drop English stop words", False, key="wv.stop", help="scikit-learn's list of 318: the, is, and, …")
    sublinear = c[1].toggle("Sublinear tf: 1 + ln(count)", False, key="wv.sublinear", disabled=bow)
    lower = c[1].toggle("Lower-case", True, key="wv.lower")
    smooth = c[2].toggle("Smooth idf (+1 document)", True, key="wv.smooth", disabled=bow)
    norm = c[2].toggle("Scale rows to length 1", True, key="wv.norm", disabled=bow)
    min_df = c[3].slider("Min documents per term", 1, 20, 1, key="wv.min_df")
    max_df = c[3].slider("Max share of documents per term", 0.05, 1.0, 1.0, 0.05, key="wv.max_df")
    config = tfidf.TfidfConfig(lowercase=lower, stop_words=stop, min_df=min_df, max_df=max_df, use_idf=not bow, smooth_idf=smooth,
                               sublinear_tf=sublinear and not bow, norm="none" if bow or not norm else "l2")
    docs = state.shared(document_set)(source, upload, name, unit)
    for note in docs.notes():
        st.info(note, icon="🧹")
    model = state.shared(tfidf_model)(config, source, upload, name, unit)

    n_docs, n_terms = model.counts.shape
    m = st.columns(4)
    m[0].metric("Documents", f"{n_docs:,}")
    m[1].metric("Terms (columns)", f"{n_terms:,}")
    m[2].metric("Cells that are not 0", f"{model.counts.nnz / (n_docs * n_terms):.2%}", help="Most words are absent from most documents")
    m[3].metric("Mean terms per document", f"{model.counts.nnz / n_docs:.1f}")

    i = st.number_input(f"Document to compare (0 – {n_docs - 1})", 0, n_docs - 1, min(3, n_docs - 1), key="wv.doc")
    st.markdown(f"**{docs.names[i] if source == 'sections' else f'Document {i}'}:**")
    st.text(model.documents[i][:600] + ("…" if len(model.documents[i]) > 600 else ""))
    near = tfidf.nearest_documents(model, int(i), k=HEAT_ROWS - 1)
    st.dataframe(near.drop(columns="rank").assign(text=near.text.str.slice(0, 160)), hide_index=True, width="stretch",
                 column_config={"cosine": st.column_config.NumberColumn(format="%.3f"), "text": st.column_config.TextColumn(width="large")})
    if near.cosine.iloc[0] == 0:
        st.info("No other document shares a term with this one: every cosine is 0.")
    rows = [int(i), *near.document.tolist()]
    terms = tfidf.top_terms(model, rows, HEAT_TERMS)
    labels = [f"{r} · {docs.names[r]}" if source == "sections" else tfidf.label(model.documents[r], r) for r in rows]
    cells = tfidf.matrix_frame(model, rows, terms, labels)
    cells["idf"] = cells.term.map(lambda t: model.idf[model.index[t]])
    value = "count" if bow else "weight"
    draw(idf_and_matrix(cells, value, "count" if bow else "TF-IDF weight", not bow))
    shown = (cells[value] > 0).groupby(cells.term).sum()
    st.caption(f"The heatmap shows {len(terms)} of {n_terms:,} columns and {len(rows)} of {n_docs:,} rows; "
               f"the chosen document has {int((cells.loc[cells.document == labels[0], value] > 0).sum())} of those terms, "
               f"and the term shared by most of these rows is '{shown.idxmax()}' ({int(shown.max())} of {len(rows)}).")
    show_code(tfidf.fit_tfidf, tfidf.weigh)


# ----------------------------------------------------------------------------- 2 · co-occurrence, PPMI, SVD


def counts_step(corpus: str, upload: bytes | None, name: str, probes: tuple[str, ...]) -> None:
    st.latex(r"\mathrm{PPMI}(w,c) = \max\Big(\log\frac{P(w,c)}{P(w)\,P_\alpha(c)},\,0\Big),\qquad "
             r"P_\alpha(c) = \frac{\#(c)^\alpha}{\sum_{c'}\#(c')^\alpha},\qquad \mathrm{PPMI}\approx U_k\Sigma_kV_k^\top,\ "
             r"\vec w = (U_k\Sigma_k)_w")
    c = st.columns(4)
    window = c[0].slider("Window (words each side)", 1, 10, 4, key="wv.window")
    weighting = c[0].radio("A word d steps away counts", ["uniform", "harmonic"], horizontal=True, key="wv.cw",
                           format_func=lambda w: "1" if w == "uniform" else "1/d", help="1/d is GloVe's weighting")
    min_count = c[1].slider("Min count", 1, 50, 5, key="wv.cmin", help="Rarer words are dropped before counting")
    max_vocab = c[1].select_slider("Vocabulary cap (most frequent words)", [200, 500, 1000, 2000, 5000], 2000, key="wv.cap")
    alpha = c[2].select_slider("Context smoothing α", [0.5, 0.75, 1.0], 0.75, key="wv.alpha",
                               help="1 = plain PPMI; 0.75 gives rare contexts a little less weight (as word2vec's noise does)")
    dim = c[3].select_slider("SVD dimensions k", [2, 5, 10, 20, 50, 100, 200, 300], 50, key="wv.dim")
    config = cooccurrence.CountVectorsConfig(window=window, weighting=weighting, min_count=min_count, max_vocab=max_vocab,
                                             alpha=alpha, dim=dim)
    state.remember("wv.count_config", config)  # step 4 explores these vectors
    result = state.shared(count_vectors)(config, corpus, upload, name)
    vectors = state.shared(count_word_vectors)(config, corpus, upload, name)
    v = len(result.vocab)
    m = st.columns(4)
    m[0].metric("Vocabulary (rows = columns)", f"{v:,}")
    m[1].metric("Pairs ever seen together", f"{result.counts.nnz / v**2:.1%}", help="Share of the V × V cells that are not 0")
    m[2].metric("PPMI cells > 0", f"{result.ppmi.nnz / v**2:.1%}")
    m[3].metric(f"Energy kept by k = {dim}", f"{result.energy_kept:.0%}", help="Σ of the k largest σ² over Σ of all σ² (‖PPMI‖²)")

    known = [p for p in probes if p in vectors.index]
    if len(known) < len(probes):
        unknown = ", ".join(p for p in probes if p not in vectors.index)
        st.info(f"Not in the vocabulary (min count {min_count}, cap {max_vocab:,}): {literal(unknown)}")
    if known:
        cells = cooccurrence.matrix_cells(result, known, n_contexts=16)
        a, b = st.columns(2)
        with a:
            draw(heatmap(cells, "context", "word", "count", "Co-occurrence counts #(w, c)", "count", "context word", None, 28))
        with b:
            draw(heatmap(cells, "context", "word", "ppmi", "PPMI(w, c): surprise, not frequency", "PPMI", "context word", None, 28,
                         "greens"))
        st.caption("Columns: the contexts with the largest PPMI for these words. Counts favour words that are everywhere; "
                   "PPMI favours contexts that occur with this word more often than chance.")
    sv = pd.DataFrame({"i": range(1, len(result.singular_values) + 1), "σ": result.singular_values})
    a, b = st.columns(2)
    with a:
        draw({"title": f"The {dim} largest singular values of PPMI", "data": sv, "height": 240, "mark": {"type": "line", "point": True},
              "encoding": {"x": field("i:Q", title="direction i"), "y": field("σ:Q", title="σᵢ"),
                           "tooltip": [field("i:Q"), field("σ:Q", format=".3f")]}})
    with b:
        if known:
            table = pd.DataFrame({p: vectors.neighbours(p, 8).word.tolist() for p in known})
            st.markdown(f"**Nearest words by the cosine of their {dim}-dimensional vectors**")
            st.dataframe(table, hide_index=True, width="stretch")
    show_code(cooccurrence.cooccurrence, cooccurrence.ppmi, cooccurrence.truncated_svd)


# ----------------------------------------------------------------------------- 3 · word2vec


def word2vec_step(corpus: str, sentences: list[list[str]], probes: tuple[str, ...]) -> None:
    st.latex(r"\mathcal{L}(w,c) = -\log\sigma(u_c\!\cdot\! v_w) - \sum_{n\sim P_{\text{noise}}}^{K}\log\sigma(-u_n\!\cdot\! v_w),\qquad "
             r"\frac{\partial\mathcal{L}}{\partial v_w} = \sum_j g_j u_j,\ \ \frac{\partial\mathcal{L}}{\partial u_j} = g_j v_w,\ \ "
             r"g_j = \sigma(u_j\!\cdot\! v_w) - \text{label}_j")
    with st.form("wv.w2v.form"):
        c = st.columns(4)
        dim = c[0].select_slider("Dimensions", [2, 5, 10, 20, 50, 100, 200, 300], 50, key="wv.w_dim")
        window = c[0].slider("Window (largest)", 1, 10, 5, key="wv.w_window")
        negatives = c[1].slider("Noise words per pair (K)", 1, 20, 5, key="wv.w_neg")
        epochs = c[1].slider("Epochs", 1, 30, 5, key="wv.w_epochs")
        min_count = c[2].slider("Min count", 1, 50, 5, key="wv.w_min")
        sample = c[2].select_slider("Subsampling t", [0.0, 1e-5, 1e-4, 1e-3, 1e-2], 1e-3, key="wv.w_sample",
                                    format_func=lambda t: "off" if t == 0 else f"{t:g}")
        lr = c[3].select_slider("Learning rate (start)", [0.001, 0.0025, 0.01, 0.025, 0.05, 0.1, 1.0, 10.0], 0.025, key="wv.w_lr")
        seed = c[3].number_input("Seed", 0, 10_000, 0, key="wv.w_seed")
        submitted = st.form_submit_button("Train word2vec", type="primary")
    config = word2vec.Word2VecConfig(dim=dim, window=window, negatives=negatives, epochs=epochs, min_count=min_count, sample=sample,
                                     lr=lr, min_lr=min(0.0001, lr), seed=int(seed), probes=probes)
    result = live.last("wv.w2v")
    if submitted or (result is None and state.recall("wv.w2v.history") is None):  # the first visit trains the defaults
        box = st.empty()

        def show(step: int, neighbours: dict[str, list[str]]) -> None:
            box.dataframe(pd.DataFrame(neighbours), hide_index=True, width="stretch")

        state.remember("wv.w2v.corpus", corpus)
        state.remember("wv.w2v.run", state.recall("wv.w2v.run", 0) + 1)  # names this run in the map's cache key
        result = live.train("wv.w2v", lambda on_step: word2vec.fit(config, sentences, on_step, show),
                            total_steps=word2vec.total_steps(config, sentences), metrics=("loss",))
        box.empty()
    if result is None:
        return
    trained_on = CORPORA[state.recall("wv.w2v.corpus", corpus)]
    h = result.history
    m = st.columns(4)
    losses = pd.Series(h.metrics.get("loss", [])).dropna()
    m[0].metric("Loss per pair, last step", f"{losses.iloc[-1]:.3f}" if len(losses) else "–")
    m[1].metric("Words per second", f"{h.last('words_per_s'):,.0f}")
    m[2].metric("Vocabulary", f"{len(result.vocab):,}")
    m[3].metric("Steps", f"{h.steps[-1]:,} of {h.total_steps:,}")
    if h.diverged:
        st.warning("The loss became infinite or NaN, so training stopped: lower the learning rate.", icon="💥")
    st.caption(f"Trained on {trained_on[0].lower() + trained_on[1:]}, {result.config.epochs} epochs of "
               f"{result.config.dim}-dimensional vectors.")
    loss = h.frame().query("metric == 'loss'")
    draw({"title": "Loss per (centre, context) pair, each step (light) and its 25-step mean", "data": loss, "height": 220, "layer": [
        {"mark": {"type": "line", "opacity": 0.3}, "encoding": {"x": field("step:Q"), "y": field("value:Q", title="loss")}},
        {"transform": [{"window": [{"op": "mean", "field": "value", "as": "mean"}], "frame": [-12, 12]}],
         "mark": {"type": "line", "color": "#d62728"}, "encoding": {"x": field("step:Q"), "y": field("mean:Q", title="loss")}}]})
    if result.missing_probes:
        st.info(f"Not in the vocabulary (min count {result.config.min_count}): {literal(', '.join(result.missing_probes))}")
    if result.snapshots:
        probe = st.selectbox("How one word's neighbours changed as it trained", list(result.snapshots[-1][1]), key="wv.w_probe")
        history = pd.DataFrame([{"step": step, **{str(r + 1): w for r, w in enumerate(nb[probe])}} for step, nb in result.snapshots])
        st.dataframe(history, hide_index=True, width="stretch")
        st.caption(f"Row by row: the {word2vec.N_NEIGHBOURS} nearest words to '{probe}' by cosine, at the step on the left.")
    show_code(word2vec.sgns_gradients, word2vec.fit)


# ----------------------------------------------------------------------------- 4 · explore


def vectors_for(source: str, corpus: str, upload: bytes | None, name: str) -> tuple[WordVectors | None, tuple]:
    if source == "word2vec":
        result = live.last("wv.w2v")
        if result is None:
            st.info("Train word2vec in step 3 first (or explore the other vectors).")
            return None, ()
        run = state.recall("wv.w2v.run", 0)
        return WordVectors("word2vec", result.vocab.words, result.vectors), ("w2v", run)
    if source == "minilm":
        return state.shared(minilm_word_vectors)(), ("minilm",)
    config = state.recall("wv.count_config", cooccurrence.CountVectorsConfig())
    return state.shared(count_word_vectors)(config, corpus, upload, name), ("ppmi", config, corpus, name)


def explore_step(corpus: str, upload: bytes | None, name: str, probes: tuple[str, ...]) -> None:
    st.latex(r"\cos(a,b) = \frac{a\cdot b}{\lVert a\rVert\,\lVert b\rVert},\qquad a - b + c:\ \arg\max_{w\notin\{a,b,c\}}"
             r"\cos\big(w,\ \hat a - \hat b + \hat c\big)")
    sources = {"ppmi": "PPMI + SVD (step 2's settings)", "word2vec": "word2vec (your last training)",
               "minilm": "MiniLM's input embeddings (pretrained, 30k tokens)"}
    source = st.radio("Vectors", list(sources), format_func=sources.get, horizontal=True, key="wv.source")
    vectors, key = vectors_for(source, corpus, upload, name)
    if vectors is None:
        return
    st.caption(f"{len(vectors.words):,} words × {vectors.vectors.shape[1]} dimensions.")
    world = source == "minilm" or corpus == "analogy-world"
    a, b = st.columns(2)
    with a, friendly_errors(literal_text=True):
        word = text_box("Nearest neighbours of", probes[0] if probes else "king", 100, key="wv.word")
        st.dataframe(vectors.neighbours(word, 10), hide_index=True, width="stretch",
                     column_config={"cosine": st.column_config.NumberColumn(format="%.3f")})
    with b:
        st.markdown("**Analogy: a − b + c**")
        c = st.columns(3)
        x = text_box("a", "king" if world else "list", 100, container=c[0], key="wv.a")
        y = text_box("− b", "man" if world else "lists", 100, container=c[1], key="wv.b")
        z = text_box("+ c", "woman" if world else "tuples", 100, container=c[2], key="wv.c")
        with friendly_errors(literal_text=True):
            st.dataframe(vectors.analogy(x, y, z, 5), hide_index=True, width="stretch",
                         column_config={"cosine": st.column_config.NumberColumn(format="%.3f")})

    st.subheader("A map of the vectors")
    c = st.columns([1, 1, 2])
    n = c[0].slider("Most frequent words", 20, 500, 150, 10, key="wv.n_map")
    method = c[1].radio("Squeezed to 2-D by", ["PCA", "t-SNE"], horizontal=True, key="wv.method",
                        help="PCA keeps the directions of largest variance; t-SNE keeps near neighbours near (slower, on demand)")
    marked = probe_list(text_box("Words to highlight (commas)", ", ".join(probes), 300, container=c[2], key="wv.marked"))
    known = [w for w in marked if w in vectors.index]
    near = list(dict.fromkeys(x for w in known for x in vectors.neighbours(w, 5).word if x not in known))
    words = tuple(dict.fromkeys([*vectors.words[:n], *known, *near]))
    params = (key, words, method)
    if method == "t-SNE" and state.recall("wv.tsne") != params:
        if not st.button("Run t-SNE", key="wv.tsne_run", help="A few seconds for a few hundred words"):
            st.info("t-SNE takes a few seconds: press Run t-SNE (or look at the PCA map).")
            return
        state.remember("wv.tsne", params)
    with friendly_errors(literal_text=True):
        points = state.cached(word_map)(vectors, key, words, method.lower().replace("-", ""), 0)
        groups = ["your words", "their 5 nearest", "other words"]
        points["group"] = [groups[0] if w in known else groups[1] if w in near else groups[2] for w in points.word]
        bare = {"labels": False, "ticks": False}
        xy = {"x": field("x:Q", title=None, axis=bare), "y": field("y:Q", title=None, axis=bare)}
        draw({"title": f"{len(points)} words by {method}: the {n} most frequent, your words and their nearest", "data": points,
              "height": 480, "layer": [
                  {"mark": {"type": "circle", "opacity": 0.7}, "encoding": {
                      **xy, "color": field("group:N", title=None, scale={"domain": groups, "range": ["#d62728", "#ff7f0e", "#b0b0b0"]}),
                      "size": {"condition": [{"test": f"datum.group == '{groups[0]}'", "value": 140},
                                             {"test": f"datum.group == '{groups[1]}'", "value": 60}], "value": 20},
                      "tooltip": [field("word:N")]}},
                  {"transform": [{"filter": f"datum.group == '{groups[1]}'"}], "mark": {"type": "text", "dy": -8, "fontSize": 10,
                                                                                       "color": "#b35900"},
                   "encoding": {**xy, "text": field("word:N")}},
                  {"transform": [{"filter": f"datum.group == '{groups[0]}'"}], "mark": {"type": "text", "dy": -10, "fontSize": 14,
                                                                                       "fontWeight": "bold", "color": "#a01010"},
                   "encoding": {**xy, "text": field("word:N")}}]})
        missing = [w for w in marked if w not in vectors.index]
        if missing:
            st.caption(f"Not in this vocabulary: {literal(', '.join(missing))}.")
    show_code(WordVectors.analogy, project)


# ----------------------------------------------------------------------------- the page

step = st.radio("Step", STEPS, horizontal=True, key="wv.step", label_visibility="collapsed")
with friendly_errors(literal_text=True):
    if step == STEPS[0]:
        documents_step()
    else:
        corpus = st.radio("Text", list(CORPORA), format_func=CORPORA.get, horizontal=True, key="wv.corpus")
        upload, name = upload_widget("wv.upload") if corpus == "upload" else (None, "")
        if corpus == "upload" and upload is None:
            st.info("Upload a text file to count or train on it.")
            st.stop()
        probes = probe_list(text_box("Probe words (commas, up to 8)", PROBES[corpus], 300, key=f"wv.probes.{corpus}"))
        if step == STEPS[1]:
            counts_step(corpus, upload, name, probes)
        elif step == STEPS[2]:
            word2vec_step(corpus, state.shared(word_sentences)(corpus, upload, name), probes)
        else:
            explore_step(corpus, upload, name, probes)
