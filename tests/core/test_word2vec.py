"""core.lm.word2vec: gradients against torch.autograd, subsampling and noise against gensim's own tables,
and the trained vectors beside gensim's Word2Vec on the same corpus and settings (analogies, neighbours)."""

import numpy as np
import pytest
import torch
from gensim.models import Word2Vec

from core.errors import LabError
from core.infra import data
from core.lm import word2vec as w2v
from core.lm.analogy_world import ANALOGIES, analogy_world_text
from core.lm.word_corpus import Vocabulary, tokenized_sentences
from core.lm.word_vectors import WordVectors, analogy_accuracy, neighbour_overlap

WORLD = tokenized_sentences(analogy_world_text(n_sentences=3_000))
PROBES = ["king", "queen", "boy", "mother", "paris", "french", "germany", "actor"]


def test_gradients_equal_autograd():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(7, 5)).astype(np.float64)
    u = rng.normal(size=(7, 4, 5)).astype(np.float64)
    mask = (rng.random((7, 4)) > 0.2).astype(np.float64)
    mask[:, 0] = 1
    loss, g, grad_v = w2v.sgns_gradients(v, u, mask)
    tv, tu = torch.tensor(v, requires_grad=True), torch.tensor(u, requires_grad=True)
    scores = torch.einsum("pkd,pd->pk", tu, tv)
    logsigmoid = torch.nn.functional.logsigmoid
    ref = -(logsigmoid(scores[:, 0]).sum() + (logsigmoid(-scores[:, 1:]) * torch.tensor(mask[:, 1:])).sum())
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad_v, tv.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(w2v.context_gradients(g, v), tu.grad.numpy(), atol=1e-12)


def test_update_sums_repeated_rows_like_index_add():
    rng = np.random.default_rng(1)
    w_in, w_out = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    centres, targets = np.array([0, 0, 2, 5]), np.array([[1, 1, 3], [2, 0, 1], [1, 4, 4], [5, 5, 0]])
    v, u = w_in[centres], w_out[targets]
    _, g, grad_v = w2v.sgns_gradients(v, u)
    ref_in, ref_out = torch.tensor(w_in), torch.tensor(w_out)
    ref_in.index_add_(0, torch.tensor(centres), torch.tensor(-0.1 * grad_v))
    ref_out.index_add_(0, torch.tensor(targets.ravel()), torch.tensor(-0.1 * w2v.context_gradients(g, v).reshape(-1, 3)))
    w2v._update(w_in, w_out, centres, targets, g, v, grad_v, 0.1)
    np.testing.assert_allclose(w_in, ref_in.numpy(), atol=1e-6)
    np.testing.assert_allclose(w_out, ref_out.numpy(), atol=1e-6)


def test_a_row_hit_more_than_max_hits_times_moves_as_if_hit_max_hits_times():
    rng = np.random.default_rng(2)
    n = 3 * w2v.MAX_HITS
    w_in, w_out = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    centres, targets = np.zeros(n, dtype=np.int64), np.tile([1, 2], (n, 1))  # word 0 the centre n times, 1 and 2 hit n times
    v, u = w_in[centres], w_out[targets]
    _, g, grad_v = w2v.sgns_gradients(v, u)
    before_in, before_out = w_in.copy(), w_out.copy()
    w2v._update(w_in, w_out, centres, targets, g, v, grad_v, 0.1)
    np.testing.assert_allclose(w_in[0] - before_in[0], -0.1 * grad_v.sum(0) / 3, rtol=1e-5)
    np.testing.assert_allclose(w_out[1] - before_out[1], -0.1 * w2v.context_gradients(g, v)[:, 0].sum(0) / 3, rtol=1e-5)
    np.testing.assert_array_equal(w_in[1:], before_in[1:])


def test_settings_at_their_ends_do_not_run_away():
    """No subsampling, 20 noise words, window 10, a vocabulary of 143 words: a blind sum of a step's moves diverged here."""
    for dim in (2, 300):
        result = w2v.fit(w2v.Word2VecConfig(dim=dim, negatives=20, window=10, sample=0.0, lr=0.05, min_count=1, epochs=1),
                         tokenized_sentences(analogy_world_text(n_sentences=1_500)))
        assert not result.history.diverged and np.abs(result.vectors).max() < 20


def test_subsampling_and_noise_equal_gensims_tables():
    model = Word2Vec(WORLD, vector_size=4, min_count=1, sample=1e-3, sg=1, negative=5, epochs=1, workers=1, seed=0)
    vocab = Vocabulary.build(WORLD)
    ours = dict(zip(vocab.words, w2v.keep_probabilities(vocab.counts, 1e-3)))
    for word in model.wv.index_to_key:
        assert ours[word] == pytest.approx(model.wv.get_vecattr(word, "sample_int") / 2**32, abs=1e-9)
    table = w2v.noise_table(vocab.counts, 0.75)
    ours_noise = dict(zip(vocab.words, np.bincount(table, minlength=len(vocab)) / len(table)))
    ref_noise = np.diff(np.concatenate([[0], model.cum_table])) / model.cum_table[-1]
    for word, p in zip(model.wv.index_to_key, ref_noise):
        assert ours_noise[word] == pytest.approx(p, abs=1e-6)


def test_training_lowers_the_loss_and_repeats_bit_for_bit():
    config = w2v.Word2VecConfig(dim=16, window=3, epochs=2, min_count=1, probes=("king", "paris", "zebra"))
    a, b = w2v.fit(config, WORLD), w2v.fit(config, WORLD)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, w2v.fit(w2v.Word2VecConfig(dim=16, window=3, epochs=2, min_count=1, seed=1), WORLD).vectors)
    loss = np.array(a.history.metrics["loss"])
    assert np.nanmean(loss[-10:]) < np.nanmean(loss[:10]) - 0.5
    assert a.history.last("words_per_s") > 0 and a.history.metrics["lr"][-1] < a.history.metrics["lr"][0]
    assert a.missing_probes == ["zebra"]
    assert len(a.snapshots) >= w2v.N_SNAPSHOTS and set(a.snapshots[-1][1]) == {"king", "paris"}
    assert a.snapshots[-1][0] == a.history.steps[-1]


def test_on_step_stops_and_on_neighbours_reports():
    seen = []
    result = w2v.fit(w2v.Word2VecConfig(dim=8, epochs=3, min_count=1, probes=("queen",)), WORLD,
                     on_step=lambda step, m: step < 5, on_neighbours=lambda step, nb: seen.append((step, nb)))
    assert result.history.stopped and result.history.steps[-1] == 5
    assert [step for step, _ in seen] == [0]  # where the probes started, before any step
    seen.clear()
    full = w2v.fit(w2v.Word2VecConfig(dim=8, epochs=1, min_count=1, probes=("queen",)), WORLD,
                   on_neighbours=lambda step, nb: seen.append((step, nb)))
    assert seen == full.snapshots and len(seen[0][1]["queen"]) == w2v.N_NEIGHBOURS
    assert [step for step, _ in seen][:2] == [0, full.history.total_steps // w2v.N_SNAPSHOTS]


def test_a_huge_learning_rate_diverges_and_stops():
    result = w2v.fit(w2v.Word2VecConfig(dim=8, epochs=2, min_count=1, lr=1e6, min_lr=1e6), WORLD)
    assert result.history.diverged and result.history.stopped


def test_bad_input_says_what_to_change():
    with pytest.raises(LabError, match="lower the minimum count"):
        w2v.fit(w2v.Word2VecConfig(min_count=1000), WORLD)
    with pytest.raises(LabError, match="no sentence has two words"):
        w2v.fit(w2v.Word2VecConfig(min_count=1), [["alone"], ["solo"], ["single"]])
    with pytest.raises(LabError, match="no words"):
        w2v.fit(w2v.Word2VecConfig(), [])
    for bad in (dict(dim=0), dict(window=0), dict(negatives=0), dict(epochs=0), dict(lr=0.0), dict(sample=-1.0)):
        with pytest.raises(LabError):
            w2v.fit(w2v.Word2VecConfig(**bad), WORLD)


def side_by_side(sentences, config: w2v.Word2VecConfig, probes, analogies=(), ours: w2v.Word2VecResult | None = None):
    ours = ours or w2v.fit(config, sentences)
    kwargs = dict(vector_size=config.dim, window=config.window, min_count=config.min_count, sg=1, hs=0, negative=config.negatives,
                  sample=config.sample, alpha=config.lr, min_alpha=config.min_lr, epochs=config.epochs, workers=1)
    gensims = [Word2Vec(sentences, seed=s, **kwargs) for s in (0, 1)]
    ours_v = WordVectors("ours", ours.vocab.words, ours.vectors)
    ref_v = [WordVectors(f"gensim seed {s}", list(m.wv.index_to_key), m.wv.vectors) for s, m in enumerate(gensims)]
    report = {"overlap ours~gensim": neighbour_overlap(ours_v, ref_v[0], probes),
              "overlap gensim~gensim (another seed)": neighbour_overlap(ref_v[0], ref_v[1], probes)}
    if analogies:
        report |= {"analogies ours": analogy_accuracy(ours_v, analogies)[0], "analogies gensim": analogy_accuracy(ref_v[0], analogies)[0]}
    print(report)
    return report


WORLD_CONFIG = w2v.Word2VecConfig(dim=24, window=4, epochs=10, min_count=1)  # 3,000 sentences: ~1 s for ours


@pytest.fixture(scope="module")
def world_result() -> w2v.Word2VecResult:
    return w2v.fit(WORLD_CONFIG, WORLD)


def test_ours_solves_the_toy_worlds_analogies(world_result):
    accuracy, table = analogy_accuracy(WordVectors("ours", world_result.vocab.words, world_result.vectors), ANALOGIES)
    assert accuracy >= 0.8, table[~table.correct]


@pytest.mark.slow
def test_ours_beside_gensim_on_the_toy_world(world_result):
    r = side_by_side(WORLD, WORLD_CONFIG, PROBES, ANALOGIES, ours=world_result)
    assert r["analogies ours"] >= 0.8 and r["analogies ours"] >= r["analogies gensim"] - 0.15
    assert r["overlap ours~gensim"] >= 0.6 * r["overlap gensim~gensim (another seed)"]


@pytest.mark.slow
def test_ours_beside_gensim_on_pythons_manual():
    sentences = tokenized_sentences(data.python_docs_text())
    probes = ["list", "function", "string", "class", "integer", "file", "exception", "module", "dictionary", "loop"]
    r = side_by_side(sentences, w2v.Word2VecConfig(dim=50), probes)
    assert r["overlap ours~gensim"] >= 0.6 * r["overlap gensim~gensim (another seed)"]
