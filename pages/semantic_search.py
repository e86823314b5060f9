import numpy as np
import pandas as pd
import streamlit as st

from core.infra import data
from core.lm import sentence_embeddings as se
from core.lm import tfidf
from ui import state
from ui.page import friendly_errors, header, literal, show_code, text_box
from ui.vega import draw, field

header(
    "🔎 Sentence embeddings and search",
    "word2vec gives a word **one** vector, whatever the sentence. A transformer encoder gives every occurrence its "
    "own, computed from the whole sentence: below, the same word in different sentences, through MiniLM's six "
    "layers (all-MiniLM-L6-v2, offline). Averaging a sentence's token vectors gives a **sentence embedding**, and "
    "comparing them by cosine gives **semantic search**: documents that mean what you asked, even when they share "
    "none of its words. TF-IDF search on the same documents stands beside it.",
)

BANK = """We sat on the bank of the river and watched the boats.
The river overflowed its bank after the storm.
Grass grew thick along the bank of the stream.
She opened a savings account at the bank.
The bank raised its interest rates again.
He went to the bank to deposit his paycheck."""
DOC_SETS = {"sentiment": f"The sentiment sentences ({len(data.sentiment())})", "sections": "The manual's sections (79 help() topics)",
            "upload": "Your own text file"}
QUERY = {"sentiment": "the meal arrived lukewarm", "sections": "how do I catch an error?", "upload": ""}


def contextual(word: str, sentences: tuple[str, ...]) -> se.ContextualVectors:
    return se.contextual_vectors(state.model("minilm"), word, list(sentences))


def documents(source: str, upload: bytes | None, name: str, unit: str) -> tfidf.DocumentSet:
    if source == "sections":
        sections = data.python_docs_sections()
        return tfidf.document_set(list(sections.values()), list(sections), max_documents=se.MAX_SEARCH_DOCUMENTS)
    if source == "sentiment":
        texts = data.sentiment().text.tolist()
    else:
        texts = tfidf.documents_from_text(data.text_from_upload(upload, name), unit)
    return tfidf.document_set(texts, max_documents=se.MAX_SEARCH_DOCUMENTS)


def semantic_index(source: str, upload: bytes | None, name: str, unit: str) -> se.SemanticIndex:
    return se.SemanticIndex.build(state.model("minilm"), state.shared(documents)(source, upload, name, unit).texts)


def tfidf_model(source: str, upload: bytes | None, name: str, unit: str) -> tfidf.DocumentTerms:
    return tfidf.fit_tfidf(tfidf.TfidfConfig(), state.shared(documents)(source, upload, name, unit).texts)


def similarity_chart(matrix, labels: list[str], title: str) -> dict:
    """Occurrence × occurrence cosines, each written in its cell; darker = more alike, from the lowest value shown to 1."""
    n = len(labels)
    frame = pd.DataFrame({"a": [labels[i] for i in range(n) for _ in range(n)], "b": [str(j + 1) for j in range(n)] * n,
                          "cosine": matrix.ravel()})
    low = float(np.floor(min(matrix.min(), 0.9) * 10) / 10)
    dark = {"condition": {"test": f"datum.cosine > {low + 0.6 * (1 - low):.3f}", "value": "white"}, "value": "black"}
    return {"title": title, "data": frame, "height": {"step": 34}, "width": {"step": 44}, "layer": [
        {"mark": "rect", "encoding": {"color": field("cosine:Q", scale={"scheme": "purples", "domain": [low, 1]}, title="cosine")}},
        {"mark": {"type": "text", "fontSize": 12}, "encoding": {"text": field("cosine:Q", format=".2f"), "color": dark}}],
        "encoding": {"x": field("b:N", sort=[str(j + 1) for j in range(n)], title="sentence", axis={"labelAngle": 0}),
                     "y": field("a:N", sort=labels, title=None, axis={"labelLimit": 420}),  # a short sentence whole
                     "tooltip": [field("a:N"), field("b:N", title="sentence"), field("cosine:Q", format=".3f")]}}


# ----------------------------------------------------------------------------- the same word, different vectors

st.subheader("1 · The same word in different sentences")
st.latex(r"\vec w^{(\ell)}_{s} = \frac{1}{|P|}\sum_{t\in P} h^{(\ell)}_t(s)\quad(P = \text{the word's pieces in sentence } s),\qquad "
         r"\cos\big(\vec w_s, \vec w_{s'}\big)")
c = st.columns([1, 3])
word = text_box("Word", "bank", 60, container=c[0], key="ss.word")
layer = c[0].slider("Layer (0 = embeddings, before any attention)", 0, 6, 6, key="ss.layer")
text = text_box(f"Sentences, one per line (up to {se.MAX_SENTENCES})", BANK, 20_000, area=True, container=c[1], height=170,
                key="ss.sentences")
with friendly_errors(literal_text=True):
    result = state.cached(contextual)(word, tuple(text.splitlines()))
    if result.missing:
        st.info(f"{len(result.missing)} sentence{'s' * (len(result.missing) > 1)} without '{literal(result.word)}' as a whole word "
                "left out.")
    if result.dropped:
        st.info(f"Only the first {se.MAX_SENTENCES} sentences are compared; {result.dropped} more left out.")
    a, b = st.columns([3, 2])
    with a:
        draw(similarity_chart(result.similarity(layer), result.labels, f"cos between the vectors of '{result.word}' at layer {layer}"))
    (i, j, hi), (k, m, lo) = result.extremes(layer)
    low_shown = float(np.floor(min(lo, 0.9) * 10) / 10)
    a.caption(f"At layer {layer} the closest pair is {i + 1} and {j + 1} (cos {hi:.2f}) and the farthest is {k + 1} and {m + 1} "
              f"(cos {lo:.2f}); colours run from {low_shown:.1f} to 1. A static vector (word2vec, or MiniLM's own input table) "
              "would give 1.00 in every cell.")
    spread = result.spread_by_layer().melt("layer", var_name="pairs", value_name="cosine")
    with b:
        draw({"title": "cos between occurrences, by layer", "data": spread, "height": 260, "layer": [
            {"mark": {"type": "line", "point": True}, "encoding": {
                "x": field("layer:O", title="layer", axis={"labelAngle": 0}),
                "y": field("cosine:Q", scale={"domain": [min(0.0, spread.cosine.min()), 1]}),
                "color": field("pairs:N", title="over all pairs", scale={"domain": ["mean", "min"], "range": ["#1f77b4", "#ff7f0e"]}),
                "tooltip": [field("layer:O"), field("pairs:N"), field("cosine:Q", format=".3f")]}},
            {"data": {"values": [{"layer": layer}]}, "mark": {"type": "rule", "strokeDash": [4, 3]}, "encoding": {"x": field("layer:O")}}]})
        first, last = result.spread_by_layer().iloc[[0, -1]]["mean"]
        st.caption(f"Mean cosine {first:.2f} at layer 0, {last:.2f} after layer 6: "
                   + ("attention pulls the occurrences apart by their context." if last < first else
                      "here the context did not pull them apart."))

# ----------------------------------------------------------------------------- sentence embeddings and search

st.divider()
st.subheader("2 · Sentence embeddings and semantic search")
st.latex(r"e(s) = \frac{m}{\lVert m\rVert},\quad m = \frac{\sum_t \mathrm{mask}_t\,h^{(6)}_t}{\sum_t \mathrm{mask}_t},\qquad "
         r"\mathrm{score}(q, d) = e(q)\cdot e(d) = \cos\big(e(q), e(d)\big)")
source = st.radio("Documents", list(DOC_SETS), format_func=DOC_SETS.get, horizontal=True, key="ss.docs")
upload, name, unit = None, "", "line"
if source == "upload":
    file = st.file_uploader(f"A UTF-8 text file (up to {data.MAX_UPLOAD_MB} MB)", type=["txt", "md", "csv"], key="ss.upload")
    unit = st.radio("One document per", ["line", "paragraph", "sentence"], horizontal=True, key="ss.unit")
    upload, name = (file.getvalue(), file.name) if file is not None else (None, "")
with friendly_errors(literal_text=True):
    if source == "upload" and upload is None:
        st.info(f"Upload a text file: each line (or paragraph, or sentence) becomes a document; the first "
                f"{se.MAX_SEARCH_DOCUMENTS:,} are embedded.")
        st.stop()
    docs = state.shared(documents)(source, upload, name, unit)
    for note in docs.notes():
        st.info(note.replace(f"{tfidf.MAX_DOCUMENTS:,}", f"{se.MAX_SEARCH_DOCUMENTS:,}"), icon="🧹")
    with st.spinner(f"Embedding {len(docs.texts):,} documents with MiniLM (once per server, a few seconds)…"):
        index = state.shared(semantic_index)(source, upload, name, unit)
    model = state.shared(tfidf_model)(source, upload, name, unit)
    c = st.columns([3, 1])
    query = text_box("Query", QUERY[source], 2_000, container=c[0], key=f"ss.query.{source}")
    k = c[1].slider("Results", 1, 20, 5, key="ss.k")
    if source == "sections":
        st.caption("Each section is embedded from its first 256 word pieces (MiniLM's limit), so meaning search sees its beginning.")
    left, right = st.columns(2)
    shown = {"cosine": st.column_config.NumberColumn(format="%.3f"), "text": st.column_config.TextColumn(width="large")}
    with left:
        st.markdown("**By meaning: MiniLM sentence embeddings**")
        hits = index.search(state.model("minilm"), query, k)
        st.dataframe(hits.drop(columns="rank").assign(text=hits.text.str.slice(0, 200)), hide_index=True, width="stretch",
                     column_config=shown)
    with right:
        st.markdown("**By shared words: TF-IDF**")
        words_hits = None
        with friendly_errors(literal_text=True):
            words_hits = tfidf.search(model, query, k)
            st.dataframe(words_hits.drop(columns="rank").assign(text=words_hits.text.str.slice(0, 200)), hide_index=True,
                         width="stretch", column_config=shown)
    both = set(hits.document) & set(words_hits.document) if words_hits is not None else set()
    terms = [t for t in tfidf.analyze(query, model.config) if t in model.index]
    st.caption(f"The two top-{k} lists share {len(both)} document{'s' * (len(both) != 1)}. TF-IDF can only match the query's terms "
               f"that occur in these documents ({literal(', '.join(terms[:8])) or 'none'}); the embeddings match meaning, "
               f"with scores from {hits.cosine.min():.2f} to {hits.cosine.max():.2f}.")
show_code(se.embed, se.SemanticIndex.search, se.contextual_vectors)
