"""core.lm.ngram against nltk.lm.Lidstone and a direct count computation; the entropy-rate bound."""

import itertools
import math
from collections import Counter

import numpy as np
import pytest
from nltk.lm import Lidstone
from nltk.util import everygrams
from scipy.stats import entropy as scipy_entropy

from core.errors import LabError
from core.lm.markov_source import MAX_CONTEXTS, MarkovSource, SourceConfig
from core.lm.ngram import (
    SMOOTHINGS,
    UNK,
    LearningCurveConfig,
    NGramConfig,
    NGramLM,
    expected_cross_entropy,
    learning_curve,
    model_snapshots,
    words,
)

SOURCE = MarkovSource(SourceConfig(vocab_size=10, order=2, branching=3, seed=3))
TRAIN = SOURCE.sample(3000, seed=0).split()
HELDOUT = SOURCE.sample(500, seed=1).split() + ["zebra", "the", "zebra"]  # includes an unseen word


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("k", [0.01, 0.5, 1.0])
def test_probabilities_match_nltk_lidstone(order, k):
    ours = NGramLM(NGramConfig(order=order, k=k)).fit(TRAIN)
    ref = Lidstone(k, order)
    ref.fit([everygrams(TRAIN, max_len=order)], vocabulary_text=TRAIN)
    assert len(ours.vocab) == len(ref.vocab)  # both: the training words plus <UNK>
    for i in range(order - 1, len(HELDOUT)):
        context = HELDOUT[i - order + 1 : i]
        assert ours.prob(HELDOUT[i], context) == pytest.approx(ref.score(HELDOUT[i], context), rel=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_cross_entropy_matches_direct_count_computation(order):
    k = 0.1
    lm = NGramLM(NGramConfig(order=order, k=k)).fit(TRAIN)
    grams = Counter(tuple(TRAIN[i - order + 1 : i + 1]) for i in range(order - 1, len(TRAIN)))
    v = len(set(TRAIN)) + 1
    seen = set(TRAIN)
    total = 0.0
    for i in range(order - 1, len(HELDOUT)):
        gram = tuple(w if w in seen else UNK for w in HELDOUT[i - order + 1 : i + 1])
        context_count = sum(c for g, c in grams.items() if g[:-1] == gram[:-1])
        total -= math.log2((grams[gram] + k) / (context_count + k * v))
    assert lm.cross_entropy(HELDOUT) == pytest.approx(total / (len(HELDOUT) - order + 1), rel=1e-12)


def test_surprisals_cross_entropy_and_perplexity_by_hand():
    """Bigrams of "the cat sat on the mat", k = 0.5, V = 6 (5 words + <UNK>): q(cat | the) = (1 + 0.5) / (2 + 3) = 0.3,
    q(sat | cat) = (1 + 0.5) / (1 + 3) = 0.375."""
    lm = NGramLM(NGramConfig(order=2, k=0.5)).fit("the cat sat on the mat".split())
    text = "the cat sat".split()
    assert lm.surprisals(text) == pytest.approx([1.7369655941662063, 1.4150374992788437], rel=1e-12)  # -log2 0.3, -log2 0.375
    assert lm.cross_entropy(text) == pytest.approx(1.5760015467225250, rel=1e-12)  # their mean
    assert lm.perplexity(text) == pytest.approx(2.9814239699997196, rel=1e-12)  # (0.3 · 0.375) ** -1/2


def test_a_fixed_vocabulary_matches_nltk_with_the_same_vocabulary():
    few, everything = TRAIN[:40], TRAIN + ["zebra"]
    ours = NGramLM(NGramConfig(order=2, k=0.2)).fit(few, vocab=everything)
    ref = Lidstone(0.2, 2)
    ref.fit([everygrams(few, max_len=2)], vocabulary_text=everything)
    assert len(ours.vocab) == len(ref.vocab) == len(set(everything)) + 1
    for i in range(1, len(HELDOUT)):
        assert ours.prob(HELDOUT[i], HELDOUT[i - 1 : i]) == pytest.approx(ref.score(HELDOUT[i], HELDOUT[i - 1 : i]), rel=1e-12)
    outside = NGramLM(NGramConfig(order=1, k=1.0)).fit(["a", "b", "c"], vocab=["a"])  # b and c are counted as UNK
    assert outside.prob("b", []) == outside.prob(UNK, []) == pytest.approx((2 + 1) / (3 + 2))


def test_probabilities_sum_to_one_over_the_vocabulary():
    lm = NGramLM(NGramConfig(order=3, k=0.3)).fit(TRAIN)
    for context in (TRAIN[:2], ["zebra", "the"], []):
        assert sum(lm.prob(w, context) for w in lm.vocab) == pytest.approx(1.0)


def test_exact_expected_cross_entropy_agrees_with_a_long_sample_and_never_beats_the_entropy_rate():
    long_heldout = SOURCE.sample(60_000, seed=7).split()
    for order in (1, 2, 3):
        lm = NGramLM(NGramConfig(order=order, k=0.1)).fit(TRAIN)
        exact = expected_cross_entropy(lm, SOURCE)
        assert exact >= SOURCE.entropy_rate
        assert lm.cross_entropy(long_heldout) == pytest.approx(exact, abs=0.03)
    with pytest.raises(LabError, match="order-4 model .* histories"):
        expected_cross_entropy(NGramLM(NGramConfig(order=4)).fit(TRAIN), SOURCE, max_histories=50)


@pytest.mark.slow
def test_exact_expectation_when_the_model_remembers_more_than_the_source():
    """A trigram on an order-1 source: its context (a, b) has probability pi(a) p(b | a)."""
    source = MarkovSource(SourceConfig(vocab_size=6, order=1, branching=3, concentration=0.5, seed=5))
    text = source.sample(4000, seed=0).split()
    p = source.transition.toarray()  # order 1: contexts are words, p[a, b] = p(b | a)
    for order, k in ((3, 0.1), (3, 0.01), (4, 0.1)):
        lm = NGramLM(NGramConfig(order=order, k=k)).fit(text)
        brute = 0.0
        for history in itertools.product(range(6), repeat=order - 1):  # every window, by brute force
            weight = source.stationary[history[0]] * np.prod([p[a, b] for a, b in zip(history, history[1:])])
            for w in range(6):
                if weight * p[history[-1], w] > 0:
                    brute -= weight * p[history[-1], w] * math.log2(lm.prob(source.words[w], [source.words[i] for i in history]))
        exact = expected_cross_entropy(lm, source)
        assert exact == pytest.approx(brute, rel=1e-12)
        assert exact >= source.entropy_rate
        assert lm.cross_entropy(source.sample(60_000, seed=9).split()) == pytest.approx(exact, abs=0.03)


def test_learning_curve_approaches_the_entropy_rate_from_above():
    rows = learning_curve(SOURCE.sample(30_000, seed=0).split(), SOURCE.sample(5000, seed=1).split(),
                          LearningCurveConfig(orders=(1, 3), train_sizes=(100, 3000, 30_000), k=0.05), source=SOURCE)
    h = SOURCE.entropy_rate
    assert all(r["excess_bits"] == r["exact_bits"] - h > 0 for r in rows)
    trigram = [r["exact_bits"] for r in rows if r["order"] == 3]
    unigram = [r["exact_bits"] for r in rows if r["order"] == 1]
    assert all(b > h for b in trigram + unigram)
    assert trigram == sorted(trigram, reverse=True) and trigram[-1] - h < 0.05  # more text: closer to the bound
    assert min(unigram) > h + 0.5  # no context: stuck far above it, however much text
    assert all(abs(r["measured_bits"] - r["exact_bits"]) < 0.1 for r in rows)
    english = learning_curve(words("the cat sat on the mat . " * 50), words("the cat sat ."), LearningCurveConfig(train_sizes=(10, 10**6)))
    assert [r["train_tokens"] for r in english[:2]] == [10, 350]  # sizes beyond the text are capped


def test_model_snapshots_score_the_same_tokens_as_the_models_of_the_learning_curve():
    train, heldout = TRAIN, SOURCE.sample(200, seed=4).split()
    samples, rows = model_snapshots(train, heldout, k=0.2, n_sample=7, n_scored=12, seed=1)
    assert sorted(samples) == [1, 2, 3] and all(len(t) == 7 and set(t) <= set(train) for t in samples.values())
    for order in (1, 2, 3):
        mine = [r for r in rows if r["order"] == order]
        assert [r["token"] for r in mine] == heldout[2:14] and [r["position"] for r in mine] == list(range(12))
        ref = nltk_model(train, order, 0.2)
        expected = [-ref.logscore(heldout[i], heldout[i - order + 1 : i]) for i in range(2, 14)]
        assert [r["bits"] for r in mine] == pytest.approx(expected, rel=1e-12)
    rows = learning_curve(train, heldout, LearningCurveConfig(train_sizes=(len(train),), k=0.2))
    trigrams = [tuple(heldout[i - 2 : i + 1]) for i in range(2, len(heldout))]
    assert rows[-1]["measured_bits"] == pytest.approx(nltk_model(train, 3, 0.2).entropy(trigrams), rel=1e-12)


def nltk_model(train: list[str], order: int, k: float) -> Lidstone:
    """nltk's add-k model of the same order on the same text (its vocabulary gets <UNK> too)."""
    ref = Lidstone(k, order)
    ref.fit([everygrams(train, max_len=order)], vocabulary_text=train)
    return ref


def test_source_entropy_rate_matches_scipy_and_huge_sources_are_refused():
    for config in (SourceConfig(), SourceConfig(vocab_size=5, order=3, branching=1), SourceConfig(concentration=0.1, seed=2)):
        src = MarkovSource(config)
        assert src.entropy_rate == pytest.approx(src.stationary @ scipy_entropy(src.next_probs, base=2, axis=1), rel=1e-12, abs=1e-15)
    with pytest.raises(LabError, match="contexts"):
        MarkovSource(SourceConfig(vocab_size=17, order=3))  # 4,913 contexts
    assert MarkovSource(SourceConfig(vocab_size=16, order=3, branching=1)).stationary.size == MAX_CONTEXTS


def test_bad_configs_and_tiny_texts():
    with pytest.raises(LabError, match="k > 0"):
        NGramLM(NGramConfig(k=0))
    with pytest.raises(LabError, match="n >= 1"):
        NGramLM(NGramConfig(order=0))
    with pytest.raises(LabError, match="training tokens"):
        NGramLM(NGramConfig(order=3)).fit(["a", "b"])
    lm = NGramLM(NGramConfig(order=2)).fit(["ä", "😀", "ä"])
    assert np.isfinite(lm.cross_entropy(["😀", "unseen"]))
    assert len(lm.generate(5, seed=0)) == 5


@pytest.mark.parametrize("seed", range(4))
def test_no_ngram_model_beats_the_entropy_rate_on_random_sources(seed):
    rng = np.random.default_rng(seed)
    source = MarkovSource(SourceConfig(vocab_size=int(rng.integers(3, 12)), order=int(rng.integers(2, 4)), branching=2,
                                       concentration=float(rng.choice([0.2, 1.0, 5.0])), seed=seed))
    text = source.sample(5000, seed=seed).split()
    for order in (1, 2, 3):
        for k in (0.01, 1.0):
            lm = NGramLM(NGramConfig(order=order, k=k)).fit(text, vocab=source.words)
            assert expected_cross_entropy(lm, source) >= source.entropy_rate - 1e-12


# ----------------------------------------------------------------------------- smoothing beyond add-k, against nltk.lm

def _sentences(tokens: list[str], length: int = 12) -> list[list[str]]:
    return [tokens[i : i + length] for i in range(0, len(tokens), length)]


SENTS = _sentences(TRAIN, 11)
HELD_SENTS = _sentences(SOURCE.sample(600, seed=2).split() + ["zebra", "the"], 13)


def _nltk(kind: str, order: int, **kw):
    from nltk.lm import MLE, KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    model = {"mle": lambda: MLE(order, **kw), "add-k": lambda: Lidstone(0.3, order, **kw),
             "kneser-ney": lambda: KneserNeyInterpolated(order, discount=kw.pop("discount"), **kw)}[kind]()
    grams, vocab = padded_everygram_pipeline(order, SENTS)
    model.fit(grams, vocab)
    return model


@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("kind, config", [("mle", dict(smoothing="mle")), ("add-k", dict(k=0.3)),
                                          ("kneser-ney", dict(smoothing="kneser-ney", discount=0.1, nltk_kn=True)),
                                          ("kneser-ney", dict(smoothing="kneser-ney", discount=0.75, nltk_kn=True))])
def test_padded_sentences_match_nltk_in_bits(order, kind, config):
    """nltk's own pipeline (padded_everygram_pipeline) and scoring (entropy over padded n-grams), to 1e-9 bits."""
    ref = _nltk(kind, order, **({"discount": config["discount"]} if "discount" in config else {}))
    ours = NGramLM(NGramConfig(order=order, **config)).fit_sentences(SENTS)
    grams = ours.sentence_ngrams(HELD_SENTS)
    from nltk.lm.preprocessing import pad_both_ends
    from nltk.util import ngrams
    assert grams == [g for s in HELD_SENTS for g in ngrams(pad_both_ends(s, n=order), order)]
    assert ours.vocab[-1] == UNK and set(ours.vocab) == set(ref.vocab)
    theirs = np.array([-ref.logscore(g[-1], g[:-1]) for g in grams])
    mine = ours.score_ngrams(grams)
    assert np.array_equal(np.isinf(mine), np.isinf(theirs))  # mle and nltk's Kneser-Ney: unseen words cost inf
    finite = np.isfinite(theirs)
    assert finite.sum() > len(grams) // 4
    np.testing.assert_allclose(mine[finite], theirs[finite], rtol=0, atol=1e-9)
    if finite.all():
        assert np.mean(mine) == pytest.approx(ref.entropy(grams), abs=1e-9)
    for g in grams[:40]:  # shorter contexts too: nltk scores them with the orders they reach
        for cut in range(len(g) - 1):
            assert ours.prob(g[-1], g[cut:-1]) == pytest.approx(ref.score(g[-1], g[cut:-1]), abs=1e-12)


@pytest.mark.parametrize("order", [2, 3])
def test_unk_cutoff_two_matches_nltk_vocabulary_and_keeps_kneser_ney_finite(order):
    from nltk.lm import KneserNeyInterpolated, Vocabulary

    train = TRAIN[:1500] + ["rare", "words", "once"]
    ref = KneserNeyInterpolated(order, discount=0.75, vocabulary=Vocabulary(train, unk_cutoff=2))
    ref.fit([everygrams(train, max_len=order)])
    ours = NGramLM(NGramConfig(order=order, smoothing="kneser-ney", nltk_kn=True, unk_cutoff=2)).fit(train)
    assert "rare" not in ours.vocab and len(ours.vocab) == len(ref.vocab)
    heldout = HELDOUT + ["never", "seen", "before"]
    grams = [tuple(heldout[i - order + 1 : i + 1]) for i in range(order - 1, len(heldout))]
    bits = ours.score_ngrams(grams)
    assert np.isfinite(bits).all()  # <UNK> was counted (the training singletons), so unseen words cost finite bits
    np.testing.assert_allclose(bits, [-ref.logscore(g[-1], g[:-1]) for g in grams], rtol=0, atol=1e-9)
    assert ours.cross_entropy(heldout) == pytest.approx(ref.entropy(grams), abs=1e-9)
    assert ours.unknown_share(heldout) == pytest.approx(5 / len(heldout))  # zebra twice, never, seen, before
    nltk_default = NGramLM(NGramConfig(order=order, smoothing="kneser-ney", nltk_kn=True)).fit(train)
    assert math.isinf(nltk_default.cross_entropy(heldout))  # unk_cutoff 1: <UNK> never counted, nltk gives it 0


def _kneser_ney_by_hand(train: list[str], order: int, d: float, vocab_size: int):
    """Chen & Goodman's interpolated Kneser-Ney written with dictionaries, straight from the formulas."""
    grams = {j: Counter(tuple(train[i - j + 1 : i + 1]) for i in range(j - 1, len(train))) for j in range(1, order + 1)}

    def q(word, context):
        j = len(context) + 1
        if j == 1:
            cont = Counter(g[1:] for g in grams[2])  # N(., w): distinct words before w
            total = sum(cont.values())
            return max(cont[(word,)] - d, 0) / total + d * len(cont) / total / vocab_size
        if j == order:
            counts = {g[-1]: c for g, c in grams[j].items() if g[:-1] == context}
        else:
            counts = Counter(g[-1] for g in grams[j + 1] if g[1:-1] == context)  # continuation counts N(., c, w)
        total = sum(counts.values())
        if total == 0:
            return q(word, context[1:])
        return max(counts.get(word, 0) - d, 0) / total + d * len(counts) / total * q(word, context[1:])

    return q


@pytest.mark.parametrize("order, d", [(2, 0.75), (3, 0.75), (3, 0.3), (4, 0.9)])
def test_our_kneser_ney_equals_the_formulas_written_by_hand_and_sums_to_one(order, d):
    train = TRAIN[:600]
    lm = NGramLM(NGramConfig(order=order, smoothing="kneser-ney", discount=d)).fit(train)
    q = _kneser_ney_by_hand(train, order, d, len(lm.vocab))
    for i in range(order - 1, 80):
        context = tuple(HELDOUT[i - order + 1 : i])
        if all(w in lm.known for w in context + (HELDOUT[i],)):
            assert lm.prob(HELDOUT[i], context) == pytest.approx(q(HELDOUT[i], context), rel=1e-12)
    for context in (train[:order - 1], ["zebra"] * (order - 1), HELDOUT[3 : 3 + order - 1]):
        dist = lm.next_distribution(context)
        assert dist.sum() == pytest.approx(1.0, abs=1e-12) and (dist > 0).all()  # a floor under every word, <UNK> too


def test_interpolation_by_hand_and_sums_to_one():
    lm = NGramLM(NGramConfig(order=2, smoothing="interpolated", lam=0.6)).fit("a b a c a b".split())
    # V = 4 (a, b, c, <UNK>); q(b | a) = 0.6 * 2/3 + 0.4 * (0.6 * 2/6 + 0.4 / 4)
    assert lm.prob("b", ["a"]) == pytest.approx(0.6 * 2 / 3 + 0.4 * (0.6 * 2 / 6 + 0.4 / 4), rel=1e-12)
    assert lm.prob("a", ["zebra"]) == pytest.approx(0.6 * 3 / 6 + 0.4 / 4, rel=1e-12)  # unseen context: backs off entirely
    for order in (1, 2, 3, 5):
        big = NGramLM(NGramConfig(order=order, smoothing="interpolated", lam=0.9)).fit(TRAIN)
        for context in (TRAIN[:4], ["zebra"] * 4, []):
            assert big.next_distribution(context).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_explain_builds_the_probability_it_reports(smoothing):
    lm = NGramLM(NGramConfig(order=3, smoothing=smoothing)).fit(TRAIN)
    for context, word in ((TRAIN[10:12], TRAIN[12]), (["zebra", TRAIN[0]], TRAIN[1]), (["zebra", "zebra"], "zebra")):
        rows = lm.explain(context, word)
        assert rows[0]["order"] == 3 and rows[0]["probability"] == pytest.approx(lm.prob(word, context), rel=1e-12)
        assert list(rows[0]["context"]) == [w if w in lm.known else UNK for w in context]
        if smoothing in ("interpolated", "kneser-ney"):
            assert [r["order"] for r in rows] == [3, 2, 1]
            for upper, lower in zip(rows, rows[1:]):  # each order: own estimate + weight x the order below
                assert upper["probability"] == pytest.approx(upper["own estimate"] + upper["weight to shorter context"]
                                                             * lower["probability"], rel=1e-12)
        else:
            assert len(rows) == 1
    assert not lm.explain(["zebra", "zebra"], "the")[0]["context seen"]


def test_orders_beyond_the_text_unseen_words_and_odd_text():
    with pytest.raises(LabError, match="at least 9 training tokens"):
        NGramLM(NGramConfig(order=9, smoothing="kneser-ney")).fit("a b c".split())
    with pytest.raises(LabError, match="n >= 2"):
        NGramLM(NGramConfig(order=1, smoothing="kneser-ney"))
    with pytest.raises(LabError, match="discount"):
        NGramLM(NGramConfig(smoothing="kneser-ney", discount=1.5))
    with pytest.raises(LabError, match="lam"):
        NGramLM(NGramConfig(smoothing="interpolated", lam=1.0))
    with pytest.raises(LabError, match="every sentence is empty"):
        NGramLM(NGramConfig(order=2)).fit_sentences([[], []])
    text = list("héllo 😀 שלום\u200f 世界 héllo 😀")
    for smoothing in SMOOTHINGS:
        lm = NGramLM(NGramConfig(order=3, smoothing=smoothing)).fit(text)
        bits = lm.surprisals(list("héllo 🦜"))
        assert len(bits) == 5 and (np.isinf(bits[-1]) == (smoothing == "mle"))  # 🦜 was never seen: <UNK>
        assert len(lm.generate(6, seed=1)) == 6
    high = NGramLM(NGramConfig(order=12, smoothing="kneser-ney")).fit(TRAIN)  # far more context than the source has
    assert np.isfinite(high.cross_entropy(HELDOUT)) and high.cross_entropy(HELDOUT) > SOURCE.entropy_rate


def test_heldout_split_keeps_the_text_in_order():
    from core.lm.ngram import heldout_split

    train, heldout = heldout_split(list("abcdefghij"), 0.3)
    assert train == list("abcdefg") and heldout == list("hij")
    with pytest.raises(LabError):
        heldout_split(["a"], 0.5)


def test_text_experiment_grows_every_model_up_to_the_whole_training_part():
    from core.lm.ngram import ExperimentConfig, text_experiment

    text = "the cat sat on the mat . " * 300  # 7 tokens × 300 = 2,100: the first 1,890 train, the last 210 are held out
    curve = text_experiment(text, ExperimentConfig(train_sizes=(100, 1_000, 100_000)))
    assert curve.model.unique().tolist() == ["unigram", "bigram", "trigram"]
    assert sorted(set(curve.train_tokens)) == [100, 1_000, 1_890]
