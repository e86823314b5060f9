"""Characters, bytes and BPE as tokens: the tokenizers a GPT of the lab trains on, behind the interface
every tokenizer of the lab has (the BPE of core/lm/bpe.py too):

    encode(text) -> list[int]      decode(ids) -> str      vocab_size      piece(id) -> str (to show one token)

Characters: one token per distinct character of the training text, so the vocabulary is small
(~100 for English) but a character never seen in training cannot be written at all. Bytes: one
token per UTF-8 byte, 256 of them, so ANY text can be encoded (an emoji is four tokens), at the
cost of longer sequences. BPE (core/lm/bpe.py): bytes first, then the most frequent adjacent pairs
merged into new tokens, learned from a text: a word seen often becomes one token, so a text needs
several times fewer tokens than bytes, at the cost of a larger vocabulary (rows of the embedding).

>>> chars = CharTokenizer.from_text("hello")      # e, h, l, o: ids 0, 1, 2, 3
>>> chars.vocab_size, chars.encode("hole"), chars.decode([2, 3])
(4, [1, 3, 2, 0], 'lo')
>>> ByteTokenizer().encode("hé")            # é is two bytes in UTF-8
[104, 195, 169]
>>> [ByteTokenizer().piece(i) for i in [104, 195, 169]]
['h', '<0xC3>', '<0xA9>']
>>> bpe = train_bpe("the cat sat on the mat. the hat. ", 262)   # 6 merges: at, he, the, " the", cat, hat
>>> bpe.vocab_size, [bpe.piece(i) for i in bpe.encode("the cat")]
(262, ['the', ' ', 'cat'])
>>> train_bpe("aaaa", 300).vocab_size         # aa, then aaaa: no pair is left, so only 2 of the 44 merges
258
"""

import json

from core.errors import LabError
from core.lm.bpe import FORMAT as BPE_FORMAT
from core.lm.bpe import BPEConfig, BPETokenizer
from core.lm.bpe import fit as fit_bpe


class ByteTokenizer:
    """Each UTF-8 byte is a token: ids 0-255, nothing unknown."""

    kind = "bytes"
    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; bytes that do not form a whole character (a cut emoji) become �."""
        return bytes(ids).decode("utf-8", errors="replace")

    def piece(self, token_id: int) -> str:
        """One token as text: the character for ASCII, <0xNN> for a byte of a longer character."""
        return chr(token_id) if token_id < 0x80 else f"<0x{token_id:02X}>"

    def to_dict(self) -> dict:
        return {"kind": self.kind}


class CharTokenizer:
    """Each distinct character of the training text is a token, numbered in sorted order."""

    kind = "chars"

    def __init__(self, chars: str):
        if not chars or len(set(chars)) != len(chars):
            raise LabError("a character vocabulary needs at least one character, each listed once")
        self.chars = chars
        self.ids = {ch: i for i, ch in enumerate(chars)}
        self.vocab_size = len(chars)

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.ids.keys())
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:8]) + (" …" if len(unknown) > 8 else "")
            raise LabError(f"{len(unknown)} character(s) never appeared in the training text, so this character-level model "
                           f"has no token for them: {shown}. Remove them, or train on bytes.")
        return [self.ids[ch] for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def piece(self, token_id: int) -> str:
        return self.chars[token_id]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


BPE_VOCAB = 512  # 256 bytes + 256 merges: on English, about 2 characters per token
BPE_VOCABS = (288, 320, 384, 512, 768, 1024, 1536, 2048)  # the sizes a page offers; more merges take longer to learn
MAX_BPE_VOCAB = 4096  # a bound for any caller: ~4,000 merges take seconds on a few hundred kB
BPE_PATTERN = "gpt4"  # split into words, numbers and punctuation first (GPT-4's regex), so no merge crosses a word


def train_bpe(text: str, vocab_size: int = BPE_VOCAB) -> BPETokenizer:
    """A byte-level BPE learned from `text`: up to vocab_size - 256 merges, GPT-4's split pattern.

    A text too small for that many merges keeps the ones it allows (every word already one token):
    its `vocab_size` is then smaller than asked for, and `len(tokenizer.merges)` says how many it made.
    """
    if not 256 < vocab_size <= MAX_BPE_VOCAB:
        raise LabError(f"the BPE vocabulary must be between 257 (the 256 bytes and one merge) and {MAX_BPE_VOCAB:,} tokens "
                       f"(got {vocab_size})")
    return fit_bpe(BPEConfig(vocab_size, BPE_PATTERN), text).tokenizer


# name -> build(text): characters and bytes from the whole text, BPE from the text it may learn from (the training part)
TOKENIZERS = {"characters": CharTokenizer.from_text, "bytes": lambda text: ByteTokenizer(), "BPE": train_bpe}


def from_dict(d: dict):
    """The tokenizer a checkpoint's config describes (`to_dict` of one), or a LabError for anything else.

    >>> from_dict(train_bpe("abab abab", 258).to_dict()).encode("abab")
    [257]
    """
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind == "bytes":
        return ByteTokenizer()
    if kind == "chars" and isinstance(d.get("chars"), str):
        return CharTokenizer(d["chars"])
    if isinstance(d, dict) and d.get("format") == BPE_FORMAT:
        return BPETokenizer.from_json(json.dumps(d))  # checks every merge, id and the split regex
    raise LabError(f"unknown tokenizer description {str(d)[:80]!r}: expected bytes, chars or the lab's BPE")


def to_hf_tokenizer(tokenizer):
    """A transformers tokenizer with exactly the same ids, for pages that expect one (decoding, prompting, heads).

    Bytes only: a byte-level BPE (the `tokenizers` library's, as GPT-2 uses) with its 256 single
    bytes and no merges, so every id is the byte's value and split characters decode like GPT-2's.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if not isinstance(tokenizer, ByteTokenizer):
        raise LabError("only a byte-level model has a transformers tokenizer here; train on bytes to use it on other pages")
    from core.llm.prompting import BYTE_DECODER  # GPT-2's printable stand-in for each byte -> the byte

    fast = Tokenizer(models.BPE(vocab=dict(BYTE_DECODER), merges=[]))
    fast.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    fast.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=fast, model_max_length=1_000_000, clean_up_tokenization_spaces=False)

