"""core.lm.sentence_embeddings against sentence-transformers running the same all-MiniLM-L6-v2 folder
(its own Transformer → mean Pooling → Normalize pipeline) and its util.semantic_search."""

import numpy as np
import pytest

from core.errors import LabError
from core.infra import data, models
from core.lm import sentence_embeddings as se
from core.lm.word_vectors import encoder_input_vectors

ODD = ["", "🙂🙂🙂", "שלום עולם, مرحبا", "<b>bold</b> & <script>x</script>", "nul\x00byte", "word " * 600]
BANK = ["We sat on the bank of the river and watched the boats.", "The river overflowed its bank after the storm.",
        "She opened a savings account at the bank.", "The Bank raised its interest rates again.", "No such word here."]


def test_top_k_is_a_full_sort_cut_short():
    scores = np.random.default_rng(0).normal(size=1000)
    np.testing.assert_array_equal(se.top_k(scores, 10), np.argsort(-scores)[:10])
    assert se.top_k(scores, 0).size == 0 and len(se.top_k(scores[:3], 10)) == 3


@pytest.fixture(scope="module")
def encoder():
    return models.load("minilm")


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(models.minilm_path()), device="cpu")


@pytest.mark.slow
def test_sentence_embeddings_equal_sentence_transformers(encoder, reference):
    texts = data.sentiment().text.tolist()[:40] + ODD + list(data.python_docs_sections().values())[:3]  # long ones cut at 256
    ours = se.embed(encoder, texts, batch_size=16)
    ref = reference.encode(texts, batch_size=16, convert_to_numpy=True)
    np.testing.assert_allclose(ours, ref, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    assert se.count_tokens(encoder, texts[-1]) > se.MAX_TOKENS  # a section longer than the cut, still equal


@pytest.mark.slow
def test_search_equals_sentence_transformers_semantic_search(encoder, reference):
    from sentence_transformers import util

    texts = data.sentiment().text.tolist()[:100]
    index = se.SemanticIndex.build(encoder, texts)
    corpus = reference.encode(texts, convert_to_tensor=True)
    for query in ["the food was cold", "a wonderful holiday", "🙂", "x" * 20_000]:
        got = index.search(encoder, query, k=5)
        [hits] = util.semantic_search(reference.encode([query], convert_to_tensor=True), corpus, top_k=5)
        assert got.document.tolist() == [h["corpus_id"] for h in hits]
        np.testing.assert_allclose(got.cosine, [h["score"] for h in hits], atol=1e-5)
    for blank in ("", "  \n"):
        with pytest.raises(LabError, match="type a query"):
            index.search(encoder, blank)


@pytest.mark.slow
def test_contextual_vectors_pick_the_words_pieces_and_tell_senses_apart(encoder):
    result = se.contextual_vectors(encoder, "bank", BANK)
    assert result.missing == ["No such word here."] and len(result.sentences) == 4
    assert "BANK" in result.labels[3]  # found whatever its case
    sim = result.similarity()
    assert sim[0, 1] > sim[0, 2] and sim[2, 3] > sim[1, 3]  # river with river, money with money
    (i, j, _), _ = result.extremes()
    assert {i, j} in ({0, 1}, {2, 3})
    # the word's pieces, found by offsets, are the tokens the fast tokenizer's word_ids() assigns to it
    sentence = "Word embeddings are learned."
    enc = encoder.tokenizer(sentence)
    word = enc.char_to_word(5)
    pieces = [t for t, w in enumerate(enc.word_ids()) if w == word]
    assert len(pieces) > 1  # "embeddings" is several word pieces
    out = encoder.model(**encoder.tokenizer(sentence, return_tensors="pt"), output_hidden_states=True).hidden_states
    two = se.contextual_vectors(encoder, "embeddings", [sentence, sentence])
    for layer in (0, 3, 6):
        np.testing.assert_allclose(two.vectors[layer, 0], out[layer][0, pieces].mean(0).detach().numpy(), atol=1e-6)
    # at layer 0 no word has looked at its neighbours yet: the occurrences differ only by position
    spread = result.spread_by_layer()
    assert len(spread) == 7 and spread["min"].iloc[0] > spread["min"].iloc[-1] and result.similarity(0).min() > sim.min()


@pytest.mark.slow
def test_contextual_bad_input(encoder):
    with pytest.raises(LabError, match="type a word"):
        se.contextual_vectors(encoder, "  ", BANK)
    with pytest.raises(LabError, match="at least two"):
        se.contextual_vectors(encoder, "river", BANK[2:])
    many = se.contextual_vectors(encoder, "bank", BANK[:2] * 15)
    assert len(many.sentences) == se.MAX_SENTENCES and many.dropped == 10
    with pytest.raises(LabError, match="nothing to embed"):
        se.embed(encoder, [])


@pytest.mark.slow
def test_minilm_input_embeddings_as_word_vectors(encoder):
    vectors = encoder_input_vectors(encoder)
    assert "king" in vectors.index and not any(w.startswith("##") or w.startswith("[") for w in vectors.words)
    table = encoder.model.embeddings.word_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(vectors.vectors[vectors.index["king"]], table[encoder.tokenizer.convert_tokens_to_ids("king")])
    assert "queen" in vectors.analogy("king", "man", "woman", k=5).word.tolist()
