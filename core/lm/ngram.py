"""n-gram language models: counting, smoothing, backoff, and how close they get to the true entropy rate.

An n-gram model predicts each token from the n-1 tokens before it, by counting. Raw counts
(maximum likelihood, "mle") give every n-gram the training text never showed probability 0, so
one unseen n-gram in held-out text makes the cross-entropy infinite. Four ways to spread the
probability (V = vocabulary size, the training words plus <UNK>; c = the context, c' = c without
its oldest word):

    mle           q(w | c) = count(c, w) / count(c, .)
    add-k         q(w | c) = (count(c, w) + k) / (count(c, .) + k V)
    interpolated  q(w | c) = lam * count(c, w) / count(c, .) + (1 - lam) * q(w | c')      (Jelinek-Mercer;
                  q(w | ()) mixes the unigram with the uniform 1/V)
    kneser-ney    q(w | c) = max(N(c, w) - D, 0) / N(c, .) + D * T(c) / N(c, .) * q(w | c')

Kneser-Ney subtracts a discount D from every count it saw and hands the mass it collected,
D * T(c) / N(c, .) with T(c) the number of distinct words seen after c, to the shorter context.
Its twist: below the highest order, N counts *continuations*, not occurrences: N(c, w) is how
many distinct words were seen before (c, w). "Francisco" is frequent but only ever follows "San",
so as a guess after an unseen context it deserves little. In both recursive models a context the
training text never showed passes all its weight to the shorter context (backoff).

Its per-token cross-entropy on held-out text, H = -mean log2 q(token | context), is the language
model's loss, and perplexity = 2 ** H: the model is as unsure as if it picked uniformly among
that many words. No model can beat the entropy rate of the source that wrote the text.

>>> lm = NGramLM(NGramConfig(order=2, k=0.5)).fit("the cat sat on the mat".split())
>>> lm.prob("cat", ("the",))           # (1 + 0.5) / (2 + 0.5 * 6): 'the' was followed by cat once in 2
0.3
>>> round(lm.cross_entropy("the cat sat".split()), 3)    # mean of -log2 0.3 and -log2 q(sat | cat) = -log2 0.375
1.576
>>> kn = NGramLM(NGramConfig(order=2, smoothing="kneser-ney", discount=0.5)).fit("the cat sat on the mat".split())
>>> round(kn.prob("cat", ("the",)), 4)   # (1 - 0.5)/2 + 0.5 * 2/2 * q(cat), q(cat) = (1 - 0.5)/5 + 0.5 * 5/5 * 1/6
0.3417

(q(cat) counts continuations: 'cat' follows 1 distinct word, and the text has 5 distinct bigrams.)

Unseen words. Every word the vocabulary does not hold is read as <UNK>. With `unk_cutoff=1`
(nltk's default) <UNK> is never counted, so only add-k (and the interpolated model's uniform
share, and our Kneser-Ney's uniform floor) gives it any probability; with `unk_cutoff=2` every
training word seen once becomes <UNK> while counting, so <UNK> is a word class with real counts.
`nltk_kn=True` reproduces nltk.lm's KneserNeyInterpolated exactly: its unigram level has no
uniform floor (an uncounted word gets probability 0), and below the top order it takes T(c) from
raw counts, so near the start of a text its probabilities can add up to a little more than 1.

Counting and scoring are vectorised: an n-gram is an integer (the id of its first n-1 words
times V plus its last word), each order a sorted array of them, and a lookup is np.searchsorted.
"""

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from core.errors import LabError
from core.lm.markov_source import MarkovSource, SourceConfig

UNK = "<UNK>"  # stands for every word the vocabulary does not hold (nltk.lm's spelling)
BOS, EOS = "<s>", "</s>"  # sentence padding, as nltk.lm.preprocessing.pad_both_ends writes it
Smoothing = Literal["mle", "add-k", "interpolated", "kneser-ney"]
SMOOTHINGS: tuple[str, ...] = ("mle", "add-k", "interpolated", "kneser-ney")


@dataclass(frozen=True)
class NGramConfig:
    order: int = 3  # n: 1 = unigram (no context), 2 = bigram, 3 = trigram, ...
    k: float = 0.1  # add-k smoothing; 1 is Laplace's rule, small k trusts the counts more
    smoothing: Smoothing = "add-k"  # mle | add-k | interpolated | kneser-ney
    lam: float = 0.8  # interpolated: weight of each order's own counts; 1 - lam goes to the shorter context
    discount: float = 0.75  # kneser-ney: D subtracted from every count seen (0 < D <= 1)
    unk_cutoff: int = 1  # words seen fewer times than this become <UNK> (1: only unseen words; 2: training singletons too)
    nltk_kn: bool = False  # kneser-ney exactly as nltk.lm computes it (no uniform floor; see the module docstring)


@dataclass
class Level:
    """The counts of one order j (1 = unigrams), indexed by the id of each distinct j-gram.

    For j = 1 the id of a unigram is its word id and the context is the empty one (id 0).
    """

    keys: np.ndarray  # sorted j-gram keys: id of the first j-1 words * V + last word (word ids for j = 1)
    count: np.ndarray  # occurrences of each j-gram
    continuation: np.ndarray  # N(., g): distinct words seen before g (from the (j+1)-grams; 0 at the top order)
    # per context, indexed by the (j-1)-gram's id at order j-1 (a single entry for j = 1):
    total: np.ndarray  # count(c, .): occurrences of j-grams starting with c
    types: np.ndarray  # T(c): distinct words seen after c
    cont_total: np.ndarray  # N(., c, .): sum of the continuation counts of the j-grams starting with c
    cont_types: np.ndarray  # distinct words w with a continuation count N(., c, w) > 0


class NGramLM:
    def __init__(self, config: NGramConfig = NGramConfig()):
        c = config
        if c.order < 1:
            raise LabError(f"an n-gram model needs n >= 1 (got {c.order})")
        if c.smoothing not in SMOOTHINGS:
            raise LabError(f"smoothing must be one of {', '.join(SMOOTHINGS)} (got {c.smoothing!r})")
        if c.smoothing == "add-k" and not c.k > 0:
            raise LabError(f"add-k smoothing needs k > 0 (got {c.k}); k = 0 makes every unseen n-gram impossible")
        if c.smoothing == "interpolated" and not 0 <= c.lam < 1:
            raise LabError(f"interpolation weight lam must be in [0, 1) (got {c.lam}); lam = 1 is the raw counts (mle)")
        if c.smoothing == "kneser-ney" and not 0 < c.discount <= 1:
            raise LabError(f"the Kneser-Ney discount must be in (0, 1] (got {c.discount}) for probabilities to add up to 1")
        if c.smoothing == "kneser-ney" and c.order < 2:
            raise LabError("Kneser-Ney needs n >= 2: its lowest order counts the distinct words each word follows")
        if c.unk_cutoff < 1:
            raise LabError(f"unk_cutoff must be at least 1 (got {c.unk_cutoff})")
        self.config = c

    # ------------------------------------------------------------------ counting

    def fit(self, tokens: Sequence[str], vocab: Sequence[str] | None = None) -> "NGramLM":
        """Count every j-gram (j = 1..n) of one stream of training tokens.

        `vocab` fixes the words the vocabulary counts from (default: `tokens`); a word occurring in
        it fewer than `unk_cutoff` times, or not at all, counts as <UNK>. Perplexities are only
        comparable between models with the same vocabulary: a model that knows 50 words files every
        other word under <UNK>, and predicting <UNK> is easy.
        """
        n = self.config.order
        if len(tokens) < n:
            raise LabError(f"a {n}-gram model needs at least {n} training tokens (got {len(tokens)}); "
                           "use a lower order or more text")
        return self._fit([list(tokens)], list(tokens) if vocab is None else list(vocab))

    def fit_sentences(self, sentences: Sequence[Sequence[str]]) -> "NGramLM":
        """nltk.lm's convention: each sentence padded with n-1 <s> before and n-1 </s> after, every
        j-gram counted within its sentence, the vocabulary from the padded text
        (`padded_everygram_pipeline`). Score held-out sentences with `score_ngrams(sentence_ngrams(...))`.
        """
        padded = [self.pad(s) for s in sentences if len(s)]
        if not padded:
            raise LabError("no sentence to train on: every sentence is empty")
        return self._fit(padded, [w for s in padded for w in s])

    def pad(self, sentence: Sequence[str]) -> list[str]:
        m = self.config.order - 1
        return [BOS] * m + list(sentence) + [EOS] * m

    def sentence_ngrams(self, sentences: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        """The n-grams of padded held-out sentences: what nltk's `ngrams(pad_both_ends(s, n), n)` gives."""
        n = self.config.order
        return [tuple(p[i : i + n]) for s in sentences if len(s) for p in [self.pad(s)] for i in range(len(p) - n + 1)]

    def _fit(self, sequences: list[list[str]], vocab_text: list[str]) -> "NGramLM":
        counts: dict[str, int] = {}
        for w in vocab_text:
            counts[w] = counts.get(w, 0) + 1
        self.known = {w for w, c in counts.items() if c >= self.config.unk_cutoff and w != UNK}
        self.vocab = sorted(self.known) + [UNK]
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.unk_id = len(self.vocab) - 1
        ids = [self.encode(s) for s in sequences]
        self.levels = self._count(np.concatenate(ids), np.concatenate([np.arange(len(s)) for s in ids]))
        self.train_tokens = sum(len(s) for s in ids)
        return self

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Word ids, <UNK>'s for every word the vocabulary does not hold."""
        index, unk = self.index, self.unk_id
        return np.fromiter((index.get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))

    def _count(self, ids: np.ndarray, pos: np.ndarray) -> list[Level]:
        """Levels 1..n from word ids and each token's position in its sequence (j-grams never cross sequences)."""
        v, n = len(self.vocab), self.config.order
        gram_id = ids.copy()  # id of the (j-1)-gram ending at each position; -1 where none fits
        raw = [(np.arange(v), np.bincount(ids, minlength=v).astype(float), None)]  # (keys, count, suffix id of each j-gram)
        for j in range(2, n + 1):
            end = np.flatnonzero(pos >= j - 1)  # positions where a j-gram ends inside its sequence
            keys, inverse, count = np.unique(gram_id[end - 1] * v + ids[end], return_inverse=True, return_counts=True)
            suffix = np.empty(len(keys), dtype=np.int64)
            suffix[inverse] = gram_id[end]  # the (j-1)-gram made of the last j-1 words
            gram_id = np.full(len(ids), -1, dtype=np.int64)
            gram_id[end] = inverse
            raw.append((keys, count.astype(float), suffix))
        levels = []
        for j in range(1, n + 1):
            keys, count, _ = raw[j - 1]
            above = raw[j][2] if j < n else None
            cont = np.bincount(above, minlength=len(keys)).astype(float) if above is not None else np.zeros(len(keys))
            prefix = keys // v if j > 1 else np.zeros(len(keys), dtype=np.int64)
            size = len(raw[j - 2][0]) if j > 1 else 1
            total = np.bincount(prefix, weights=count, minlength=size)
            types = np.bincount(prefix, weights=(count > 0).astype(float), minlength=size)
            levels.append(Level(keys, count, cont, total, types, np.bincount(prefix, weights=cont, minlength=size),
                                np.bincount(prefix, weights=(cont > 0).astype(float), minlength=size)))
        return levels

    def with_order(self, order: int) -> "NGramLM":
        """The same counts read as a lower-order model (orders 1..order of an order-n model are exactly
        what an order-`order` model would count), without counting again."""
        if not 1 <= order <= self.config.order:
            raise LabError(f"this model counted orders 1 to {self.config.order}; order {order} is not among them")
        lower = copy.copy(self)
        lower.config, lower.levels = replace(self.config, order=order), self.levels[:order]
        NGramLM.__init__(lower, lower.config)  # the same checks as a model built with that order
        return lower

    @property
    def n_parameters(self) -> int:
        """Numbers the model stores: a count per distinct j-gram of every order it uses."""
        used = self.levels if self.config.smoothing in ("interpolated", "kneser-ney") else self.levels[-1:]
        return int(sum(np.count_nonzero(lv.count) for lv in used))

    # ------------------------------------------------------------------ scoring

    def _ids(self, rows: np.ndarray) -> list[list[np.ndarray]]:
        """ids[a][b]: id of the gram rows[:, a:b] at order b - a, or -1 (never seen); built by extending prefixes."""
        v, width = len(self.vocab), rows.shape[1]
        ids = [[None] * (width + 1) for _ in range(width)]
        for a in range(width):
            ids[a][a + 1] = rows[:, a]  # a unigram's id is its word id
            for b in range(a + 2, width + 1):
                keys = self.levels[b - a - 1].keys
                key = ids[a][b - 1] * v + rows[:, b - 1]  # negative when the prefix was never seen
                at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
                ids[a][b] = np.where((keys[at] == key) & (ids[a][b - 1] >= 0), at, -1)
        return ids

    def level_terms(self, contexts: np.ndarray, words: np.ndarray, depth: np.ndarray | None = None) -> list[dict[str, np.ndarray]]:
        """For each order j = 1..n, the pieces of q(word | context), one entry per row.

        `contexts` (rows, n-1) holds word ids, newest last; `depth` (default n-1) is how many of a
        row's last context words are real (fewer near the start of a text). Each level holds
        `seen` (its context was counted), `num` and `den` (the count and its total, or continuation
        counts below the top order for Kneser-Ney), `alpha` (the level's own estimate), `gamma`
        (the weight left for the shorter context) and `p`, q(word | the last j-1 context words).
        """
        c, n = self.config, self.config.order
        recursive = c.smoothing in ("interpolated", "kneser-ney")  # each order leans on the one below; mle and add-k use one order
        rows = np.concatenate([contexts.reshape(len(words), n - 1), words[:, None]], axis=1)
        depth = np.full(len(words), n - 1) if depth is None else depth
        ids, v = self._ids(rows), len(self.vocab)
        out, lower = [], np.full(len(words), 1.0 / v)  # order 0: the uniform distribution
        for j in range(1, n + 1):
            lv = self.levels[j - 1]
            ctx = ids[n - j][n - 1] if j > 1 else np.zeros(len(words), dtype=np.int64)
            gram = ids[n - j][n]
            top = j == n  # Kneser-Ney: raw counts at the model's highest order, continuation counts below it
            ok_ctx, ok_gram = ctx >= 0, gram >= 0
            safe_ctx, safe_gram = np.where(ok_ctx, ctx, 0), np.where(ok_gram, gram, 0)
            kneser_lower = c.smoothing == "kneser-ney" and not top
            num = np.where(ok_gram, lv.count[safe_gram], 0.0)
            den = np.where(ok_ctx, lv.total[safe_ctx], 0.0)
            types = np.where(ok_ctx, lv.types[safe_ctx], 0.0)
            if kneser_lower:  # continuation counts below the top order
                cont_types = lv.types if c.nltk_kn else lv.cont_types
                num = np.where(ok_gram, lv.continuation[safe_gram], 0.0)
                den = np.where(ok_ctx, lv.cont_total[safe_ctx], 0.0)
                types = np.where(ok_ctx, cont_types[safe_ctx], 0.0)
            seen = (den > 0) & (depth >= j - 1)
            safe_den = np.where(seen, den, 1.0)
            alpha, gamma = self._alpha_gamma(num, safe_den, types)
            if c.smoothing == "kneser-ney" and j == 1 and c.nltk_kn:
                gamma = np.zeros_like(gamma)  # nltk: the continuation unigram alone, no uniform floor
                alpha = num / safe_den
            if recursive:  # an unseen context passes everything to the shorter one (backoff)
                p = lower = np.where(seen, alpha + gamma * lower, lower)
            else:  # an unseen context: mle has nothing to say (0), add-k spreads evenly (k / kV)
                p = np.where(seen, alpha, 0.0 if c.smoothing == "mle" else 1.0 / v)
            out.append({"seen": seen, "num": num, "den": den, "types": types, "alpha": alpha, "gamma": gamma, "p": p})
        return out

    def _alpha_gamma(self, num: np.ndarray, den: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A level's own estimate of q(word | context) and the weight it leaves for the shorter context."""
        c = self.config
        if c.smoothing == "mle":
            return num / den, np.zeros_like(num)
        if c.smoothing == "add-k":
            return (num + c.k) / (den + c.k * len(self.vocab)), np.zeros_like(num)
        if c.smoothing == "interpolated":
            return c.lam * num / den, np.full_like(num, 1 - c.lam)
        return np.maximum(num - c.discount, 0.0) / den, c.discount * types / den

    def probs(self, contexts: np.ndarray, words: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
        """q(word | context) for every row (word ids; see level_terms), at each row's highest order."""
        terms = self.level_terms(contexts, words, depth)
        if self.config.smoothing in ("interpolated", "kneser-ney"):  # the top order already holds every lower one
            return terms[-1]["p"]
        depth = np.full(len(words), self.config.order - 1) if depth is None else depth
        return np.stack([t["p"] for t in terms])[np.minimum(depth, self.config.order - 1), np.arange(len(words))]

    def _rows(self, grams: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(contexts right-aligned in n-1 columns, word ids, context depths) of (context..., word) tuples."""
        m = self.config.order - 1
        if grams and all(len(g) == m + 1 for g in grams):  # full-length n-grams (nltk's scoring): encode them in one go
            ids = self.encode([w for g in grams for w in g]).reshape(len(grams), m + 1)
            return ids[:, :-1], ids[:, -1], np.full(len(grams), m)
        contexts = np.full((len(grams), m), self.unk_id, dtype=np.int64)
        depth = np.empty(len(grams), dtype=np.int64)
        for i, g in enumerate(grams):
            ctx = self.encode(list(g[:-1])[-m:] if m else [])
            depth[i] = len(ctx)
            if len(ctx):
                contexts[i, m - len(ctx) :] = ctx
        return contexts, self.encode([g[-1] for g in grams]), depth

    def prob(self, word: str, context: Sequence[str]) -> float:
        """q(word | the last n-1 tokens of context) (a shorter context uses the orders it reaches)."""
        return float(self.probs(*self._rows([(*context, word)]))[0])

    def score_ngrams(self, grams: Sequence[Sequence[str]]) -> np.ndarray:
        """-log2 q(g[-1] | g[:-1]) of each gram (nltk's `logscore`, negated); inf where q = 0."""
        with np.errstate(divide="ignore"):
            return -np.log2(self.probs(*self._rows(grams)))

    def surprisals(self, tokens: Sequence[str]) -> np.ndarray:
        """-log2 q(token | previous n-1 tokens) for every token after the first n-1: the loss, token by token.

        Their mean is `cross_entropy(tokens)`; a token the model gives probability 0 costs inf.
        """
        n = self.config.order
        if len(tokens) < n:
            raise LabError(f"need at least {n} held-out tokens to score a {n}-gram model (got {len(tokens)})")
        ids = self.encode(tokens)
        windows = np.lib.stride_tricks.sliding_window_view(ids, n)
        with np.errstate(divide="ignore"):
            return -np.log2(self.probs(windows[:, :-1], windows[:, -1]))

    def cross_entropy(self, tokens: Sequence[str]) -> float:
        """Mean -log2 q(token | previous n-1 tokens) over held-out tokens, in bits per token.

        Every token with a full context is scored (the first n-1 only serve as context). Infinite
        when some held-out token gets probability 0 (mle, or an uncounted <UNK>: see `zero_probability`).
        """
        return float(np.mean(self.surprisals(tokens)))

    def perplexity(self, tokens: Sequence[str]) -> float:
        """2 ** cross-entropy: the number of equally likely words the model's uncertainty is worth."""
        return 2.0 ** self.cross_entropy(tokens)

    def unknown_share(self, tokens: Sequence[str]) -> float:
        """Share of tokens the vocabulary does not hold (read as <UNK>)."""
        return float(np.mean(self.encode(tokens) == self.unk_id)) if len(tokens) else 0.0

    def next_distribution(self, context: Sequence[str]) -> np.ndarray:
        """q(w | context) for every word of the vocabulary, in `vocab` order (<UNK> last)."""
        v = len(self.vocab)
        contexts, _, depth = self._rows([(*context, UNK)])
        return self.probs(np.repeat(contexts, v, axis=0), np.arange(v), np.repeat(depth, v))

    def generate(self, n_tokens: int, seed: int = 0, start: Sequence[str] = ()) -> list[str]:
        """Sample text from the model, one token at a time (<UNK> and <s> never drawn)."""
        rng = np.random.default_rng(seed)
        drawable = np.array([w not in (UNK, BOS) for w in self.vocab])
        out = list(start)
        for _ in range(n_tokens):
            m = self.config.order - 1
            q = np.where(drawable, self.next_distribution(out[-m:] if m else []), 0.0)
            if q.sum() <= 0:  # mle after a context it never saw: fall back to the words' frequencies
                q = np.where(drawable, self.levels[0].count, 0.0)
            out.append(self.vocab[rng.choice(len(q), p=q / q.sum())])
        return out[len(start) :]

    def explain(self, context: Sequence[str], word: str) -> list[dict]:
        """How q(word | context) is built, one row per order from the highest down.

        Each row: the context used at that order, whether it was counted, the word's count (or
        continuation count) and its total, the distinct words seen after it, the level's own
        estimate, the weight passed down to the shorter context and the probability at that order.

        >>> lm = NGramLM(NGramConfig(order=2, smoothing="kneser-ney", discount=0.5)).fit("the cat sat on the mat".split())
        >>> [(r["order"], r["context"], r["count"], r["total"], r["weight to shorter context"], round(r["probability"], 4))
        ...  for r in lm.explain(["the"], "cat")]
        [(2, ('the',), 1.0, 2.0, 0.5, 0.3417), (1, (), 1.0, 5.0, 0.5, 0.1833)]
        """
        n = self.config.order
        contexts, words, depth = self._rows([(*context, word)])
        terms = self.level_terms(contexts, words, depth)
        kept = [t if t in self.known else UNK for t in list(context)[-(n - 1) :]] if n > 1 else []
        rows = []
        for j in range(min(n, int(depth[0]) + 1), 0, -1):
            t = {key: float(value[0]) for key, value in terms[j - 1].items()}
            rows.append({"order": j, "context": tuple(kept[len(kept) - (j - 1) :] if j > 1 else []),
                         "context seen": bool(t["seen"]), "count": t["num"], "total": t["den"], "distinct next words": t["types"],
                         "own estimate": t["alpha"] if t["seen"] else 0.0,
                         "weight to shorter context": t["gamma"] if t["seen"] else 1.0, "probability": t["p"]})
            if self.config.smoothing in ("mle", "add-k"):
                break  # one order only
        return rows


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
    m = lm.config.order - 1
    weights, grams = [], []
    for weight, s, words in histories:
        for w, p in zip(source.next_words[s], source.next_probs[s]):
            if p > 0:
                weights.append(weight * p)
                grams.append((*(words[len(words) - m :] if m else []), source.words[w]))
    return float(np.dot(weights, lm.score_ngrams(grams)))


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
            rows.append({"order": n, "position": i, "token": snippet[context + i], "bits": float(bits)})
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
