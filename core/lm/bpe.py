"""Byte-pair encoding (BPE), the tokenizer of GPT-2, GPT-4, Llama and SmolLM2, from scratch.

Text becomes UTF-8 bytes, and each byte a token id 0..255, so any string can be encoded. Training
then repeats one step: count every adjacent pair of ids in the corpus, give the most frequent pair a
new id (a *merge*), and replace the pair by it everywhere. Encoding new text replays the merges in
the order they were learned; decoding looks each id's bytes up and joins them.

    vocab[new] = vocab[a] + vocab[b]    where (a, b) = argmax over pairs of count(a, b)

A regex may first cut the text into chunks (words, numbers, punctuation, whitespace runs), so no
merge ever crosses a chunk boundary: "dog." and "dog!" then share the token " dog". GPT-2's and
GPT-4's patterns are below; with no pattern the corpus is one long sequence.

Wikipedia's example, "aaabdaaabac": aa is the most frequent pair (4 times, overlaps counted) and
becomes 256; then ab and 256 a tie at 2 and ab wins (ties go to the pair of earlier tokens); then
256 257 ("aaab") appears twice.

>>> tok = BPETokenizer.train("aaabdaaabac", vocab_size=259)
>>> [tok.vocab[i] for i in (256, 257, 258)]
[b'aa', b'ab', b'aaab']
>>> tok.encode("aaabdaaabac")
[258, 100, 258, 97, 99]
>>> tok.decode([258, 100])
'aaabd'

Two trainers learn the same merges: `train_naive` recounts every pair after each merge (clear, and
slow: the whole corpus per merge); `BPETrainer` counts once over the *distinct* chunks weighted by
how often each occurs, and after a merge updates only the counts around the positions where the pair
occurred. Ties are broken exactly as Hugging Face `tokenizers`' BpeTrainer breaks them, so both give
the same merges, in the same order, as that trainer (tests/core/test_bpe.py checks all three).
"""

import heapq
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import regex

from core.errors import LabError
from core.training import History, OnStep, run_steps

# GPT-2's split: contractions, letters, numbers, other symbols (each with one optional leading space), whitespace.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# GPT-4's (tiktoken's cl100k_base): case-insensitive contractions, numbers of at most 3 digits, newlines kept apart.
GPT4_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
PATTERNS = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}
FORMAT = "llm-lab-bpe"  # the "format" field of a saved tokenizer


# ----------------------------------------------------------------------------- bytes as printable characters


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from each byte to a printable character (its vocab files store tokens this way).

    Printable Latin-1 bytes stand for themselves; the other 68 (controls, space, ...) take the
    characters from U+0100 on, in byte order. So a space is 'Ġ' and a newline 'Ċ'.

    >>> table = bytes_to_unicode()
    >>> table[ord("a")], table[ord(" ")], table[ord("\\n")]
    ('a', 'Ġ', 'Ċ')
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + i) for i, b in enumerate(others)}}


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    """The inverse of `bytes_to_unicode`: a vocab file's printable character back to its byte.

    >>> unicode_to_bytes()["Ġ"]
    32
    """
    return {ch: b for b, ch in bytes_to_unicode().items()}


@lru_cache(maxsize=1)
def byte_tie_order() -> tuple[int, ...]:
    """Where each byte sorts when two pairs tie: by its printable character (above), as `tokenizers` sorts them.

    tokenizers' BpeTrainer gives the 256 byte characters ids in code-point order, then breaks a tie
    between equally frequent pairs in favour of the smaller ids. Using the same order makes our
    merges identical to its merges; merged tokens sort after every byte, in the order they were made.

    >>> order = byte_tie_order()
    >>> order[ord("!")], order[ord("a")] < order[ord(" ")]      # '!' is first; a space ('Ġ') sorts late
    (0, True)
    """
    table = bytes_to_unicode()
    ranked = sorted(range(256), key=lambda b: ord(table[b]))
    order = [0] * 256
    for rank, b in enumerate(ranked):
        order[b] = rank
    return tuple(order)


def tie_key(token_id: int) -> int:
    """A token's place in the tie-breaking order (trained tokenizers: ids 0..255 are the bytes)."""
    return byte_tie_order()[token_id] if token_id < 256 else token_id


def readable(raw: bytes) -> str:
    """A token's bytes as text, each byte that is not part of a whole UTF-8 character written <0xE2>.

    >>> readable(" é".encode()), readable(" é".encode()[:2]), readable("€".encode()[1:])
    (' é', ' <0xC3>', '<0x82><0xAC>')
    """
    out, i = [], 0
    while i < len(raw):
        for j in range(min(len(raw), i + 4), i, -1):  # the longest whole character starting at byte i
            try:
                out.append(raw[i:j].decode("utf-8"))
                i = j
                break
            except UnicodeDecodeError:
                pass
        else:
            out.append(f"<0x{raw[i]:02X}>")
            i += 1
    return "".join(out)


# ----------------------------------------------------------------------------- cutting text before BPE


def compile_pattern(pattern: str | None) -> "regex.Pattern | None":
    """A pattern name ('gpt2', 'gpt4'), a regex of your own, or None (no pre-splitting)."""
    if pattern is None:
        return None
    try:
        return regex.compile(PATTERNS.get(pattern, pattern))
    except regex.error as e:
        raise LabError(f"the split pattern is not a valid regex: {e}") from e


def split_specials(text: str, specials: Iterable[str]) -> list[tuple[str, bool]]:
    """Cut `text` around special-token strings: [(piece, is_special)], longest special first at each place.

    >>> split_specials("a<|end|>b", ["<|end|>"])
    [('a', False), ('<|end|>', True), ('b', False)]
    """
    specials = sorted(set(specials), key=len, reverse=True)
    if not specials:
        return [(text, False)] if text else []
    finder = regex.compile("|".join(regex.escape(s) for s in specials))
    out, start = [], 0
    for m in finder.finditer(text):
        if m.start() > start:
            out.append((text[start : m.start()], False))
        out.append((m.group(), True))
        start = m.end()
    if start < len(text):
        out.append((text[start:], False))
    return out


def chunks(text: str, pattern: "regex.Pattern | None") -> list[str]:
    """The pieces BPE works on separately: the pattern's matches, or the whole text when there is none.

    >>> chunks("Hello world!!", compile_pattern("gpt2"))
    ['Hello', ' world', '!!']
    """
    if pattern is None:
        return [text] if text else []
    return pattern.findall(text)


# ----------------------------------------------------------------------------- the reference trainer


def pair_counts(ids: list[int], counts: Counter | None = None) -> Counter:
    """How often each adjacent pair occurs (overlaps count: 'aaa' has the pair aa twice).

    >>> pair_counts([1, 2, 3, 1, 2])
    Counter({(1, 2): 2, (2, 3): 1, (3, 1): 1})
    """
    counts = Counter() if counts is None else counts
    counts.update(zip(ids, ids[1:]))
    return counts


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids`, left to right, by `new_id`.

    >>> merge_pair([1, 1, 1, 2], (1, 1), 9)
    [9, 1, 2]
    """
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_naive(text: str, vocab_size: int, pattern: str | None = None, special_tokens: Iterable[str] = ()) -> "BPETokenizer":
    """The textbook loop (minbpe's): after every merge, recount every pair in the whole corpus.

    The reference the fast trainer is tested and raced against (benchmarks/bench_bpe.py): each merge
    costs a pass over the corpus, so 1,000 merges on half a megabyte take minutes.
    """
    specials, n_merges = check_training(text, vocab_size, special_tokens)
    split = compile_pattern(pattern)
    ids = [list(c.encode("utf-8")) for piece, special in split_specials(text, specials) if not special for c in chunks(piece, split)]
    vocab = {i: bytes([i]) for i in range(256)}
    merges: list[tuple[int, int, int]] = []
    for _ in range(n_merges):
        counts = Counter()
        for chunk in ids:
            pair_counts(chunk, counts)
        if not counts:
            raise _too_few_pairs(len(merges), len(specials))
        pair = max(counts, key=lambda p: (counts[p], -tie_key(p[0]), -tie_key(p[1])))
        new_id = _new_id(vocab, vocab[pair[0]] + vocab[pair[1]])
        ids = [merge_pair(chunk, pair, new_id) for chunk in ids]
        merges.append((*pair, new_id))
    return BPETokenizer.from_merges(merges, pattern, specials)


def _new_id(vocab: dict[int, bytes], token: bytes) -> int:
    """The id of `token`: its old id if another pair already made the same bytes (as tokenizers does), else a new one."""
    for i, b in vocab.items():
        if b == token:
            return i
    vocab[len(vocab)] = token
    return len(vocab) - 1


def check_training(text: str, vocab_size: int, special_tokens: Iterable[str]) -> tuple[list[str], int]:
    """(the special tokens, the number of merges to learn), or a LabError for a text or vocabulary size training can't use."""
    specials = list(dict.fromkeys(special_tokens))
    if any(not s for s in specials):
        raise LabError("a special token cannot be empty")
    smallest = 256 + len(specials)
    if vocab_size < smallest:
        raise LabError(f"the vocabulary needs at least {smallest} ids: 256 for the single bytes"
                       + (f" and {len(specials)} for the special tokens" if specials else "") + f"; {vocab_size} is too few")
    if not any(piece for piece, special in split_specials(text, specials) if not special):
        raise LabError("the training text is empty" + (" apart from special tokens" if text else "") + ": there is nothing to count")
    return specials, vocab_size - smallest


def _too_few_pairs(done: int, n_specials: int) -> LabError:
    return LabError(f"this text allows only {done:,} merges: after them every chunk is a single token, so no pair is left to merge. "
                    f"Ask for a vocabulary of at most {256 + done + n_specials:,}, or train on more text.")


# ----------------------------------------------------------------------------- the fast trainer


class BPETrainer:
    """BPE training that touches only what a merge changes (the way tokenizers' BpeTrainer works).

    The corpus is stored once per *distinct* chunk, each with its frequency (a word seen 1,000 times
    is counted once, weighted 1,000), as one flat doubly linked list of positions: `tok[i]` is the
    token starting at position i, `nxt`/`prv` link the live positions of a chunk (-1 at its ends).
    Pair counts live in a dict, a list of the positions where each pair starts in `where`, and the
    candidates in a max-heap keyed by (count, tie order). Merging (a, b) visits only the positions
    in where[(a, b)]: at each it removes the pairs around it, (prev, a) and (b, next), adds
    (prev, new) and (new, next), and links b's position out. Counts only ever go *down* for pairs
    that existed before, so stale heap entries are refreshed when they surface (lazy deletion).
    With no pattern the corpus is one long chunk, and the same structure updates it in place.
    """

    def __init__(self, chunk_counts: dict[bytes, int]):
        self.tok, self.nxt, self.prv, self.weight = tok, nxt, prv, weight = [], [], [], []
        self.counts: Counter = Counter()
        self.where: dict[tuple[int, int], list[int]] = {}
        counts, where = self.counts, self.where
        for chunk, freq in chunk_counts.items():
            start = len(tok)
            n = len(chunk)
            tok.extend(chunk)
            nxt.extend(range(start + 1, start + n + 1))
            nxt[-1] = -1
            prv.extend(range(start - 1, start + n - 1))
            prv[start] = -1
            weight.extend([freq] * n)
            for i, pair in enumerate(zip(chunk, chunk[1:]), start):
                counts[pair] += freq
                where.setdefault(pair, []).append(i)
        self.vocab = {i: bytes([i]) for i in range(256)}
        self.ids_of = {b: i for i, b in self.vocab.items()}
        self.n_bytes = sum(len(c) * f for c, f in chunk_counts.items())
        self.n_tokens = self.n_bytes  # the corpus's length in tokens, after the merges so far
        self.heap = [(-c, tie_key(a), tie_key(b), a, b) for (a, b), c in self.counts.items()]
        heapq.heapify(self.heap)

    def has_pairs(self) -> bool:
        """Is any pair left to merge (some chunk still longer than one token)?"""
        best = self.best_pair()
        if best is not None:  # put it back
            (a, b), count = best
            heapq.heappush(self.heap, (-count, tie_key(a), tie_key(b), a, b))
        return best is not None

    def best_pair(self) -> tuple[tuple[int, int], int] | None:
        """The most frequent pair and its count (ties: earlier tokens first), or None when none is left."""
        while self.heap:
            neg, ka, kb, a, b = heapq.heappop(self.heap)
            count = self.counts.get((a, b), 0)
            if count == -neg:
                return (a, b), count
            if count > 0:  # stale entry: the count went down since it was pushed; file it again
                heapq.heappush(self.heap, (-count, ka, kb, a, b))
        return None

    def merge(self, pair: tuple[int, int]) -> int:
        """Merge every occurrence of `pair`, left to right; returns the new token's id."""
        a, b = pair
        token = self.vocab[a] + self.vocab[b]
        new = self.ids_of.get(token)
        if new is None:
            new = self.ids_of[token] = len(self.vocab)
            self.vocab[new] = token
        tok, nxt, prv, weight, counts, where = self.tok, self.nxt, self.prv, self.weight, self.counts, self.where
        grown = set()  # pairs that gained occurrences: they go on the heap with their new counts
        positions = where.pop(pair)
        positions.sort()  # left to right, as a merge reads each chunk
        for i in positions:
            j = nxt[i]
            if tok[i] != a or j < 0 or tok[j] != b:
                continue  # an occurrence an earlier merge (or an overlap, as in 'aaa') already used
            w, p, n = weight[i], prv[i], nxt[j]
            if p >= 0:  # (prev, a) becomes (prev, new)
                old, made = (tok[p], a), (tok[p], new)
                counts[old] -= w
                counts[made] += w
                where.setdefault(made, []).append(p)
                grown.add(made)
            if n >= 0:  # (b, next) becomes (new, next)
                old, made = (b, tok[n]), (new, tok[n])
                counts[old] -= w
                counts[made] += w
                where.setdefault(made, []).append(i)
                grown.add(made)
                prv[n] = i
            tok[i], tok[j], nxt[i] = new, -1, n  # position j is gone
            self.n_tokens -= w
        del counts[pair]
        for p in grown:
            if counts[p] > 0:
                heapq.heappush(self.heap, (-counts[p], tie_key(p[0]), tie_key(p[1]), *p))
        return new


# ----------------------------------------------------------------------------- the tokenizer


class BPETokenizer:
    """A byte-level BPE tokenizer: merges in the order they were learned, a split pattern, special tokens.

    `byte_ids[b]` is the id of the single byte b (b itself when trained here; a real model's
    vocabulary numbers its bytes its own way, and may lack a few: None, and such bytes are dropped
    when encoding, as tokenizers drops them), `merges` the list of (a, b, new_id) in rank order.
    """

    kind = "bpe"  # as core/lm/text_tokens.py names its tokenizers (the GPT page trains on any of them)

    def __init__(self, merges: list[tuple[int, int, int]], byte_ids: list[int | None] | None = None, pattern: str | None = None,
                 special_tokens: dict[str, int] | None = None, add_prefix_space: bool = False, ignore_merges: bool = False,
                 name: str = "our BPE"):
        self.byte_ids = list(range(256)) if byte_ids is None else list(byte_ids)
        self.merges = [tuple(m) for m in merges]
        self.pattern = pattern
        self.special_tokens = dict(special_tokens or {})
        self.add_prefix_space, self.ignore_merges, self.name = add_prefix_space, ignore_merges, name
        self.vocab: dict[int, bytes] = {i: bytes([b]) for b, i in enumerate(self.byte_ids) if i is not None}
        self.ranks: dict[tuple[int, int], tuple[int, int]] = {}  # (a, b) -> (rank, new id)
        for rank, (a, b, new) in enumerate(self.merges):
            self.vocab[new] = self.vocab[a] + self.vocab[b]
            self.ranks.setdefault((a, b), (rank, new))
        self.ids_of = {token: i for i, token in self.vocab.items()}  # for ignore_merges: whole chunks already in the vocabulary
        self.special_of = {i: s for s, i in self.special_tokens.items()}
        self._split = compile_pattern(pattern)
        self._cache: dict[str, list[int]] = {}

    # -- building

    @classmethod
    def from_merges(cls, merges: list[tuple[int, int, int]], pattern: str | None, special_tokens: Iterable[str] = ()) -> "BPETokenizer":
        """A tokenizer trained here: bytes are ids 0..255, then the merges, then the special tokens."""
        after = max([255, *(m[2] for m in merges)]) + 1
        return cls(merges, None, pattern, {s: after + k for k, s in enumerate(special_tokens)})

    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str | None = None, special_tokens: Iterable[str] = ()) -> "BPETokenizer":
        """Learn vocab_size - 256 - len(special_tokens) merges from `text` (the fast trainer; see `fit`)."""
        result = fit(BPEConfig(vocab_size, pattern, tuple(special_tokens)), text)
        if result.ran_out:
            raise LabError(result.ran_out_message())
        return result.tokenizer

    def after(self, n_merges: int) -> "BPETokenizer":
        """This tokenizer as it was after its first `n_merges` merges (the page steps through them)."""
        return BPETokenizer(self.merges[:n_merges], self.byte_ids, self.pattern, self.special_tokens, self.add_prefix_space,
                            self.ignore_merges, self.name)

    @property
    def vocab_size(self) -> int:
        """One more than the largest id: the rows an embedding table needs."""
        return max([*self.vocab, *self.special_of]) + 1

    # -- encoding and decoding

    def encode(self, text: str) -> list[int]:
        """Ids of `text`: special-token strings become their ids, every other piece is split and merged."""
        ids: list[int] = []
        for piece, special in split_specials(text, self.special_tokens):
            if special:
                ids.append(self.special_tokens[piece])
                continue
            if self.add_prefix_space and not piece.startswith(" "):
                piece = " " + piece
            for chunk in chunks(piece, self._split):
                ids.extend(self.encode_chunk(chunk))
        return ids

    def encode_chunk(self, chunk: str) -> list[int]:
        """One chunk's bytes, merged (remembered for short chunks: words repeat)."""
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        raw = chunk.encode("utf-8")
        whole = self.ids_of.get(raw) if self.ignore_merges else None
        ids = [whole] if whole is not None else self.apply_merges([i for i in map(self.byte_ids.__getitem__, raw) if i is not None])
        if len(chunk) <= 64:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[chunk] = ids
        return ids

    def apply_merges(self, ids: list[int]) -> list[int]:
        """Replay the merges on one chunk: always the lowest-ranked (earliest learned) pair present, leftmost first.

        minbpe's loop finds that pair by scanning the chunk after every merge (quadratic in its length);
        here a heap of (rank, position) over a linked list does it in n log n, so a text with no split
        pattern (one long chunk) encodes fast too. Same result, same order as tokenizers' `Word::merge_all`.
        """
        n = len(ids)
        if n < 2:
            return ids
        tok, nxt, prv = list(ids), [*range(1, n), -1], list(range(-1, n - 1))
        ranks = self.ranks
        heap = [(ranks[p][0], i) for i, p in enumerate(zip(ids, ids[1:])) if p in ranks]
        heapq.heapify(heap)
        while heap:
            rank, i = heapq.heappop(heap)
            j = nxt[i]
            if tok[i] < 0 or j < 0 or ranks.get((tok[i], tok[j]), (None,))[0] != rank:
                continue  # stale: this position was merged, or its pair changed
            new = ranks[(tok[i], tok[j])][1]
            tok[i], tok[j] = new, -1
            n_ = nxt[i] = nxt[j]
            if n_ >= 0:
                prv[n_] = i
                if (new, tok[n_]) in ranks:
                    heapq.heappush(heap, (ranks[(new, tok[n_])][0], i))
            p = prv[i]
            if p >= 0 and (tok[p], new) in ranks:
                heapq.heappush(heap, (ranks[(tok[p], new)][0], p))
        return [t for t in tok if t >= 0]

    def token_bytes(self, token_id: int) -> bytes:
        if token_id in self.special_of:
            return self.special_of[token_id].encode("utf-8")
        if token_id not in self.vocab:
            raise LabError(f"id {token_id} is not in this tokenizer's vocabulary (ids 0 to {self.vocab_size - 1})")
        return self.vocab[token_id]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids` (bytes that do not form UTF-8 on their own become U+FFFD, as in tokenizers)."""
        return b"".join(self.token_bytes(int(i)) for i in ids).decode("utf-8", errors="replace")

    def pieces(self, ids: Iterable[int]) -> list[str]:
        """Each token's text, for display; a byte that is only part of a character shows as <0xE2>."""
        return [readable(self.token_bytes(int(i))) for i in ids]

    def piece(self, token_id: int) -> str:
        """One token's text (`pieces` of one id): the interface core/lm/text_tokens.py's tokenizers share."""
        return readable(self.token_bytes(int(token_id)))

    # -- saving and loading

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": 1, "name": self.name, "pattern": self.pattern, "add_prefix_space": self.add_prefix_space,
                "ignore_merges": self.ignore_merges, "byte_ids": self.byte_ids, "merges": [list(m) for m in self.merges],
                "special_tokens": self.special_tokens}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def from_json(cls, text: str | bytes) -> "BPETokenizer":
        """Read a tokenizer saved by `to_json`/`save`; anything else raises LabError saying what is wrong."""
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise LabError(f"the tokenizer file is not JSON ({e})") from e
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise LabError(f"this JSON is not a tokenizer saved by LLM Lab (its 'format' should be '{FORMAT}')")
        _check_saved(d)
        return cls([tuple(m) for m in d["merges"]], d["byte_ids"], d.get("pattern"), d.get("special_tokens", {}),
                   bool(d.get("add_prefix_space", False)), bool(d.get("ignore_merges", False)), str(d.get("name", "loaded BPE")))

    @classmethod
    def load(cls, path) -> "BPETokenizer":
        with open(path, "rb") as f:
            return cls.from_json(f.read())

    @classmethod
    def from_hf(cls, tokenizer, name: str | None = None) -> "BPETokenizer":
        """The same tokenizer as a Hugging Face byte-level BPE (GPT-2, SmolLM2, Llama 3...): its vocabulary,
        merges, split regex and special tokens, read from its tokenizer.json, run by this class's encoder."""
        backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
        try:
            d = json.loads(backend.to_str())
        except AttributeError as e:
            raise LabError("from_hf needs a Hugging Face fast tokenizer (transformers' *Fast or a tokenizers.Tokenizer)") from e
        return cls(*_from_hf_json(d), name=name or getattr(tokenizer, "name_or_path", "") or "Hugging Face BPE")


def _check_saved(d: dict) -> None:
    """Every way a hand-edited or truncated file could make the tokenizer wrong, as a LabError."""
    def bad(why: str) -> LabError:
        return LabError(f"the tokenizer file is malformed: {why}")

    byte_ids, merges, specials = d.get("byte_ids"), d.get("merges"), d.get("special_tokens", {})
    if not isinstance(byte_ids, list) or len(byte_ids) != 256 or not all(i is None or (type(i) is int and i >= 0) for i in byte_ids):
        raise bad("'byte_ids' must list 256 ids (or null for a byte the vocabulary lacks), one per byte value")
    byte_ids = [i for i in byte_ids if i is not None]
    if len(set(byte_ids)) != len(byte_ids):
        raise bad("two bytes share an id in 'byte_ids'")
    if not isinstance(merges, list) or not all(isinstance(m, list) and len(m) == 3 and all(type(x) is int for x in m) for m in merges):
        raise bad("'merges' must be a list of [left id, right id, new id]")
    known = set(byte_ids)
    for rank, (a, b, new) in enumerate(merges):
        if a not in known or b not in known:
            raise bad(f"merge {rank} uses id {a if a not in known else b}, which no earlier merge or byte made")
        if new < 0 or new in byte_ids:
            raise bad(f"merge {rank} gives its token the id {new}, already a byte's")
        known.add(new)
    if not isinstance(specials, dict) or not all(isinstance(s, str) and s and type(i) is int and i >= 0 for s, i in specials.items()):
        raise bad("'special_tokens' must map non-empty strings to ids")
    if set(specials.values()) & known:
        raise bad("a special token shares its id with a byte or a merge")
    pattern = d.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise bad("'pattern' must be a regex string or null")
    compile_pattern(pattern)


def _from_hf_json(d: dict) -> tuple:
    """(merges, byte_ids, pattern, special_tokens, add_prefix_space, ignore_merges) of a tokenizer.json."""
    model = d.get("model") or {}
    if model.get("type") != "BPE" or any(model.get(k) for k in ("byte_fallback", "continuing_subword_prefix", "end_of_word_suffix")):
        raise LabError("this is not a byte-level BPE tokenizer (WordPiece, SentencePiece and byte-fallback BPE are other algorithms)")
    if d.get("normalizer"):
        raise LabError(f"this tokenizer normalizes text first ({d['normalizer'].get('type')}), which the lab's encoder does not do")
    pattern, prefix = _hf_pattern(d.get("pre_tokenizer") or {})
    vocab = model["vocab"]
    byte_ids = [vocab.get(bytes_to_unicode()[b]) for b in range(256)]  # a few may be missing (bytes never seen in training)
    try:
        merges = []
        for m in model["merges"]:
            left, right = m.split(" ") if isinstance(m, str) else m
            merges.append((vocab[left], vocab[right], vocab[left + right]))
    except KeyError as e:
        raise LabError(f"this tokenizer's merges use {e}, which is not in its vocabulary") from e
    specials = {}
    for t in d.get("added_tokens", []):
        if t.get("lstrip") or t.get("rstrip") or t.get("single_word"):
            raise LabError(f"the added token {t['content']!r} strips spaces or matches whole words only, "
                           "which the lab's encoder does not do")
        specials[t["content"]] = t["id"]
    return merges, byte_ids, pattern, specials, prefix, bool(model.get("ignore_merges"))


def _hf_pattern(pre: dict) -> tuple[str | None, bool]:
    """The split regex and add_prefix_space of a ByteLevel pre-tokenizer, alone or after one regex Split."""
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    byte_level = [s for s in steps if s.get("type") == "ByteLevel"]
    splits = [s for s in steps if s.get("type") == "Split"]
    if len(byte_level) != 1 or len(splits) + 1 != len(steps) or len(splits) > 1:
        kinds = ", ".join(s.get("type", "?") for s in steps) or "none"
        raise LabError(f"the lab's encoder runs a ByteLevel pre-tokenizer, alone or after one regex Split; this tokenizer has: {kinds}")
    level = byte_level[0]
    if splits:
        split = splits[0]
        if "Regex" not in split.get("pattern", {}) or split.get("behavior") != "Isolated" or split.get("invert"):
            raise LabError("this tokenizer's Split step is not an isolating regex, which the lab's encoder does not do")
        if level.get("use_regex", True):
            raise LabError("this tokenizer splits with two regexes in a row, which the lab's encoder does not do")
        return split["pattern"]["Regex"], bool(level.get("add_prefix_space"))
    return (GPT2_PATTERN if level.get("use_regex", True) else None), bool(level.get("add_prefix_space"))


# ----------------------------------------------------------------------------- training as a lab run


@dataclass(frozen=True)
class BPEConfig:
    vocab_size: int = 512  # 256 single bytes + the merges + the special tokens
    pattern: str | None = "gpt4"  # split first: "gpt2", "gpt4", a regex of your own, or None (merges may cross words)
    special_tokens: tuple[str, ...] = ()  # strings kept whole and never merged, e.g. "<|endoftext|>"; ids after the merges
    max_corpus_chars: int = 2_000_000  # longer text is cut here (a split text's distinct chunks are a fraction of it)
    max_chars_no_split: int = 500_000  # with no pattern every character is a linked-list node: ~150 bytes and ~4 µs each

    @property
    def n_merges(self) -> int:
        return self.vocab_size - 256 - len(set(self.special_tokens))


@dataclass(frozen=True)
class MergeStep:
    rank: int  # 0 for the first merge
    left: int
    right: int
    new_id: int
    count: int  # occurrences of the pair when it was merged (overlaps counted, as in pair_counts)
    tokens: int  # the training text's length in tokens after this merge
    bytes_per_token: float  # compression so far: the text's UTF-8 bytes / tokens


@dataclass
class BPEResult:
    tokenizer: BPETokenizer
    steps: list[MergeStep]
    history: History
    corpus_bytes: int  # UTF-8 bytes of the text trained on, special tokens left out
    corpus_chars: int  # characters trained on (fewer than given when the text was cut)
    cut: bool = False  # the text was longer than config.max_corpus_chars (max_chars_no_split with no pattern)
    stopped: bool = False  # on_step asked to stop before the last merge
    ran_out: bool = False  # the text had no pair left before the vocabulary was full: fewer merges than asked for

    @property
    def bytes_per_token(self) -> float:
        """Compression of the training text by the whole tokenizer (1.0 with no merges)."""
        return self.steps[-1].bytes_per_token if self.steps else 1.0

    def ran_out_message(self) -> str:
        return str(_too_few_pairs(len(self.steps), len(self.tokenizer.special_tokens)))


def fit(config: BPEConfig, text: str, on_step: OnStep | None = None) -> BPEResult:
    """Train a byte-level BPE on `text`, one merge per step of `core.training.run_steps`.

    on_step(step, {"count", "bytes_per_token", "steps_per_s"}) after each merge; returning False stops
    (the tokenizer keeps the merges made so far). Raises LabError for an empty text or a vocabulary
    smaller than 256 + special tokens. A vocabulary larger than the text can give stops when no pair
    is left: `ran_out` is set and `ran_out_message()` says how many merges the text allowed
    (`BPETokenizer.train` raises that message as a LabError).

    >>> result = fit(BPEConfig(vocab_size=258, pattern=None), "abababab")
    >>> [(s.count, s.tokens, s.bytes_per_token) for s in result.steps]
    [(4, 4, 2.0), (3, 2, 4.0)]
    """
    specials, n_merges = check_training(text, config.vocab_size, config.special_tokens)
    limit = config.max_corpus_chars if config.pattern is not None else min(config.max_corpus_chars, config.max_chars_no_split)
    cut = len(text) > limit
    text = text[:limit]
    split = compile_pattern(config.pattern)
    counts = Counter(c.encode("utf-8") for piece, special in split_specials(text, specials) if not special for c in chunks(piece, split))
    trainer = BPETrainer(counts)
    steps: list[MergeStep] = []

    def step(i: int) -> dict[str, float]:
        pair, count = trainer.best_pair()
        new = trainer.merge(pair)
        steps.append(MergeStep(i - 1, *pair, new, count, trainer.n_tokens, trainer.n_bytes / trainer.n_tokens))
        return {"count": count, "bytes_per_token": steps[-1].bytes_per_token}

    def report(i: int, metrics: dict[str, float]) -> bool:
        going = on_step is None or on_step(i, metrics) is not False
        return going and (i == n_merges or trainer.has_pairs())

    ran_out = n_merges > 0 and not trainer.has_pairs()
    history = run_steps(step, 0 if ran_out else n_merges, report)
    ran_out = ran_out or (len(steps) < n_merges and not trainer.has_pairs())
    tokenizer = BPETokenizer.from_merges([(s.left, s.right, s.new_id) for s in steps], config.pattern, specials)
    return BPEResult(tokenizer, steps, history, trainer.n_bytes, len(text), cut, history.stopped and not ran_out, ran_out)


def merges_of(tokenizer: BPETokenizer) -> list[tuple[bytes, bytes]]:
    """The merges as pairs of byte strings, in rank order: comparable across numberings (tests, the page).

    >>> merges_of(BPETokenizer.train("abab", 257))
    [(b'a', b'b')]
    """
    return [(tokenizer.vocab[a], tokenizer.vocab[b]) for a, b, _ in tokenizer.merges]

