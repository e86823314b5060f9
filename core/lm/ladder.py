"""The ladder of language models: counts, an MLP, recurrent networks (and the GPT) on one corpus, one split.

Each rung predicts the same held-out tokens from the same vocabulary, so their cross-entropies
(bits per token) compare directly:

    n-gram   counts of the last n-1 tokens, smoothed (core.lm.ngram)
    MLP      embeddings of the last k tokens → tanh layer → softmax (core.lm.mlp_lm)
    RNN, GRU, LSTM   a hidden state carried through the whole window (core.lm.rnn_lm, core.nn.recurrent)

On the lab's synthetic Markov text the best possible cross-entropy is known exactly: the source's
entropy rate. No model can get below it in expectation (one held-out sample can, by a hair, by
luck). The rungs are registered in RUNGS, one function each, so a new model (the GPT) is one entry.

>>> corpus = load_corpus("markov", n_tokens=3_000)
>>> config = LadderConfig(rungs=("n-gram",), ngram_order=2)
>>> [r.name for r in run_rung("n-gram", config, corpus)]
['2-gram']
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from core.errors import LabError
from core.lm import mlp_lm, rnn_lm
from core.lm.markov_source import MarkovSource, SourceConfig
from core.lm.neural_lm import Corpus, LMResult, Logits, TrainConfig, make_corpus, train_lm
from core.lm.ngram import NGramConfig, NGramLM, words
from core.training import OnStep, generators
from core.transformers.gpt import GPT, GPTConfig

MAX_TOKENS = {"word": 100_000, "char": 200_000}  # longer texts are cut here, so a page's run stays short
MAX_ORDER = 12
CORPORA = {"markov": "Synthetic Markov text (exact entropy rate)", "python-docs": "Python's reference manual", "text": "Your own text"}


def load_corpus(key: str, unit: str = "word", text: str | None = None, n_tokens: int = 50_000, seed: int = 0) -> Corpus:
    """The ladder's corpus: the lab's Markov text (words; its entropy rate attached), Python's manual
    or your text (words or characters), cut into training and held-out parts (core.lm.neural_lm.make_corpus).

    Characters are Unicode code points: an emoji is one token, or several when it is built from
    several code points (a family, a flag).
    """
    if key == "markov":
        source = MarkovSource(SourceConfig())
        return make_corpus(source.sample(n_tokens, seed=seed).split(), "word", "markov", seed=seed, entropy_rate=source.entropy_rate)
    if key == "python-docs":
        from core.infra.data import python_docs_text

        text = python_docs_text()
    if text is None or not text.strip():
        raise LabError("there is no text to train on: paste or upload some")
    if "\x00" in text:
        raise LabError("the text contains NUL characters, so it looks like a binary file, not text")
    if unit not in MAX_TOKENS:
        raise LabError(f"unit must be 'word' or 'char' (got {unit!r})")
    tokens = words(text) if unit == "word" else list(" ".join(text.split()))
    if unit == "word" and not tokens:
        raise LabError("the text has no words the word tokenizer keeps (letters, digits, punctuation); try characters")
    return make_corpus(tokens[: MAX_TOKENS[unit]], unit, key, seed=seed)


@dataclass(frozen=True)
class LadderConfig:
    rungs: tuple[str, ...] = ("n-gram", "MLP", "RNN", "GRU", "LSTM", "GPT")  # which models to train, in RUNGS
    ngram_order: int = 3  # the n-gram rung fits every order from 1 (2 for Kneser-Ney) up to this one
    smoothing: str = "kneser-ney"  # the n-gram's smoothing (core.lm.ngram.SMOOTHINGS)
    mlp_context: int = 3  # tokens the MLP sees
    embed: int = 16  # embedding size of every neural model
    hidden: int = 64  # hidden units of the MLP, the recurrent state size, the GPT's width
    gpt_layers: int = 2  # transformer blocks of the GPT rung (4 heads each when the width allows, else 1)
    gpt_lr: float = 3e-3  # the GPT's own Adam step: at the small networks' 0.02 it stalls near the unigram's loss
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=400, batch_size=64, lr=0.02))  # shared by every neural rung
    seed: int = 0


def fit_ngrams(config: LadderConfig, corpus: Corpus) -> list[LMResult]:
    """Every n-gram order up to config.ngram_order, scored on the held-out tokens the networks score."""
    c, warm = config, config.train.warmup
    if not 1 <= c.ngram_order <= MAX_ORDER:
        raise LabError(f"the n-gram order must be 1 to {MAX_ORDER} (got {c.ngram_order})")
    if c.ngram_order > len(corpus.train):
        raise LabError(f"an order-{c.ngram_order} model needs at least {c.ngram_order} training tokens; this text has {len(corpus.train)}")
    train, heldout = corpus.tokens(corpus.train), corpus.tokens(corpus.heldout)
    results = []
    for n in range(2 if c.smoothing == "kneser-ney" else 1, c.ngram_order + 1):
        start = time.perf_counter()  # each order counted on its own, so its time is its own
        lm = NGramLM(NGramConfig(order=n, smoothing=c.smoothing)).fit(train, vocab=corpus.vocab[:-1])
        seconds = time.perf_counter() - start
        bits = lm.surprisals(heldout[warm - (n - 1) :])  # the targets heldout[warm:], as the networks score them
        text = corpus.join(lm.generate(c.train.sample_tokens, seed=c.seed, start=heldout[:warm]))
        results.append(LMResult(f"{n}-gram", lm, None, float(np.mean(bits)), lm.n_parameters, seconds,
                                [{"step": 0, "seconds": seconds, "heldout_bits": float(np.mean(bits))}], text, family="n-gram"))
    return results


def fit_mlp(config: LadderConfig, corpus: Corpus, on_step: OnStep | None = None) -> list[LMResult]:
    mlp = mlp_lm.MLPLMConfig(context=config.mlp_context, embed=config.embed, hidden=config.hidden, train=config.train, seed=config.seed)
    return [mlp_lm.fit(mlp, corpus, on_step)]


def recurrent(kind: str) -> Callable[..., list[LMResult]]:
    def fit(config: LadderConfig, corpus: Corpus, on_step: OnStep | None = None) -> list[LMResult]:
        rnn = rnn_lm.RNNLMConfig(kind=kind, embed=config.embed, hidden=config.hidden, train=config.train, seed=config.seed)
        return [rnn_lm.fit(rnn, corpus, on_step)]
    return fit


def fit_gpt(config: LadderConfig, corpus: Corpus, on_step: OnStep | None = None) -> list[LMResult]:
    """The lab's GPT (core.transformers.gpt), trained by the same loop on the same windows as every other rung."""
    heads = 4 if config.hidden % 4 == 0 else 1
    gpt_config = GPTConfig(vocab_size=len(corpus.vocab), context=config.train.block_size, n_layer=config.gpt_layers, n_head=heads,
                           n_embd=config.hidden)
    rng, g = generators(config.seed)
    train = replace(config.train, lr=config.gpt_lr)
    return [train_lm("GPT", Logits(GPT(gpt_config, g)), corpus, train, rng, g, on_step, family="GPT")]


# name -> fit(config, corpus, on_step) -> results; the page and run_ladder go through this table
RUNGS: dict[str, Callable[..., list[LMResult]]] = {
    "n-gram": lambda config, corpus, on_step=None: fit_ngrams(config, corpus),
    "MLP": fit_mlp,
    "RNN": recurrent("rnn"),
    "GRU": recurrent("gru"),
    "LSTM": recurrent("lstm"),
    "GPT": fit_gpt,
}
COUNTED = {"n-gram"}  # rungs fitted by counting: no training steps to report


def check(config: LadderConfig) -> LadderConfig:
    unknown = [r for r in config.rungs if r not in RUNGS]
    if unknown:
        raise LabError(f"unknown rung(s) {', '.join(unknown)}; choose from {', '.join(RUNGS)}")
    # every scored held-out token gets the full context of the MLP and of the n-gram
    warmup = max(config.train.warmup, config.mlp_context, config.ngram_order - 1 if "n-gram" in config.rungs else 0)
    if warmup > config.train.block_size:
        raise LabError(f"the block size ({config.train.block_size}) must be at least the longest context a rung needs ({warmup} tokens)")
    return replace(config, train=replace(config.train, warmup=warmup))


def run_rung(name: str, config: LadderConfig, corpus: Corpus, on_step: OnStep | None = None) -> list[LMResult]:
    """Train one rung (name in RUNGS) on the corpus and score it on its held-out part."""
    if name not in RUNGS:
        raise LabError(f"unknown rung {name!r}; choose from {', '.join(RUNGS)}")
    return RUNGS[name](check(config), corpus, on_step)


def run_ladder(config: LadderConfig, corpus: Corpus, on_step: Callable[[str, int, dict], bool | None] | None = None) -> list[LMResult]:
    """Every rung of config.rungs in turn; on_step(rung, step, metrics) reports progress (False stops)."""
    results: list[LMResult] = []
    for name in check(config).rungs:
        results += run_rung(name, config, corpus, None if on_step is None else (lambda i, m, name=name: on_step(name, i, m)))
    return results


def summary(results: list[LMResult], corpus: Corpus) -> list[dict]:
    """One row per model: held-out bits, perplexity, bits above the floor (when known), parameters, seconds."""
    rows = []
    for r in results:
        row = {"model": r.name, "family": r.family, "heldout_bits": r.heldout_bits, "perplexity": 2.0**r.heldout_bits,
               "parameters": r.n_parameters, "train_seconds": r.train_seconds}
        if corpus.entropy_rate is not None:
            row["above_floor_bits"] = r.heldout_bits - corpus.entropy_rate
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- the n-gram rung, explained


def tokenize_like(corpus: Corpus, text: str) -> list[str]:
    """`text` cut into the corpus's tokens (words as core.lm.ngram.words cuts them, or characters)."""
    return words(text) if corpus.unit == "word" else list(text)


def fit_ngram(corpus: Corpus, config: NGramConfig) -> NGramLM:
    """An n-gram model of the corpus's training part, over the corpus's vocabulary."""
    return NGramLM(config).fit(corpus.tokens(corpus.train), vocab=corpus.vocab[:-1])


def ngram_orders(corpus: Corpus, config: NGramConfig, orders: tuple[int, ...] = tuple(range(1, 9))) -> list[dict]:
    """Held-out bits of the same smoothing at each order, with the share of held-out tokens it gives
    probability 0 (any such token makes the cross-entropy infinite)."""
    heldout, curve = corpus.tokens(corpus.heldout), []
    usable = [n for n in orders if n <= len(corpus.train) and (config.smoothing != "kneser-ney" or n >= 2)]
    full = fit_ngram(corpus, replace(config, order=max(usable))) if usable else None
    for n in usable:
        bits = full.with_order(n).surprisals(heldout)
        curve.append({"order": n, "heldout_bits": float(np.mean(bits)), "zero_probability_share": float(np.mean(np.isinf(bits)))})
    return curve


def explore(lm: NGramLM, corpus: Corpus, context: str, word: str = "", top: int = 10) -> dict:
    """How q(word | context) is built, order by order (NGramLM.explain), and the `top` most likely next
    tokens. An empty word takes the model's most likely next token; a longer one its first token."""
    n = lm.config.order
    ctx = tokenize_like(corpus, context)[-(n - 1) :] if n > 1 else []
    dist = lm.next_distribution(ctx)
    best = np.argsort(-dist, kind="stable")[:top]
    target = (tokenize_like(corpus, word) or [lm.vocab[best[0]]])[0]
    return {"context": ctx, "word": target, "explain": lm.explain(ctx, target),
            "next": [{"token": lm.vocab[i], "probability": float(dist[i])} for i in best],
            "unk_training_count": int(np.sum(corpus.train == len(corpus.vocab) - 1))}
