"""word2vec: skip-gram with negative sampling (Mikolov et al., 2013), in NumPy, in vectorised mini-batches.

Every word w has two vectors: v_w when it is the centre, u_w when it is a context. For each centre
word and each context word c within its window, the model should score the true pair high and
`negatives` random "noise" words n low:

    loss(w, c) = −log σ(u_c · v_w) − Σ_{n ~ P_noise} log σ(−u_n · v_w),      σ(s) = 1 / (1 + e^−s)

Its gradients are short. With g = σ(u · v) − label (label 1 for c, 0 for the noise words):

    ∂loss/∂v_w = Σ_j g_j u_j          ∂loss/∂u_j = g_j v_w

and plain SGD moves each vector against its gradient with a learning rate that falls linearly from
`lr` to `min_lr` over the run. Three tricks from the paper (and gensim, the reference we race):

- **dynamic window**: each centre draws its reach b from 1..window, so near words count more;
- **subsampling**: a word with corpus share f is kept with probability (√(f/t) + 1) · t/f (at most 1),
  so "the" is skipped most of the time and rare words never are (t = `sample`);
- **noise distribution**: P_noise(w) ∝ count(w)^0.75, drawn from a table as word2vec.c does.

One step takes `batch_words` corpus positions, builds every (centre, context) pair they give, draws
the noise words and updates all the rows at once (summing the updates of a row that appears twice,
up to MAX_HITS of them: see `_update`).

>>> sentences = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat", "on", "the", "rug"]] * 50
>>> result = fit(Word2VecConfig(dim=8, window=2, min_count=1, epochs=3, sample=0, batch_words=64), sentences)
>>> result.vectors.shape, result.history.steps[-1]
((7, 8), 30)
>>> result.history.metrics["loss"][-1] < result.history.metrics["loss"][0]
True
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.special import expit

from core.errors import LabError
from core.lm.word_corpus import Vocabulary, window_pairs
from core.lm.word_vectors import WordVectors
from core.training import History, OnStep, generators, run_steps

NOISE_TABLE_SIZE = 1 << 22  # word2vec.c draws noise words from a table of 1e8 entries; 4M is plenty for a lab corpus
MAX_HITS = 16  # a row moved by more pairs than this in one step moves as if by this many (see _update)
N_SNAPSHOTS = 8  # how often a run reports its probe words' neighbours
N_NEIGHBOURS = 8

OnNeighbours = Callable[[int, dict[str, list[str]]], None]


@dataclass(frozen=True)
class Word2VecConfig:
    dim: int = 50  # length of each word vector (gensim: vector_size)
    window: int = 5  # largest distance to a context word; each centre draws its own reach in 1..window
    negatives: int = 5  # noise words per true (centre, context) pair
    epochs: int = 5  # passes over the corpus
    min_count: int = 5  # words seen fewer times are dropped from the corpus before training
    sample: float = 1e-3  # subsampling threshold t; 0 keeps every word
    lr: float = 0.025  # SGD's starting learning rate (gensim: alpha) ...
    min_lr: float = 0.0001  # ... falling linearly to this at the end of the run (gensim: min_alpha)
    noise_power: float = 0.75  # P_noise ∝ count^power: 1 = unigram, 0 = uniform
    batch_words: int = 64  # corpus positions per vectorised step (~400 pairs; larger steps sum too many moves of one row)
    seed: int = 0  # initial vectors, subsampling, windows and noise all come from this run's generator
    probes: tuple[str, ...] = ()  # words whose nearest neighbours are reported as training goes


@dataclass
class Word2VecResult:
    config: Word2VecConfig
    vocab: Vocabulary
    vectors: np.ndarray = field(repr=False)  # (V, dim) centre vectors v: the word vectors one keeps
    context_vectors: np.ndarray = field(repr=False)  # (V, dim) context vectors u
    history: History = field(repr=False)
    snapshots: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)  # (step, probe → neighbours)
    missing_probes: list[str] = field(default_factory=list)  # probe words not in the vocabulary


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """P(keep a token of word w) = (√(f/t) + 1) · t/f with f = count/total, capped at 1 (gensim's and word2vec.c's rule).

    >>> keep_probabilities(np.array([1000, 10]), sample=1e-3).round(3).tolist()   # t·total = 1.01 occurrences
    [0.033, 0.419]
    """
    if sample <= 0:
        return np.ones(len(counts))
    threshold = sample * counts.sum()
    return np.minimum((np.sqrt(counts / threshold) + 1) * threshold / counts, 1.0)


def noise_table(counts: np.ndarray, power: float = 0.75, size: int = NOISE_TABLE_SIZE) -> np.ndarray:
    """Word ids repeated in proportion to count^power: a uniform draw from it is a draw from P_noise.

    >>> np.bincount(noise_table(np.array([16, 1]), power=0.75, size=9)).tolist()   # 16^0.75 = 8 : 1
    [8, 1]
    """
    p = counts.astype(np.float64) ** power
    return np.repeat(np.arange(len(counts), dtype=np.int32), np.round(p / p.sum() * size).astype(np.int64))


def sgns_gradients(v: np.ndarray, u: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss and gradients of a batch of pairs. v: (P, d) centre vectors; u: (P, 1 + K, d) the true
    context's vector first, then the K noise words'. `mask` (P, 1 + K) zeroes noise words that happen
    to be the true context (word2vec skips those).

    Returns (summed loss, g = σ(u·v) − label of shape (P, 1 + K), ∂loss/∂v of shape (P, d)).
    ∂loss/∂u_j = g_j v (see `context_gradients`); training never builds that (P, 1 + K, d) array.
    """
    scores = np.einsum("pkd,pd->pk", u, v)
    labels = np.zeros_like(scores)
    labels[:, 0] = 1.0
    with np.errstate(invalid="ignore", over="ignore"):  # a diverged run gives inf/NaN here; run_steps then stops it
        losses = np.logaddexp(0.0, -(2 * labels - 1) * scores)  # −log σ(s) for the true context, −log σ(−s) for noise
        g = expit(scores) - labels
        if mask is not None:
            losses, g = losses * mask, g * mask
    return float(losses.sum()), g, np.einsum("pk,pkd->pd", g, u)


def context_gradients(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """∂loss/∂u for every pair and target: g_j v, shape (P, 1 + K, d)."""
    return g[:, :, None] * v[:, None, :]


def _update(w_in: np.ndarray, w_out: np.ndarray, centres: np.ndarray, targets: np.ndarray, g: np.ndarray, v: np.ndarray,
            grad_v: np.ndarray, lr: float) -> None:
    """Move every gathered row against its gradient, summing the moves of a row that appears more than once,
    up to MAX_HITS of them: a row hit n > MAX_HITS times in one step moves MAX_HITS/n of the sum.

    Sequential SGD lets each update see the row the previous one left; a batch adds them blindly, and on a
    small vocabulary without subsampling "the" can be hit hundreds of times in one step and run away.
    The sums are sparse products: a (V × pairs) matrix holding each pair's factors in its rows' places.
    """
    n_pairs, width = targets.shape
    n_words = len(w_out)
    by_pair = sparse.csc_matrix((g.ravel() * -lr, targets.ravel(), np.arange(0, n_pairs * width + 1, width)), shape=(n_words, n_pairs))
    centre_of = sparse.csc_matrix((np.full(n_pairs, -lr, dtype=w_in.dtype), centres, np.arange(n_pairs + 1)), shape=(n_words, n_pairs))
    for rows, moves, hits in ((w_out, by_pair @ v, targets.ravel()), (w_in, centre_of @ grad_v, centres)):
        n = np.bincount(hits, minlength=n_words)
        crowded = np.flatnonzero(n > MAX_HITS)
        moves[crowded] *= (MAX_HITS / n[crowded])[:, None]  # ∂/∂u_j = g_j v and ∂/∂v_w, summed per word
        rows += moves


def probe_neighbours(w_in: np.ndarray, words: list[str], probes: list[str], k: int = N_NEIGHBOURS) -> dict[str, list[str]]:
    """Each probe's k nearest words by cosine at this point of training (core.lm.word_vectors does the ranking)."""
    vectors = WordVectors("word2vec", words, w_in)
    return {p: vectors.neighbours(p, k).word.tolist() for p in probes}


def fit(config: Word2VecConfig, sentences: list[list[str]], on_step: OnStep | None = None,
        on_neighbours: OnNeighbours | None = None) -> Word2VecResult:
    """Train skip-gram with negative sampling on tokenised sentences through core.training.run_steps.

    `on_step(step, {"loss", "lr", "words_per_s", ...})` after every step (return False to stop);
    `on_neighbours(step, {probe: neighbours})` a few times per run, for the probe words.
    """
    rng, _ = generators(config.seed)
    vocab, ids, sentence_ids = _corpus(config, sentences)
    index = vocab.index
    probes = [p.strip().lower() for p in config.probes if p.strip()]
    known = list(dict.fromkeys(p for p in probes if p in index))
    keep = keep_probabilities(vocab.counts, config.sample)
    table = noise_table(vocab.counts, config.noise_power)
    w_in = ((rng.random((len(vocab), config.dim)) - 0.5) / config.dim).astype(np.float32)  # gensim's initialisation
    w_out = np.zeros((len(vocab), config.dim), dtype=np.float32)
    steps_per_epoch = -(-len(ids) // config.batch_words)  # the same number every epoch, whatever subsampling keeps
    total_steps = steps_per_epoch * config.epochs
    epoch: dict[str, np.ndarray] = {}
    snapshots: list[tuple[int, dict[str, list[str]]]] = []
    report_every = max(1, total_steps // N_SNAPSHOTS)

    def step(i: int) -> dict[str, float]:
        chunk = (i - 1) % steps_per_epoch
        if chunk == 0:  # a new epoch: a new draw of which tokens subsampling keeps
            kept = rng.random(len(ids)) < keep[ids]
            epoch.update(ids=ids[kept], sentence_ids=sentence_ids[kept],
                         bounds=np.linspace(0, kept.sum(), steps_per_epoch + 1).astype(np.int64))
        lr = config.lr - (config.lr - config.min_lr) * (i - 1) / total_steps
        start, stop = epoch["bounds"][chunk], epoch["bounds"][chunk + 1]
        centres = np.arange(start, stop)
        reach = config.window - rng.integers(0, config.window, len(centres))  # the dynamic window
        c, x, _ = window_pairs(epoch["sentence_ids"], config.window, centres, reach)
        if len(c) == 0:  # every centre of this step stood alone in its sentence: nothing to learn, no loss to report
            return {"lr": lr, "pairs": 0}
        c, x = epoch["ids"][c], epoch["ids"][x]
        noise = table[rng.integers(0, len(table), (len(c), config.negatives))]
        targets = np.concatenate([x[:, None], noise], axis=1)
        mask = np.ones(targets.shape, dtype=np.float32)
        mask[:, 1:] = noise != x[:, None]
        v, u = w_in[c], w_out[targets]
        loss, g, grad_v = sgns_gradients(v, u, mask)
        _update(w_in, w_out, c, targets, g, v, grad_v, lr)
        if known and (i % report_every == 0 or i == total_steps):
            snapshots.append((i, probe_neighbours(w_in, vocab.words, known)))
            if on_neighbours is not None:
                on_neighbours(i, snapshots[-1][1])
        return {"loss": loss / len(c), "lr": lr, "pairs": len(c)}

    if known:  # where the probes start: neighbours by random vectors
        snapshots.append((0, probe_neighbours(w_in, vocab.words, known)))
        if on_neighbours is not None:
            on_neighbours(0, snapshots[0][1])
    words_per_step = round(len(ids) / steps_per_epoch)
    history = run_steps(step, total_steps, on_step, items_per_step=words_per_step, item_name="words")
    return Word2VecResult(config, vocab, w_in, w_out, history, snapshots, [p for p in probes if p not in index])


def _corpus(config: Word2VecConfig, sentences: list[list[str]]) -> tuple[Vocabulary, np.ndarray, np.ndarray]:
    check_settings(config)
    vocab = Vocabulary.build(sentences, config.min_count)
    ids, sentence_ids = vocab.encode(sentences)
    if len(ids) < 2 or not (sentence_ids[1:] == sentence_ids[:-1]).any():
        raise LabError("no sentence has two words that reach the minimum count, so there is no (centre, context) pair to learn "
                       "from: use a longer text or a lower minimum count")
    return vocab, ids, sentence_ids


def total_steps(config: Word2VecConfig, sentences: list[list[str]]) -> int:
    """How many steps `fit` will run: one per `batch_words` kept corpus tokens, per epoch (for a progress bar)."""
    _, ids, _ = _corpus(config, sentences)
    return -(-len(ids) // config.batch_words) * config.epochs


def check_settings(config: Word2VecConfig) -> None:
    """Refuse settings that can't train, with what to change."""
    rules = [(config.dim >= 1, "the dimension must be at least 1"), (config.window >= 1, "the window must be at least 1 word"),
             (config.negatives >= 1, "negative sampling needs at least 1 noise word per pair"),
             (config.epochs >= 1, "train for at least 1 epoch"), (config.min_count >= 1, "the minimum count must be at least 1"),
             (config.sample >= 0, "the subsampling threshold can't be negative"), (config.batch_words >= 1, "a step needs at least 1 word"),
             (0 < config.lr and 0 <= config.min_lr <= config.lr, "the learning rate must be positive and min_lr between 0 and it")]
    for ok, message in rules:
        if not ok:
            raise LabError(message)
