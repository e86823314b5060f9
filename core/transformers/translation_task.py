"""A toy translation task with exact answers: numbers written in English words ↔ the same numbers in digits.

    "three hundred forty two thousand five"  ↔  "342005"

Both sides are read and written one character at a time. The length is the learner's: `max_digits`
sets how large the numbers get (so how long their words are), and `train_max_chars` caps the
source length of every pair the models train on. Pairs whose source is LONGER than that cap form a
separate held-out set: sentences longer than any the models have seen, the test of whether they
learned the rule or only the lengths they trained on.

The English is the plain rule: no "and", no hyphens, no commas.

    ones (1 … 19)      one two … nineteen
    tens (20 … 90)     twenty thirty … ninety        (+ a one, if not 0: "forty two")
    a group (1 … 999)  [ones hundred] [tens and ones] ("three hundred five")
    a number           [group million] [group thousand] [group]   (groups of 0 are left out)

>>> number_to_words(342005)
'three hundred forty two thousand five'
>>> task = make_task(TaskConfig(max_digits=3, train_max_chars=20, seed=0))
>>> len(task.train) + len(task.test) + len(task.longer) <= 1000, max(len(p.source) for p in task.train) <= 20
(True, True)
>>> task.vocab.decode(task.vocab.encode("forty two"))
'forty two'
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.errors import LabError
from core.foundations.evaluation import split_indices

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**6, "million"), (10**3, "thousand"))
MAX_DIGITS = 9  # up to 999,999,999: "million" is the largest scale word
Direction = Literal["words → digits", "digits → words"]
DIRECTIONS: tuple[str, ...] = ("words → digits", "digits → words")

PAD, BOS, EOS = 0, 1, 2  # padding (never scored), start of the output, end of the output
SPECIALS = ("·", "<s>", "</s>")  # how the three are shown


def group_to_words(n: int) -> list[str]:
    """1 … 999 as words; [] for 0 (a group of zeros is not said)."""
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
    if n:
        words.append(ONES[n])
    return words


def number_to_words(n: int) -> str:
    """A whole number below a billion in English words, by groups of three digits.

    >>> [number_to_words(n) for n in (0, 7, 15, 40, 101, 1000, 1_000_010)]
    ['zero', 'seven', 'fifteen', 'forty', 'one hundred one', 'one thousand', 'one million ten']
    """
    if not 0 <= n < 10**MAX_DIGITS:
        raise LabError(f"{n} is outside this task's numbers (0 to {10**MAX_DIGITS - 1:,})")
    if n == 0:
        return "zero"
    words = []
    for scale, name in SCALES:
        if n >= scale:
            words += group_to_words(n // scale) + [name]
            n %= scale
    return " ".join(words + group_to_words(n))


def words_to_number(text: str) -> int | None:
    """The number these words name, if they are exactly how this task writes one; otherwise None.

    >>> words_to_number("forty two"), words_to_number("fourty two"), words_to_number("two forty")
    (42, None, None)
    """
    value = {w: i for i, w in enumerate(ONES)} | {w: 10 * i for i, w in enumerate(TENS) if i >= 2}
    total, group = 0, 0
    for word in text.split(" "):
        if word in value:
            group += value[word]
        elif word == "hundred":
            group *= 100
        elif word in dict((name, scale) for scale, name in SCALES):
            total += group * dict((name, scale) for scale, name in SCALES)[word]
            group = 0
        else:
            return None
    n = total + group
    return n if n < 10**MAX_DIGITS and number_to_words(n) == text else None  # only the canonical spelling counts


def true_translation(text: str, direction: str) -> str | None:
    """What the task's rule says `text` translates to, or None when `text` is not a number the rule writes."""
    if direction == "words → digits":
        n = words_to_number(text)
        return None if n is None else str(n)
    if text.isascii() and text.isdigit() and str(int(text)) == text and len(text) <= MAX_DIGITS:
        return number_to_words(int(text))
    return None


# ----------------------------------------------------------------------------- the vocabulary


class Vocab:
    """Characters ↔ token ids; one table for both languages (ids 0-2 are padding, start and end).

    `source_chars` are the characters the source language may use: the learner's own input is
    checked against them before any model reads it.
    """

    def __init__(self, source_chars: str, target_chars: str):
        self.chars = sorted(set(source_chars) | set(target_chars))
        self.source_chars = "".join(sorted(set(source_chars)))
        self.target_chars = "".join(sorted(set(target_chars)))
        self.index = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}

    @property
    def size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in text]

    def decode(self, ids, stop_at_eos: bool = True) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == EOS and stop_at_eos:
                break
            if i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
        return "".join(out)

    def token(self, i: int) -> str:
        """How one id is shown on an axis: the character (␣ for a space) or the special's name."""
        i = int(i)
        if i < len(SPECIALS):
            return SPECIALS[i]
        c = self.chars[i - len(SPECIALS)]
        return "␣" if c == " " else c


# ----------------------------------------------------------------------------- the task


@dataclass(frozen=True)
class TaskConfig:
    direction: str = "words → digits"  # which side is the source: one of DIRECTIONS
    max_digits: int = 4  # numbers from 0 up to 10^max_digits - 1 (1 … 9)
    train_max_chars: int = 34  # training (and test) pairs have sources of at most this many characters
    pool: int = 12_000  # distinct numbers drawn (fewer if the range holds fewer); test and longer sets come from them too
    test_fraction: float = 0.1  # share of the short pairs held out as the test set
    seed: int = 0  # which numbers are drawn and how they are split


@dataclass(frozen=True)
class Pair:
    number: int
    source: str
    target: str


@dataclass
class Task:
    """Pairs to train on, held-out pairs of the same lengths (test), held-out LONGER pairs, and the vocabulary."""

    config: TaskConfig
    vocab: Vocab
    train: list[Pair]
    test: list[Pair]
    longer: list[Pair]  # sources longer than config.train_max_chars: never seen in training
    max_source: int  # the longest source any pair of the task can have (characters)
    max_target: int  # the longest target (characters, without the end token)


def pair(n: int, direction: str) -> Pair:
    words, digits = number_to_words(n), str(n)
    return Pair(n, words, digits) if direction == "words → digits" else Pair(n, digits, words)


def longest_pair(max_digits: int, direction: str) -> tuple[int, int]:
    """(longest source, longest target) in characters over every number below 10^max_digits.

    Groups are said independently, so the longest number puts the longest group of its size first
    and the longest three-digit group ("seven hundred seventy seven") in every other place.

    >>> longest_pair(4, "words → digits")      # seven thousand seven hundred seventy seven
    (42, 4)
    """
    say = lambda n: len(" ".join(group_to_words(n)))
    first = (max_digits - 1) % 3 + 1  # digits in the leading group
    groups = (max_digits - 1) // 3
    n = max(range(1, 10**first), key=say) * 1000**groups + sum(max(range(1000), key=say) * 1000**i for i in range(groups))
    words = len(number_to_words(n))
    return (words, max_digits) if direction == "words → digits" else (max_digits, words)


def check_task_config(c: TaskConfig) -> None:
    if c.direction not in DIRECTIONS:
        raise LabError(f"the direction must be one of {', '.join(DIRECTIONS)} (got {c.direction!r})")
    if not 1 <= c.max_digits <= MAX_DIGITS:
        raise LabError(f"numbers may have 1 to {MAX_DIGITS} digits (got {c.max_digits})")
    if c.pool < 20:
        raise LabError(f"draw at least 20 numbers to have something to train and test on (got {c.pool})")
    if not 0 < c.test_fraction < 1:
        raise LabError(f"the test share must be between 0 and 1 (got {c.test_fraction})")


def draw_numbers(max_digits: int, pool: int, rng: np.random.Generator) -> np.ndarray:
    """`pool` distinct numbers, the same count of each length in digits (so short numbers are not
    drowned by long ones: there are 9 one-digit numbers and 900,000 six-digit ones)."""
    per_length = max(1, pool // max_digits)
    parts = []
    for d in range(1, max_digits + 1):
        low, high = (0 if d == 1 else 10 ** (d - 1)), 10**d
        if high - low <= per_length:
            parts.append(np.arange(low, high))
        else:
            parts.append(low + rng.choice(high - low, per_length, replace=False))
    return np.concatenate(parts)


def make_task(config: TaskConfig) -> Task:
    """Draw the numbers, write both sides, keep sources ≤ train_max_chars for train/test, the rest as `longer`."""
    check_task_config(config)
    max_source, max_target = longest_pair(config.max_digits, config.direction)
    rng = np.random.default_rng(config.seed)
    pairs = [pair(int(n), config.direction) for n in draw_numbers(config.max_digits, config.pool, rng)]
    short = [p for p in pairs if len(p.source) <= config.train_max_chars]
    long = [p for p in pairs if len(p.source) > config.train_max_chars]
    if len(short) < 10:
        shortest = min(len(p.source) for p in pairs)
        raise LabError(f"only {len(short)} pairs have sources of at most {config.train_max_chars} characters: too few to "
                       f"train on. Raise the training length (the shortest source here has {shortest}).")
    parts = split_indices(len(short), test_fraction=config.test_fraction, seed=config.seed,
                          stratify=[len(p.source) for p in short] if len(short) > 200 else None)
    n_test = len(parts.test)
    longer = [long[i] for i in rng.permutation(len(long))[:n_test]]  # as many as the test set
    vocab = Vocab("".join(p.source for p in pairs) + digits_and_words(config.direction)[0],
                  "".join(p.target for p in pairs) + digits_and_words(config.direction)[1])
    return Task(config, vocab, [short[i] for i in parts.train], [short[i] for i in parts.test], longer, max_source, max_target)


def digits_and_words(direction: str) -> tuple[str, str]:
    """Every character each side of the task may use (all of them, even if a small draw missed one)."""
    letters = "".join(sorted(set("".join(ONES[1:] + TENS[2:] + ["zero", "hundred"] + [s for _, s in SCALES])))) + " "
    digits = "0123456789"
    return (letters, digits) if direction == "words → digits" else (digits, letters)


# ----------------------------------------------------------------------------- batches and the learner's input


def batch(pairs: list[Pair], vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """Sources (B, S) padded with PAD; targets (B, T+1) as <s> target </s>, padded with PAD.

    The decoder reads target[:, :-1] and is scored on target[:, 1:] (teacher forcing).
    """
    sources = [vocab.encode(p.source) for p in pairs]
    targets = [[BOS] + vocab.encode(p.target) + [EOS] for p in pairs]
    src = torch.full((len(pairs), max(map(len, sources))), PAD, dtype=torch.long)
    tgt = torch.full((len(pairs), max(map(len, targets))), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(zip(sources, targets)):
        src[i, :len(s)] = torch.tensor(s)
        tgt[i, :len(t)] = torch.tensor(t)
    return src, tgt


def sample_batch(task: Task, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch_size` training pairs drawn at random (with replacement) from the run's own generator."""
    rows = torch.randint(len(task.train), (batch_size,), generator=generator).tolist()
    return batch([task.train[i] for i in rows], task.vocab)


def check_source(text: str, vocab: Vocab, max_chars: int) -> list[int]:
    """The learner's source text as token ids, or a LabError that says what to change."""
    if not text:
        raise LabError("The input is empty: type a number " + ("in words (e.g. forty two)." if "a" in vocab.source_chars
                                                               else "in digits (e.g. 42)."))
    unknown = sorted(set(text) - set(vocab.source_chars))
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:12]) + (" …" if len(unknown) > 12 else "")
        allowed = ("lowercase letters and spaces" if "a" in vocab.source_chars else "the digits 0-9")
        raise LabError(f"The input has {len(unknown)} character(s) outside the task's vocabulary: {shown}. "
                       f"The source language is written with {allowed} only.")
    if len(text) > max_chars:
        raise LabError(f"The input is {len(text):,} characters long, but these models read at most {max_chars} "
                       "(the longest source of the task). Shorten it.")
    return vocab.encode(text)
