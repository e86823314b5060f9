"""core.lm.ladder: every rung scores the same held-out tokens; corpora, odd text, bad settings; the n-gram explorer."""

import math
from dataclasses import replace

import numpy as np
import pytest

from core.errors import LabError
from core.lm import ladder
from core.lm.neural_lm import TrainConfig, heldout_windows
from core.lm.ngram import NGramConfig, NGramLM

TINY = TrainConfig(steps=3, batch_size=4, block_size=16, eval_every=1, eval_tokens=64, sample_tokens=5)


@pytest.fixture(scope="module")
def markov():
    return ladder.load_corpus("markov", n_tokens=6_000)


def test_markov_corpus_carries_the_entropy_rate_and_every_rung_runs(markov):
    assert markov.entropy_rate == pytest.approx(1.2161, abs=1e-4) and markov.unit == "word"
    config = ladder.LadderConfig(ngram_order=3, hidden=8, embed=4, train=TINY)
    seen = []
    results = ladder.run_ladder(config, markov, on_step=lambda rung, i, m: seen.append((rung, i)))
    assert [r.name for r in results] == ["2-gram", "3-gram", "MLP (k=3)", "RNN", "GRU", "LSTM", "GPT"]
    assert seen == [(rung, i) for rung in ("MLP", "RNN", "GRU", "LSTM", "GPT") for i in (1, 2, 3)]
    gpt = results[-1].model.model  # the lab's GPT, at the ladder's width and window
    assert gpt.config.n_embd == 8 and gpt.config.context == TINY.block_size and gpt.config.n_layer == config.gpt_layers
    rows = ladder.summary(results, markov)
    assert all(r["above_floor_bits"] == pytest.approx(r["heldout_bits"] - markov.entropy_rate) for r in rows)
    assert all(len(r.sample.split()) == 5 for r in results)
    assert rows[1]["heldout_bits"] < rows[0]["heldout_bits"]  # the trigram sees the source's whole memory


def test_ngram_rung_scores_exactly_the_tokens_the_networks_score(markov):
    config = ladder.check(ladder.LadderConfig(rungs=("n-gram",), ngram_order=4, train=TINY))
    warm = config.train.warmup
    (_, _, four) = ladder.fit_ngrams(config, markov)
    starts, mask = heldout_windows(len(markov.heldout), TINY.block_size, warm)
    targets = (starts[:, None] + 1 + np.arange(TINY.block_size))[mask]  # what heldout_surprisals scores
    lm = NGramLM(NGramConfig(order=4, smoothing="kneser-ney")).fit(markov.tokens(markov.train), vocab=markov.vocab[:-1])
    held = markov.tokens(markov.heldout)
    direct = [-math.log2(lm.prob(held[t], held[t - 3 : t])) for t in sorted(targets)]
    assert four.heldout_bits == pytest.approx(np.mean(direct), rel=1e-12)


def test_lower_orders_read_from_one_count_equal_models_counted_on_their_own(markov):
    for smoothing in ("add-k", "interpolated", "kneser-ney", "mle"):
        full = ladder.fit_ngram(markov, NGramConfig(order=5, smoothing=smoothing))
        for n in range(2, 5):
            alone = ladder.fit_ngram(markov, NGramConfig(order=n, smoothing=smoothing))
            held = markov.tokens(markov.heldout)
            np.testing.assert_array_equal(full.with_order(n).surprisals(held), alone.surprisals(held))
    with pytest.raises(LabError, match="orders 1 to 5"):
        full.with_order(6)
    rows = ladder.ngram_orders(markov, NGramConfig(order=3, smoothing="mle"), orders=(1, 2, 6))
    assert [r["order"] for r in rows] == [1, 2, 6] and rows[-1]["zero_probability_share"] > 0 and math.isinf(rows[-1]["heldout_bits"])


def test_explorer_reads_the_context_in_the_corpus_units(markov):
    lm = ladder.fit_ngram(markov, NGramConfig(order=3, smoothing="kneser-ney"))
    view = ladder.explore(lm, markov, "The  BIRD dog", "")
    assert view["context"] == ["bird", "dog"] and view["word"] == view["next"][0]["token"]
    probs = [r["probability"] for r in view["next"]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-12
    assert view["explain"][0]["probability"] == pytest.approx(lm.prob(view["word"], ["bird", "dog"]))
    odd = ladder.explore(lm, markov, "😀 שלום <b>", "zebra")
    assert odd["context"] == ladder.tokenize_like(markov, "😀 שלום <b>")[-2:] and odd["word"] == "zebra"
    assert odd["explain"][0]["probability"] > 0  # <UNK>: learned from the training text's rare words


def test_characters_of_any_script_and_odd_text():
    text = "Le chat 🐈 s'assit. שלום! 猫が座った。 " * 30
    corpus = ladder.load_corpus("text", "char", text)
    assert "🐈" in corpus.vocab and "ש" in corpus.vocab and "猫" in corpus.vocab
    results = ladder.run_ladder(ladder.LadderConfig(rungs=("n-gram", "MLP"), ngram_order=5, mlp_context=4, hidden=8, embed=4, train=TINY),
                                corpus)
    assert all(np.isfinite(r.heldout_bits) for r in results)
    for bad, message in [("", "no text"), ("   ", "no text"), ("a\x00b" * 400, "NUL"), ("ab " * 20, "need at least 640")]:
        with pytest.raises(LabError, match=message):
            ladder.load_corpus("text", "char", bad)
    with pytest.raises(LabError, match="no words"):
        ladder.load_corpus("text", "word", "😀 " * 1000)
    with pytest.raises(LabError, match="unit must be"):
        ladder.load_corpus("text", "byte", text)


def test_bad_ladder_settings(markov):
    with pytest.raises(LabError, match="unknown rung"):
        ladder.check(ladder.LadderConfig(rungs=("ELMo",)))
    with pytest.raises(LabError, match="block size"):
        ladder.check(ladder.LadderConfig(mlp_context=40, train=TrainConfig(block_size=32)))
    with pytest.raises(LabError, match="order must be 1 to 12"):
        ladder.fit_ngrams(ladder.LadderConfig(ngram_order=13), markov)
    assert ladder.check(ladder.LadderConfig(ngram_order=12, mlp_context=3)).train.warmup == 16
    short = replace(ladder.LadderConfig(mlp_context=3), train=TrainConfig(warmup=2, block_size=8), rungs=("MLP",))
    assert ladder.check(short).train.warmup == 3
