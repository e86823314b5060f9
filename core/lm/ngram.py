"""An n-gram language model with add-k smoothing, and how close it gets to the true entropy rate.

An n-gram model predicts each token from the n-1 tokens before it, by counting:

    q(w | context) = (count(context, w) + k) / (count(context) + k * V)

where V is the vocabulary size (the training words plus <UNK> for words never seen). Adding k to
every count keeps unseen n-grams possible: without it, one unseen n-gram in held-out text would
make the cross-entropy infinite (see core.foundations.information.cross_entropy).

Its per-token cross-entropy on held-out text, H = -mean log2 q(token | context), is the language
model's loss, and perplexity = 2 ** H: the model is as unsure as if it picked uniformly among
that many words. No model can beat the entropy rate of the source that wrote the text.

>>> lm = NGramLM(NGramConfig(order=2, k=0.5)).fit("the cat sat on the mat".split())
>>> lm.prob("cat", ("the",))           # (1 + 0.5) / (2 + 0.5 * 6): 'the' was followed by cat once in 2
0.3
>>> round(lm.cross_entropy("the cat sat".split()), 3)    # mean of -log2 0.3 and -log2 q(sat | cat) = -log2 0.375
1.576
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import LabError
from core.lm.markov_source import MarkovSource, SourceConfig

UNK = "<UNK>"  # stands for every word the training text never showed (nltk.lm's spelling)


@dataclass(frozen=True)
class NGramConfig:
    order: int = 3  # n: 1 = unigram (no context), 2 = bigram, 3 = trigram
    k: float = 0.1  # add-k smoothing; 1 is Laplace's rule, small k trusts the counts more


class NGramLM:
    def __init__(self, config: NGramConfig = NGramConfig()):
        if config.order < 1:
            raise LabError(f"an n-gram model needs n >= 1 (got {config.order})")
        if not config.k > 0:
            raise LabError(f"add-k smoothing needs k > 0 (got {config.k}); k = 0 makes every unseen n-gram impossible")
        self.config = config

    def fit(self, tokens: Sequence[str], vocab: Sequence[str] | None = None) -> "NGramLM":
        """Count every n-gram of the training tokens, and how often each context was followed by a word.

        `vocab` fixes the known words (default: those of `tokens`); any other word counts as UNK.
        Perplexities are only comparable between models with the same vocabulary: a model that
        knows 50 words files every other word under UNK, and predicting UNK is easy.
        """
        n = self.config.order
        if len(tokens) < n:
            raise LabError(f"a {n}-gram model needs at least {n} training tokens (got {len(tokens)})")
        self.known = set(tokens if vocab is None else vocab)
        self.vocab = sorted(self.known) + [UNK]
        tokens = self._lookup(tokens)
        grams = [tuple(tokens[i - n + 1 : i + 1]) for i in range(n - 1, len(tokens))]
        self.counts = Counter(grams)
        self.context_counts = Counter(g[:-1] for g in grams)
        return self

    def _lookup(self, tokens: Sequence[str]) -> tuple[str, ...]:
        return tuple(t if t in self.known else UNK for t in tokens)

    def prob(self, word: str, context: Sequence[str]) -> float:
        """q(word | last n-1 tokens of context), with add-k smoothing."""
        n, k = self.config.order, self.config.k
        context = self._lookup(context[len(context) - (n - 1) :] if n > 1 else ())
        (word,) = self._lookup([word])
        return (self.counts[context + (word,)] + k) / (self.context_counts[context] + k * len(self.vocab))

    def cross_entropy(self, tokens: Sequence[str]) -> float:
        """Mean -log2 q(token | previous n-1 tokens) over held-out tokens, in bits per token.

        Every token with a full context is scored (the first n-1 only serve as context). Each
        distinct n-gram is scored once and weighted by how often it occurs: same sum, fewer calls.
        """
        n = self.config.order
        if len(tokens) < n:
            raise LabError(f"need at least {n} held-out tokens to score a {n}-gram model (got {len(tokens)})")
        grams = Counter(tuple(tokens[i - n + 1 : i + 1]) for i in range(n - 1, len(tokens)))
        bits = sum(count * -math.log2(self.prob(g[-1], g[:-1])) for g, count in grams.items())
        return bits / grams.total()

    def surprisals(self, tokens: Sequence[str]) -> list[float]:
        """-log2 q(token | previous n-1 tokens) for every token after the first n-1: the loss, token by token.

        Their mean is `cross_entropy(tokens)`.
        """
        n = self.config.order
        return [-math.log2(self.prob(tokens[i], tokens[i - n + 1 : i])) for i in range(n - 1, len(tokens))]

    def perplexity(self, tokens: Sequence[str]) -> float:
        """2 ** cross-entropy: the number of equally likely words the model's uncertainty is worth."""
        return 2.0 ** self.cross_entropy(tokens)

    def generate(self, n_tokens: int, seed: int = 0, start: Sequence[str] = ()) -> list[str]:
        """Sample text from the model, one token at a time (UNK never drawn)."""
        rng = np.random.default_rng(seed)
        words = self.vocab[:-1]
        out = list(start)
        for _ in range(n_tokens):
            q = np.array([self.prob(w, out) for w in words])
            out.append(words[rng.choice(len(words), p=q / q.sum())])
        return out[len(start) :]


def expected_cross_entropy(lm: NGramLM, source: MarkovSource, max_histories: int = 1_000_000) -> float:
    """The model's cross-entropy on an endless held-out text from `source`, computed exactly.

    Held-out text is a random sample, so its measured cross-entropy wobbles (and one sample can
    land below the entropy rate by chance). Its expectation does not: it is
        sum over histories h of P(h) * sum_w p(w | h) * -log2 q(w | last n-1 words of h)
    where a history is as many words as the source (k) or the model (n-1) looks back, whichever
    is more. A history of k words has the stationary probability pi(s); a longer one extends a
    context s word by word along the chain. By Gibbs' inequality this is >= the entropy rate,
    sum_s pi(s) H(next | s), for every model, with equality only if q matches p.
    """
    extra = max(0, lm.config.order - 1 - source.config.order)  # words the model remembers beyond the source
    starts = np.flatnonzero(source.stationary > 0)
    if len(starts) * source.config.branching**extra > max_histories:
        raise LabError(f"an order-{lm.config.order} model of this source has up to "
                       f"{len(starts) * source.config.branching**extra:,} histories to sum over; the limit is {max_histories:,}")
    histories = [(source.stationary[s], s, [source.words[i] for i in source.context_ids(s)]) for s in starts]
    for _ in range(extra):  # lengthen every history by each word the source may write next
        histories = [(weight * p, source.shift(s, w), words + [source.words[w]]) for weight, s, words in histories
                     for w, p in zip(source.next_words[s], source.next_probs[s]) if p > 0]
    total = 0.0
    for weight, s, words in histories:
        for w, p in zip(source.next_words[s], source.next_probs[s]):
            if p > 0:
                total += weight * p * -math.log2(lm.prob(source.words[w], words))
    return total


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks: the tokens of the word-level models on this page.

    >>> words("The cat's mat, red.")
    ['the', "cat's", 'mat', ',', 'red', '.']
    """
    return re.findall(r"[a-z0-9']+|[.,;:!?()]", text.lower())


@dataclass(frozen=True)
class LearningCurveConfig:
    orders: tuple[int, ...] = (1, 2, 3)  # which n-gram models to train
    train_sizes: tuple[int, ...] = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)  # training tokens
    k: float = 0.1  # add-k smoothing for every model


def learning_curve(train: Sequence[str], heldout: Sequence[str], config: LearningCurveConfig = LearningCurveConfig(),
                   source: MarkovSource | None = None) -> list[dict]:
    """Held-out cross-entropy of each n-gram order trained on the first `size` training tokens.

    Larger training sets extend smaller ones, as if the model kept reading. Every model gets the
    vocabulary of the whole training text, so all their cross-entropies are comparable. With the
    `source` that wrote the text, each row also has the exact expected cross-entropy, the entropy
    rate, and how far above the rate the expectation lies (never below: see expected_cross_entropy).

    >>> from core.lm.markov_source import SourceConfig
    >>> src = MarkovSource(SourceConfig(vocab_size=6, order=1, branching=2))
    >>> rows = learning_curve(src.sample(5000).split(), src.sample(2000, seed=1).split(),
    ...                       LearningCurveConfig(orders=(1, 2), train_sizes=(50, 5000)), source=src)
    >>> [(r["order"], r["train_tokens"]) for r in rows]
    [(1, 50), (1, 5000), (2, 50), (2, 5000)]
    >>> all(r["excess_bits"] >= 0 for r in rows)
    True
    """
    vocab = sorted(set(train))
    rows = []
    for n in config.orders:
        for size in sorted({min(s, len(train)) for s in config.train_sizes}):
            lm = NGramLM(NGramConfig(order=n, k=config.k)).fit(train[:size], vocab)
            row = {"order": n, "train_tokens": size, "measured_bits": lm.cross_entropy(heldout)}
            row["perplexity"] = 2.0 ** row["measured_bits"]
            if source is not None:
                exact = expected_cross_entropy(lm, source)
                row |= {"exact_bits": exact, "entropy_rate": source.entropy_rate, "excess_bits": exact - source.entropy_rate}
            rows.append(row)
    return rows


def model_snapshots(train: Sequence[str], heldout: Sequence[str], k: float = 0.1, orders: Sequence[int] = (1, 2, 3),
                    n_sample: int = 25, n_scored: int = 16, seed: int = 0) -> tuple[dict[int, list[str]], list[dict]]:
    """Each order's model trained on all of `train` (learning_curve's largest models): a text it
    writes, and its surprisal of each of the first `n_scored` held-out tokens, at the same
    positions for every order (the first max(orders) - 1 tokens only serve as context).

    >>> samples, rows = model_snapshots("a b a b a b a b".split(), "a b a b".split(), orders=(1, 2), n_sample=3, n_scored=2)
    >>> samples[2], [(r["order"], r["token"], round(r["bits"], 2)) for r in rows]
    (['b', 'a', 'b'], [(1, 'b', 1.02), (1, 'a', 1.02), (2, 'b', 0.07), (2, 'a', 0.09)])
    """
    vocab, context = sorted(set(train)), max(orders) - 1
    snippet = heldout[: n_scored + context]
    samples, rows = {}, []
    for n in orders:
        lm = NGramLM(NGramConfig(order=n, k=k)).fit(train, vocab)
        samples[n] = lm.generate(n_sample, seed=seed, start=train[:context])
        for i, bits in enumerate(lm.surprisals(snippet[context - (n - 1) :])):
            rows.append({"order": n, "position": i, "token": snippet[context + i], "bits": bits})
    return samples, rows


# ----------------------------------------------------------------------------- the page's experiments

NAMES = {1: "unigram", 2: "bigram", 3: "trigram", 4: "4-gram"}


def orders_for(source_order: int) -> tuple[int, ...]:
    """The models the page trains on a source remembering `source_order` words: unigram, bigram, trigram, and
    the n-gram with exactly the source's memory (n − 1 = source_order) when the trigram's is shorter, so one
    model can always reach the floor.

    >>> orders_for(1), orders_for(2), orders_for(3)
    ((1, 2, 3), (1, 2, 3), (1, 2, 3, 4))
    """
    return tuple(range(1, max(3, source_order + 1) + 1))


@dataclass(frozen=True)
class ExperimentConfig:
    k: float = 0.1  # add-k smoothing for every model
    train_sizes: tuple[int, ...] = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)  # training tokens, a learning curve
    heldout_tokens: int = 20_000  # the synthetic source's held-out sample
    heldout_share: float = 0.1  # real text: its last tenth is held out
    sample_tokens: int = 25  # text written by each model
    snippet_tokens: int = 16  # held-out tokens whose surprisal is shown one by one
    seed: int = 0  # training text from this seed, held-out text from seed + 1, samples from seed + 2


@dataclass
class SourceExperiment:
    curve: pd.DataFrame  # learning_curve's rows, plus the model's name
    entropy_rate: float  # the source's, in bits/token: the floor
    samples: dict[str, str]  # who wrote it ("the source itself", "bigram model", …) → text
    surprisals: pd.DataFrame  # model_snapshots' rows: order, model, position, token, bits


def source_experiment(source_config: SourceConfig, config: ExperimentConfig = ExperimentConfig()) -> SourceExperiment:
    """Unigram, bigram and trigram models (and a 4-gram for a source of order 3: `orders_for`) on text from a
    Markov source, whose entropy rate is known.

    One sample of the source's text is shared by everything: the learning curves (with the exact
    expected cross-entropy of every model); samples from the source and from each model trained on
    all the training text; and each model's surprisal on every token of a held-out snippet (all
    scored at the same positions). Train and held-out text are separate samples of the source.
    """
    source = MarkovSource(source_config)
    orders = orders_for(source_config.order)
    train = source.sample(max(config.train_sizes), seed=config.seed).split()
    heldout = source.sample(config.heldout_tokens, seed=config.seed + 1).split()
    curve = pd.DataFrame(learning_curve(train, heldout, LearningCurveConfig(orders, config.train_sizes, config.k), source))
    samples, bits = model_snapshots(train, heldout, config.k, orders, n_sample=config.sample_tokens, n_scored=config.snippet_tokens,
                                    seed=config.seed + 2)
    texts = {"the source itself": source.sample(config.sample_tokens, seed=config.seed + 2)}
    texts |= {f"{NAMES[n]} model": " ".join(t) for n, t in samples.items()}
    bits = pd.DataFrame(bits)
    return SourceExperiment(curve.assign(model=curve.order.map(NAMES)), source.entropy_rate, texts,
                            bits.assign(model=bits.order.map(NAMES)))


@dataclass
class CurveFacts:
    """What a learning curve shows, for the page to say in words (computed, so a caption can't contradict its chart)."""

    first_size: int  # the fewest training tokens on the curve
    best_first: str  # the model with the lowest expected loss there
    worst_first: str  # and the highest
    last_size: int  # the most training tokens
    closest: str  # the model nearest the floor at the most tokens
    closest_excess: float  # its bits above the floor
    at_floor: list[str]  # the models within `floor_tolerance` bits of the floor at the most tokens


FLOOR_TOLERANCE = 0.05  # bits per token: "at the floor" on the page means this close


def curve_facts(curve: pd.DataFrame, floor_tolerance: float = FLOOR_TOLERANCE) -> CurveFacts:
    """Read `source_experiment`'s curve (its exact expected bits): who starts best and worst, who reaches the floor.

    >>> rows = pd.DataFrame({"model": ["unigram", "bigram"] * 2, "train_tokens": [10, 10, 99, 99],
    ...                      "exact_bits": [3.0, 3.5, 2.9, 1.02], "excess_bits": [2.0, 2.5, 1.9, 0.02]})
    >>> f = curve_facts(rows)
    >>> f.best_first, f.worst_first, f.closest, f.at_floor
    ('unigram', 'bigram', 'bigram', ['bigram'])
    """
    first = curve[curve.train_tokens == curve.train_tokens.min()].set_index("model").exact_bits
    last = curve[curve.train_tokens == curve.train_tokens.max()].set_index("model").excess_bits
    return CurveFacts(int(curve.train_tokens.min()), str(first.idxmin()), str(first.idxmax()), int(curve.train_tokens.max()),
                      str(last.idxmin()), float(last.min()), [str(m) for m in last.index[last <= floor_tolerance]])


def heldout_split(tokens: Sequence[str], heldout_share: float = 0.1) -> tuple[Sequence[str], Sequence[str]]:
    """(train, held out): the text's last `heldout_share` held out, in one piece.

    Not a shuffled split (core.foundations.evaluation.split_indices): an n-gram model learns
    which token follows which, so its held-out text must keep its order.

    >>> heldout_split(list("abcdefghij"), 0.2)
    (['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], ['i', 'j'])
    """
    if not 0 < heldout_share < 1:
        raise LabError(f"the held-out share must lie between 0 and 1, not {heldout_share}")
    cut = int(round((1 - heldout_share) * len(tokens)))
    if cut < 1 or cut >= len(tokens):
        raise LabError(f"{len(tokens)} tokens are too few to hold out {heldout_share:.0%} of them")
    return tokens[:cut], tokens[cut:]


def text_experiment(text: str, config: ExperimentConfig = ExperimentConfig()) -> pd.DataFrame:
    """The learning curves of unigram, bigram and trigram models on real text (`words` of it): held-out
    cross-entropy against training tokens, up to all of the training part."""
    train, heldout = heldout_split(words(text), config.heldout_share)
    sizes = (*(s for s in config.train_sizes if s < len(train)), len(train))
    curve = pd.DataFrame(learning_curve(train, heldout, LearningCurveConfig(train_sizes=sizes, k=config.k)))
    return curve.assign(model=curve.order.map(NAMES))
