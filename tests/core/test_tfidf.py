"""core.lm.tfidf against scikit-learn's CountVectorizer and TfidfVectorizer on the same documents and settings."""

import itertools

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from core.errors import LabError
from core.infra import data
from core.lm import tfidf
from core.lm.tfidf import TfidfConfig, document_set, fit_tfidf, nearest_documents, search

SENTIMENT = data.sentiment().text.tolist()
SECTIONS = list(data.python_docs_sections().values())
ODD = ["Ünïcödé café CAFÉ naïve", "日本語 テキスト 2024", "x y z", "The the THE the", "snake_case and CamelCase 3.14",
       "مرحبا بالعالم hello", "a", "emoji 🙂 here 🙂"]  # "x y z" and "a" have no term: all-zero rows


def reference(config: TfidfConfig) -> TfidfVectorizer:
    return TfidfVectorizer(lowercase=config.lowercase, stop_words="english" if config.stop_words else None, min_df=config.min_df,
                           max_df=config.max_df, use_idf=config.use_idf, smooth_idf=config.smooth_idf,
                           sublinear_tf=config.sublinear_tf, norm=None if config.norm == "none" else "l2")


# every combination of the switches (idf off makes smoothing moot)
SETTINGS = [TfidfConfig(lowercase=lc, stop_words=sw, use_idf=idf, smooth_idf=smooth, sublinear_tf=sub, norm=norm)
            for lc, sw, (idf, smooth), sub, norm in itertools.product(
                [True, False], [False, True], [(True, True), (True, False), (False, True)], [False, True], ["l2", "none"])]


def assert_same(config: TfidfConfig, documents: list[str]) -> None:
    ours, ref = fit_tfidf(config, documents), reference(config)
    expected = ref.fit_transform(documents)
    assert ours.terms == ref.get_feature_names_out().tolist()
    np.testing.assert_allclose(ours.weights.toarray(), expected.toarray(), rtol=0, atol=1e-12)
    if config.use_idf:
        np.testing.assert_allclose(ours.idf, ref.idf_, rtol=0, atol=1e-12)


def settings_id(c: TfidfConfig) -> str:
    return "-".join(f"{k}={v}" for k, v in vars(c).items() if k not in ("min_df", "max_df"))


@pytest.mark.parametrize("config", SETTINGS, ids=settings_id)
def test_tfidf_equals_scikit_learn(config):
    assert_same(config, SENTIMENT)
    assert_same(config, ODD)


@pytest.mark.parametrize("config", [TfidfConfig(), TfidfConfig(lowercase=False, stop_words=True, sublinear_tf=True),
                                    TfidfConfig(smooth_idf=False, norm="none"), TfidfConfig(use_idf=False)])
def test_tfidf_equals_scikit_learn_on_the_manuals_sections(config):
    assert_same(config, SECTIONS)


@pytest.mark.parametrize("min_df, max_df", [(2, 1.0), (5, 0.5), (1, 0.05), (3, 0.2)])
def test_document_frequency_pruning_equals_scikit_learn(min_df, max_df):
    config = TfidfConfig(min_df=min_df, max_df=max_df)
    ours, ref = fit_tfidf(config, SECTIONS), reference(config)
    expected = ref.fit_transform(SECTIONS)
    assert ours.terms == ref.get_feature_names_out().tolist()
    np.testing.assert_allclose(ours.weights.toarray(), expected.toarray(), rtol=0, atol=1e-12)


def test_bag_of_words_counts_equal_count_vectorizer():
    ours = fit_tfidf(TfidfConfig(), SENTIMENT)
    ref = CountVectorizer()
    assert (ours.counts != ref.fit_transform(SENTIMENT)).nnz == 0
    assert ours.terms == ref.get_feature_names_out().tolist()


def test_queries_are_weighed_with_the_fitted_idf_like_transform():
    config = TfidfConfig(sublinear_tf=True, stop_words=True)
    model, ref = fit_tfidf(config, SENTIMENT), reference(config).fit(SENTIMENT)
    queries = ["the food was cold and the staff rude", "refund refund please", "zzz unknownword", ""]
    np.testing.assert_allclose(tfidf.transform(model, queries).toarray(), ref.transform(queries).toarray(), rtol=0, atol=1e-12)


def test_nearest_documents_are_scikit_learns_cosine_ranking():
    model = fit_tfidf(TfidfConfig(), SENTIMENT)
    cos = cosine_similarity(TfidfVectorizer().fit_transform(SENTIMENT))
    for i in (0, 17, 300):
        got = nearest_documents(model, i, k=5)
        scores = np.delete(cos[i], i)
        np.testing.assert_allclose(got.cosine, np.sort(scores)[::-1][:5], atol=1e-12)
        assert i not in got.document.tolist()
        np.testing.assert_allclose(cos[i, got.document], got.cosine, atol=1e-12)


def test_search_ranks_by_cosine_and_refuses_empty_or_unknown_queries():
    model = fit_tfidf(TfidfConfig(), SENTIMENT)
    hits = search(model, "cold food", k=3)
    ref = TfidfVectorizer().fit(SENTIMENT)
    cos = cosine_similarity(ref.transform(["cold food"]), ref.transform(SENTIMENT)).ravel()
    np.testing.assert_allclose(hits.cosine, np.sort(cos)[::-1][:3], atol=1e-12)
    for bad in ("", "   ", "\x00"):
        with pytest.raises(LabError, match="type a query|none of the query"):
            search(model, bad)
    with pytest.raises(LabError, match="none of the query's words"):
        search(model, "xylophonist quokka")


def test_empty_and_duplicate_documents_are_dropped_and_counted():
    docs = ["Great food!", "great food!", "Great food!", "", "   ", "!!!", "I", "Great food!  "]
    s = document_set(docs)
    assert s.texts == ["Great food!", "great food!"]
    assert (s.empty, s.duplicates) == (4, 2)
    assert any("4 empty documents" in n for n in s.notes()) and any("2 duplicate documents" in n for n in s.notes())
    with pytest.raises(LabError, match="no document"):
        document_set(["", "?", "a b c"])
    capped = document_set([f"document number {i}" for i in range(10)], max_documents=4)
    assert len(capped.texts) == 4 and capped.truncated == 6


def test_documents_from_an_upload():
    text = "First line here.\nSecond line. Still second.\n\nThird paragraph."
    assert tfidf.documents_from_text(text, "line") == ["First line here.", "Second line. Still second.", "", "Third paragraph."]
    assert tfidf.documents_from_text(text, "paragraph") == ["First line here.\nSecond line. Still second.", "Third paragraph."]
    assert tfidf.documents_from_text(text, "sentence") == ["First line here.", "Second line.", "Still second.", "Third paragraph."]


def test_bad_settings_say_what_to_change():
    with pytest.raises(LabError, match="no term"):
        fit_tfidf(TfidfConfig(min_df=5), ["one two", "three four"])
    with pytest.raises(LabError, match="no documents"):
        fit_tfidf(TfidfConfig(), [])
    with pytest.raises(LabError, match="no document 9"):
        nearest_documents(fit_tfidf(TfidfConfig(), ["one two", "two three"]), 9)


def test_heatmap_cells_hold_the_matrix_values():
    model = fit_tfidf(TfidfConfig(), SENTIMENT)
    rows = [0, 1, 2]
    terms = tfidf.top_terms(model, rows, k=6)
    frame = tfidf.matrix_frame(model, rows, terms)
    assert len(frame) == 18 and frame.document.nunique() == 3
    dense = TfidfVectorizer().fit_transform(SENTIMENT).toarray()
    names = TfidfVectorizer().fit(SENTIMENT).get_feature_names_out().tolist()
    for r in frame.itertuples():
        doc = int(r.document.split(" · ")[0])
        assert r.weight == pytest.approx(dense[doc, names.index(r.term)], abs=1e-12)
