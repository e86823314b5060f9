"""What the tokenization page shows about core.lm.bpe: the merges as a table, a sample re-cut after
each merge, and any text cut by several tokenizers side by side (ours, and real models' from Hugging Face).

>>> result = bpe.fit(bpe.BPEConfig(vocab_size=260, pattern="gpt2"), "the cat, the hat, the mat")
>>> merge_table(result)[["step", "left", "right", "token", "count"]].head(2).to_dict("records")
[{'step': 1, 'left': 'a', 'right': 't', 'token': 'at', 'count': 3}, {'step': 2, 'left': 'h', 'right': 'e', 'token': 'he', 'count': 3}]
>>> view = cut(result.tokenizer, "the hat", "ours")
>>> view.pieces, view.bytes_per_token
(['the', ' ', 'h', 'at'], 1.75)
"""

from collections import Counter
from dataclasses import dataclass

import pandas as pd
import regex

from core.errors import LabError
from core.infra import models
from core.lm import bpe

MAX_SPECIAL_TOKENS = 64
MAX_SPECIAL_CHARS = 100

PRESETS = {
    "Numbers and arithmetic": "127 + 677 = 804\n3.14159 × 2 = 6.28318\n1,000,000 or 1000000 or 10^6\n"
                              "In 2024, 12345 × 6789 = 83810205.",
    "Code with indentation": "def mean(xs):\n    if not xs:\n        raise ValueError(\"empty\")\n    total = 0\n"
                             "    for x in xs:\n        total += x\n    return total / len(xs)\n",
    "Non-English scripts and emoji": "Hello, how are you?\nBonjour, comment ça va ?\nПривет, как дела?\n你好，你好吗？\n"
                                     "مرحبا، كيف حالك؟\nनमस्ते, आप कैसे हैं?\n👋🙂 👨‍👩‍👧 🇫🇷",
    "Leading spaces": "hello Hello HELLO\n hello  hello\thello\n    hello",
    "Rare and glitch-like strings": " SolidGoldMagikarp petertodd StreamerBot TheNitromeFan\n"
                                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nhttps://example.com/?q=%E2%9C%93&x=\u200b\n"
                                    "<|endoftext|> is a special token",
}


def parse_special_tokens(typed: str) -> tuple[str, ...]:
    """Special tokens typed as one box, separated by spaces or new lines (repeats dropped).

    >>> parse_special_tokens("<|endoftext|>  <|pad|> <|endoftext|>")
    ('<|endoftext|>', '<|pad|>')
    """
    tokens = tuple(dict.fromkeys(typed.split()))
    if len(tokens) > MAX_SPECIAL_TOKENS:
        raise LabError(f"{len(tokens):,} special tokens is more than this page takes ({MAX_SPECIAL_TOKENS}); a model needs only a few")
    long = [t for t in tokens if len(t) > MAX_SPECIAL_CHARS]
    if long:
        raise LabError(f"a special token may have at most {MAX_SPECIAL_CHARS} characters; one has {len(long[0]):,}")
    return tokens


def token_text(tokenizer: bpe.BPETokenizer, token_id: int) -> str:
    return tokenizer.pieces([token_id])[0]


def merge_table(result: bpe.BPEResult) -> pd.DataFrame:
    """One row per merge: step (1 = first), the two tokens, the new one, its id, count, bytes/token after."""
    tok = result.tokenizer
    return pd.DataFrame({
        "step": [s.rank + 1 for s in result.steps],
        "left": [token_text(tok, s.left) for s in result.steps],
        "right": [token_text(tok, s.right) for s in result.steps],
        "token": [token_text(tok, s.new_id) for s in result.steps],
        "id": [s.new_id for s in result.steps],
        "count": [s.count for s in result.steps],
        "bytes_per_token": [s.bytes_per_token for s in result.steps],
        "vocab_size": [256 + s.rank + 1 for s in result.steps],
    })


def compression_curve(result: bpe.BPEResult) -> pd.DataFrame:
    """Vocabulary size (bytes + merges so far) against the training text's bytes per token, from 256 on."""
    table = merge_table(result)
    start = pd.DataFrame({"vocab_size": [256], "bytes_per_token": [1.0], "step": [0]})
    return pd.concat([start, table[["vocab_size", "bytes_per_token", "step"]]], ignore_index=True)


def compression_caption(result: bpe.BPEResult, at_step: int) -> str:
    """How much the first and the last tenth of the merges compress the training text (diminishing returns)."""
    steps = result.steps
    tenth = max(1, len(steps) // 10)
    first = steps[tenth - 1].bytes_per_token
    last = steps[-1].bytes_per_token - (steps[-tenth - 1].bytes_per_token if len(steps) > tenth else 1.0)
    return (f"The dot is merge {at_step:,}. The first {tenth:,} merge{'s' * (tenth != 1)} take the text from 1.00 to {first:.2f} "
            f"bytes per token; the last {tenth:,} add {last:.3f}: each new token is rarer than the one before, so it saves less.")


@dataclass
class Cut:
    """A text as one tokenizer cuts it."""

    name: str
    ids: list[int]
    pieces: list[str]  # each token's text; <0xE2> for a byte that is only part of a character
    n_bytes: int  # UTF-8 bytes of the text
    vocab_size: int
    note: str = ""

    @property
    def n_tokens(self) -> int:
        return len(self.ids)

    @property
    def bytes_per_token(self) -> float:
        return self.n_bytes / self.n_tokens if self.ids else float("nan")

    @property
    def distinct(self) -> int:
        return len(set(self.ids))


def cut(tokenizer, text: str, name: str) -> Cut:
    """`text` through our BPETokenizer or a Hugging Face `tokenizers.Tokenizer` (byte-level BPE or WordPiece)."""
    n_bytes = len(text.encode("utf-8"))
    if isinstance(tokenizer, bpe.BPETokenizer):
        ids = tokenizer.encode(text)
        return Cut(name, ids, tokenizer.pieces(ids), n_bytes, tokenizer.vocab_size)
    encoding = tokenizer.encode(text, add_special_tokens=False)
    if type(tokenizer.model).__name__ == "BPE" and type(tokenizer.decoder).__name__ == "ByteLevel":
        table = bpe.unicode_to_bytes()
        special = {t.content for t in tokenizer.get_added_tokens_decoder().values()}
        pieces = [bpe.readable(t.encode() if t in special else bytes(table[c] for c in t)) for t in encoding.tokens]
    else:  # WordPiece and others: their own token strings (lower-cased, ## for a word's continuation, [UNK])
        pieces = list(encoding.tokens)
    return Cut(name, list(encoding.ids), pieces, n_bytes, tokenizer.get_vocab_size())


REAL_TOKENIZERS = {  # registry key: what the page calls it
    "smollm2": "SmolLM2-135M (byte-level BPE, 49,152)",
    "minilm": "MiniLM / BERT (WordPiece, 30,522)",
    "gpt2": "GPT-2 (byte-level BPE, 50,257)",
}


def load_real(key: str) -> tuple["bpe.BPETokenizer | None", object]:
    """(our encoder with the model's vocabulary and merges, or None for WordPiece; the model's own tokenizers.Tokenizer)."""
    reference = models.load_tokenizer(key)
    ours = None if key == "minilm" else bpe.BPETokenizer.from_hf(reference, name=REAL_TOKENIZERS[key])
    return ours, reference


def same_ids(ours: bpe.BPETokenizer, reference, text: str) -> bool:
    """Does our encoder, run with a real model's vocabulary and merges, give that model's exact ids?"""
    return ours.encode(text) == reference.encode(text, add_special_tokens=False).ids


def comparison(cuts: list[Cut]) -> pd.DataFrame:
    return pd.DataFrame({"tokenizer": [c.name for c in cuts], "vocabulary": [c.vocab_size for c in cuts],
                         "tokens": [c.n_tokens for c in cuts], "distinct tokens": [c.distinct for c in cuts],
                         "bytes per token": [round(c.bytes_per_token, 3) for c in cuts]})


def comparison_caption(cuts: list[Cut]) -> str:
    """Who needs the fewest and the most tokens for this text, computed from the cuts."""
    usable = [c for c in cuts if c.ids]
    if len(usable) < 2:
        return ""
    fewest, most = min(usable, key=lambda c: c.n_tokens), max(usable, key=lambda c: c.n_tokens)
    if fewest.n_tokens == most.n_tokens:
        return f"All {len(usable)} tokenizers need {fewest.n_tokens:,} tokens for this text."
    return (f"{fewest.name} needs the fewest tokens ({fewest.n_tokens:,}, {fewest.bytes_per_token:.2f} bytes each); "
            f"{most.name} the most ({most.n_tokens:,}, {most.n_tokens / fewest.n_tokens:.1f}× as many). "
            "A model pays for every token: context length, compute and cost all count tokens, not characters.")


@dataclass
class SampleAfter:
    """A sample of the training text cut by the tokenizer as it was after `step` merges."""

    step: int
    pieces: list[str]
    ids: list[int]
    new_id: int | None  # the token that merge made (None before any merge)
    new_positions: list[int]  # where it occurs in the sample
    n_bytes: int

    @property
    def bytes_per_token(self) -> float:
        return self.n_bytes / max(len(self.ids), 1)


def sample_after(result: bpe.BPEResult, sample: str, step: int) -> SampleAfter:
    """`sample` encoded with the first `step` merges only, and where the newest token sits in it."""
    step = max(0, min(step, len(result.steps)))
    tok = result.tokenizer.after(step)
    ids = tok.encode(sample)
    new = result.steps[step - 1].new_id if step else None
    return SampleAfter(step, tok.pieces(ids), ids, new, [i for i, t in enumerate(ids) if t == new], len(sample.encode("utf-8")))


def training_sample(text: str, specials: tuple[str, ...] = (), chars: int = 400) -> str:
    """About `chars` characters from the training text to re-cut at each step: whole lines from its start."""
    piece = text[: chars * 2]
    cut_at = piece.rfind("\n", 0, chars)
    return piece[: cut_at if cut_at > chars // 2 else chars]


def most_common_tokens(result: bpe.BPEResult, text: str, n: int = 10) -> list[tuple[str, int]]:
    counts = Counter(result.tokenizer.encode(text))
    return [(token_text(result.tokenizer, i), c) for i, c in counts.most_common(n)]


def valid_pattern(pattern: str) -> str:
    """A pattern typed by a learner, checked (an empty one is refused: choose 'no pattern' instead)."""
    if not pattern:
        raise LabError("type a regex, or choose 'none' to train without splitting")
    try:
        regex.compile(pattern)
    except regex.error as e:
        raise LabError(f"the split pattern is not a valid regex: {e}") from e
    return pattern
