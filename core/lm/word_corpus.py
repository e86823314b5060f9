"""From raw text to words and word ids: the one tokenising rule every word-vector lesson of the lab uses.

A *token* is a run of two or more letters, digits or underscores, lower-cased: scikit-learn's default
`token_pattern` r"(?u)\\b\\w\\w+\\b" after `lowercase=True`, so our TF-IDF and scikit-learn's see the
same words. One-letter words ("a", "I") and punctuation are dropped.

A *sentence* is what a context window may not cross: text is cut after . ! ? followed by white
space, and at blank lines. A *vocabulary* keeps the words seen at least `min_count` times (at most
`max_size` of them, the most frequent), sorted by count, most frequent first, as gensim does; the
other words are removed from the sentences before any window is laid over them (so, like gensim,
a window reaches past a dropped rare word).

>>> tokenize("Don't panic: it's 42, A-OK!")
['don', 'panic', 'it', '42', 'ok']
>>> split_sentences("One two. Three four!\\n\\nFive six")
['One two.', 'Three four!', 'Five six']
>>> vocab = Vocabulary.build([["the", "cat"], ["the", "dog"], ["a", "cat"]], min_count=2)
>>> vocab.words, vocab.counts.tolist()
(['the', 'cat'], [2, 2])
>>> ids, sentence_ids = vocab.encode([["the", "cat"], ["the", "dog"], ["a", "cat"]])
>>> ids.tolist(), sentence_ids.tolist()
([0, 1, 0, 1], [0, 0, 1, 2])
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import LabError

TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's CountVectorizer/TfidfVectorizer default
_TOKEN = re.compile(TOKEN_PATTERN)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """The words of `text` by the one rule above (scikit-learn's `build_analyzer()` with default settings)."""
    return _TOKEN.findall(text.lower() if lowercase else text)


def split_sentences(text: str) -> list[str]:
    """Cut text into sentences: after . ! ? followed by white space, and at blank lines (empty pieces dropped)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def tokenized_sentences(text: str) -> list[list[str]]:
    """Each sentence of `text` as its tokens; sentences with no token are dropped."""
    return [words for words in map(tokenize, split_sentences(text)) if words]


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]  # most frequent first; ties in order of first appearance
    counts: np.ndarray  # int64, how often each word occurs in the corpus
    total_tokens: int  # every token of the corpus, kept words or not

    @staticmethod
    def build(sentences: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None) -> "Vocabulary":
        """Count every word; keep those seen at least `min_count` times, at most `max_size` of them."""
        if min_count < 1:
            raise LabError(f"the minimum count must be at least 1 (got {min_count})")
        counts = Counter(w for s in sentences for w in s)
        if not counts:
            raise LabError("the text has no words (a word here is two or more letters or digits)")
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: -counts[w])  # stable: first seen first
        if max_size is not None:
            kept = kept[:max_size]
        if len(kept) < 2:
            best = counts.most_common(1)[0][1]
            raise LabError(f"only {len(kept)} word{'s' * (len(kept) != 1)} occur{'s' * (len(kept) == 1)} at least {min_count} times "
                           f"(the most frequent word occurs {best} times): lower the minimum count or use a longer text")
        return Vocabulary(kept, np.array([counts[w] for w in kept], dtype=np.int64), counts.total())

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def encode(self, sentences: Iterable[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, sentence_ids): every kept token of the corpus in order, and the sentence it belongs to."""
        index = self.index
        ids, sentence_ids = [], []
        for j, sentence in enumerate(sentences):
            kept = [index[w] for w in sentence if w in index]
            ids.extend(kept)
            sentence_ids.extend([j] * len(kept))
        return np.array(ids, dtype=np.int64), np.array(sentence_ids, dtype=np.int64)

    def id_of(self, word: str) -> int:
        """The word's row, or a LabError that says why it has none."""
        index = self.index
        key = word.strip().lower()
        if not key:
            raise LabError("type a word")
        if key not in index:
            raise LabError(f"'{word.strip()[:60]}' is not in the vocabulary ({len(self):,} words, each seen at least as often as "
                           "the minimum count); try another word or lower the minimum count")
        return index[key]


def window_pairs(sentence_ids: np.ndarray, window: int, centres: np.ndarray | None = None,
                 reach: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (centre, context, distance) pair of positions at most `window` tokens apart in one sentence.

    `centres` picks the centre positions (default: all); `reach` (one per centre, 1..window) shortens
    each centre's window, as word2vec's dynamic window does. Contexts may lie outside `centres`.

    >>> c, x, d = window_pairs(np.array([0, 0, 0, 1]), window=2)
    >>> c.tolist(), x.tolist(), d.tolist()
    ([0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1], [1, 2, 1, 1, 2, 1])
    """
    if window < 1:
        raise LabError(f"the window must be at least 1 word (got {window})")
    n = len(sentence_ids)
    centres = np.arange(n) if centres is None else centres
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    others = centres[:, None] + offsets[None, :]
    ok = (others >= 0) & (others < n)
    if reach is not None:
        ok &= np.abs(offsets)[None, :] <= reach[:, None]
    i, o = np.nonzero(ok)
    c, x = centres[i], others[i, o]
    same = sentence_ids[c] == sentence_ids[x]
    return c[same], x[same], np.abs(offsets[o[same]])
