"""The word-vector and semantic-search pages: every control at both ends, odd text in every box, uploads,
training from the form, and the numbers shown checked against scikit-learn, gensim's rules and our core."""

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from streamlit.testing.v1 import AppTest

from core.infra import data
from core.lm import word2vec
from core.lm.analogy_world import analogy_world_text
from core.lm.word_corpus import Vocabulary, tokenized_sentences
from tests.app import conftest
from tests.app.conftest import assert_clean as ok
from tests.app.conftest import metric

pytestmark = pytest.mark.slow  # each test starts the app and reruns a page many times

WV, SS = "pages/word_vectors.py", "pages/semantic_search.py"
ODD = ["", "   ", "🙂🙂", "שלום עולם", "<b>bold</b><script>alert(1)</script>", "nul\x00byte", "x" * 20_000]
STEPS = ["1 · Documents as counts (TF-IDF)", "2 · Co-occurrence → PPMI → SVD", "3 · word2vec, trained live", "4 · Explore the vectors"]


def open_page(path: str) -> AppTest:
    return conftest.open_page(path, timeout=600)  # the search page embeds its documents on its first run


def warnings(at: AppTest) -> str:
    """The warnings' text as shown: messages quoting the learner's words arrive Markdown-escaped (ui.page.literal)."""
    return " ".join(w.value for w in at.warning).replace("\\", "")


def upload(at: AppTest, key: str, content: bytes, name: str = "mine.txt") -> None:
    at.file_uploader(key=key).set_value((name, content, "text/plain"))


def test_documents_step_counts_like_scikit_learn_and_survives_every_extreme():
    at = open_page(WV)
    ok(at)
    sentiment = data.sentiment().text.tolist()
    assert metric(at, "Documents") == f"{len(sentiment):,}"
    assert metric(at, "Terms") == f"{len(TfidfVectorizer().fit(sentiment).vocabulary_):,}"
    for key in ("wv.stop", "wv.sublinear", "wv.lower", "wv.smooth", "wv.norm"):
        at.toggle(key=key).set_value(not at.toggle(key=key).value).run()
        ok(at)
    assert metric(at, "Terms") == f"{len(TfidfVectorizer(stop_words='english', lowercase=False).fit(sentiment).vocabulary_):,}"
    at.radio(key="wv.weighting").set_value("bag-of-words counts").run()
    ok(at)
    at.number_input(key="wv.doc").set_value(639).run()
    at.number_input(key="wv.doc").set_value(0).run()
    ok(at)
    at.slider(key="wv.min_df").set_value(20).run()
    ok(at)
    at.slider(key="wv.max_df").set_value(0.05).run()
    ok(at)
    at.radio(key="wv.docs").set_value("sections").run()  # no term can be in ≥ 20 of 79 sections and ≤ 5% of them
    ok(at)
    assert "lower the minimum or raise the maximum" in warnings(at)
    at.slider(key="wv.min_df").set_value(1).run()
    at.slider(key="wv.max_df").set_value(1.0).run()
    ok(at)
    assert metric(at, "Documents") == "78"  # the 'if' and 'else' topics are the same text: one is left out, and said so
    assert any("1 duplicate document left out" in i.value for i in at.info)


def test_documents_from_an_upload_say_what_was_dropped():
    at = open_page(WV)
    at.radio(key="wv.docs").set_value("upload").run()
    ok(at)
    assert at.info  # asks for a file
    upload(at, "wv.docs_upload", b"Great food.\n\nGreat food.\n!!\nGreat food.\nTerrible service.\nA\n")
    at.run()
    ok(at)
    notes = " ".join(i.value for i in at.info)
    assert "2 duplicate documents" in notes and "3 empty documents" in notes
    assert metric(at, "Documents") == "2"
    at.radio(key="wv.unit").set_value("paragraph").run()
    ok(at)
    for bad, said in [(b"x" * 5_000_001, "limit is 5 MB"), (b"\xff\xfe\x00binary", "not UTF-8"), (b"\n\n  \n", "empty")]:
        upload(at, "wv.docs_upload", bad)
        at.run()
        ok(at)
        assert said in warnings(at), (said, warnings(at))


def test_counts_step_extremes_and_odd_probe_words():
    at = open_page(WV)
    at.radio(key="wv.step").set_value(STEPS[1]).run()
    ok(at)
    world = tokenized_sentences(analogy_world_text())
    assert metric(at, "Vocabulary") == f"{len(Vocabulary.build(world, 5, 2000)):,}"
    for key, low, high in [("wv.window", 1, 10), ("wv.cmin", 1, 50)]:
        at.slider(key=key).set_value(low).run()
        ok(at)
        at.slider(key=key).set_value(high).run()
        ok(at)
    at.slider(key="wv.cmin").set_value(5).run()
    for key, value in [("wv.cap", 200), ("wv.alpha", 0.5), ("wv.alpha", 1.0), ("wv.dim", 2), ("wv.cap", 5000)]:
        at.select_slider(key=key).set_value(value).run()
        ok(at)
    at.radio(key="wv.cw").set_value("harmonic").run()
    ok(at)
    at.select_slider(key="wv.dim").set_value(300).run()  # more dimensions than the toy world has words
    ok(at)
    assert "lower the dimension" in warnings(at)
    at.select_slider(key="wv.dim").set_value(50).run()
    for text in ODD:
        at.text_input(key="wv.probes.analogy-world").set_value(text).run()
        ok(at)
    at.radio(key="wv.corpus").set_value("python-docs").run()
    ok(at)
    assert "list" in at.dataframe[-1].value.columns


def test_word2vec_trains_from_the_form_and_reports_what_core_computes():
    at = open_page(WV)
    at.radio(key="wv.step").set_value(STEPS[2]).run()  # the first visit trains the defaults
    ok(at)
    world = tokenized_sentences(analogy_world_text())
    config = word2vec.Word2VecConfig()
    steps = word2vec.total_steps(config, world)
    assert metric(at, "Steps") == f"{steps:,} of {steps:,}"
    assert metric(at, "Vocabulary") == f"{len(Vocabulary.build(world, 5)):,}"
    at.select_slider(key="wv.w_dim").set_value(2)
    at.slider(key="wv.w_epochs").set_value(1)
    at.slider(key="wv.w_neg").set_value(20)
    at.slider(key="wv.w_window").set_value(1)
    at.slider(key="wv.w_min").set_value(50)
    at.select_slider(key="wv.w_sample").set_value(0.0)
    at.button[0].click().run()  # the form's submit button
    ok(at)
    small = word2vec.Word2VecConfig(dim=2, epochs=1, negatives=20, window=1, min_count=50, sample=0.0)
    assert metric(at, "Steps") == f"{word2vec.total_steps(small, world):,} of {word2vec.total_steps(small, world):,}"
    at.select_slider(key="wv.w_lr").set_value(10.0)
    at.slider(key="wv.w_epochs").set_value(3)
    at.button[0].click().run()
    ok(at)
    assert "lower the learning rate" in warnings(at)
    at.radio(key="wv.corpus").set_value("sentiment").run()  # another corpus; every word however rare; a sane rate
    at.slider(key="wv.w_min").set_value(1)
    at.select_slider(key="wv.w_lr").set_value(0.025)
    at.button[0].click().run()
    ok(at)
    sentiment = tokenized_sentences("\n\n".join(data.sentiment().text))
    assert metric(at, "Vocabulary") == f"{len(Vocabulary.build(sentiment, 1)):,}"
    assert set(at.selectbox(key="wv.w_probe").options) == {"food", "movie", "service", "great"}  # the corpus's default probes


def test_explore_step_every_source_and_odd_words():
    at = open_page(WV)
    at.radio(key="wv.step").set_value(STEPS[3]).run()
    ok(at)
    for text in ODD:
        at.text_input(key="wv.word").set_value(text).run()
        ok(at)
        assert "type a word" in warnings(at) or "not in the vocabulary" in warnings(at)
    at.text_input(key="wv.word").set_value("**bold** $x$ :smile:").run()
    assert "'\\*\\*bold\\*\\* \\$x\\$ \\:smile\\:' is not in the vocabulary" in " ".join(w.value for w in at.warning)  # shown as typed
    at.text_input(key="wv.word").set_value("King ").run()
    ok(at)
    assert at.dataframe[0].value.word.iloc[0] == "queen"
    at.text_input(key="wv.b").set_value("").run()
    ok(at)
    assert "type a word" in warnings(at)
    at.slider(key="wv.n_map").set_value(20).run()
    at.slider(key="wv.n_map").set_value(500).run()
    ok(at)
    at.radio(key="wv.method").set_value("t-SNE").run()
    ok(at)
    at.button(key="wv.tsne_run").click().run()
    ok(at)
    at.radio(key="wv.source").set_value("word2vec").run()
    ok(at)
    assert at.info  # nothing trained yet in this session
    at.radio(key="wv.source").set_value("minilm").run()
    ok(at)
    at.text_input(key="wv.b").set_value("man").run()
    at.radio(key="wv.method").set_value("PCA").run()
    ok(at)
    assert "queen" in at.dataframe[1].value.word.tolist()  # king − man + woman in MiniLM's own input table


def test_semantic_search_page_extremes_and_odd_text():
    at = open_page(SS)
    ok(at)
    at.slider(key="ss.layer").set_value(0).run()
    ok(at)
    for text in ODD:
        at.text_input(key="ss.word").set_value(text).run()
        ok(at)
        assert at.warning
    at.text_input(key="ss.word").set_value("bank").run()
    at.text_area(key="ss.sentences").set_value("\n".join(["The bank of the river.", "The bank lends money."] * 13)).run()
    ok(at)
    assert any("first 20 sentences" in i.value for i in at.info)
    for text in ODD:
        at.text_area(key="ss.sentences").set_value(text).run()
        ok(at)
    for query in ODD:
        at.text_input(key="ss.query.sentiment").set_value(query).run()
        ok(at)
    at.text_input(key="ss.query.sentiment").set_value("").run()
    assert "type a query" in warnings(at)
    at.text_input(key="ss.query.sentiment").set_value("zzzq unheardof").run()  # no shared word: TF-IDF says so, MiniLM still ranks
    ok(at)
    assert "none of the query's words" in warnings(at) and len(at.dataframe[0].value) == 5
    at.slider(key="ss.k").set_value(1).run()
    at.slider(key="ss.k").set_value(20).run()
    ok(at)
    assert len(at.dataframe[0].value) == 20
    at.radio(key="ss.docs").set_value("sections").run()
    ok(at)
    at.radio(key="ss.docs").set_value("upload").run()
    ok(at)
    upload(at, "ss.upload", b"The cat sat.\nThe cat sat.\n\nDogs bark loudly.\nBirds sing at dawn.\n")
    at.run()
    ok(at)
    assert any("1 duplicate document" in i.value for i in at.info) and any("1 empty document" in i.value for i in at.info)
