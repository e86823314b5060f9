"""core.lm.bpe against Hugging Face `tokenizers`: the same merges as its BpeTrainer, the same ids as
SmolLM2's tokenizer, lossless round trips, and clear messages for bad input."""

import json
import random
from collections import Counter

import pytest
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

from core.errors import LabError
from core.infra import data
from core.infra import models as registry
from core.lm import bpe
from core.lm.bpe import BPEConfig, BPETokenizer, fit, merges_of, train_naive

BYTE_OF = {c: b for b, c in bpe.bytes_to_unicode().items()}


# ----------------------------------------------------------------------------- the reference: tokenizers' trainer


def hf_pre_tokenizer(pattern: str | None, add_prefix_space: bool = False):
    """The same pre-splitting in tokenizers: ByteLevel's own (GPT-2) regex, a Split regex, or none."""
    if pattern == "gpt2":
        return pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, use_regex=True)
    level = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space, use_regex=False)
    if pattern is None:
        return level
    return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(bpe.PATTERNS.get(pattern, pattern)), behavior="isolated"), level])


def hf_train(text: str, vocab_size: int, pattern: str | None, specials: tuple[str, ...] = ()) -> Tokenizer:
    """tokenizers' BpeTrainer with the same pre-splitting. Its trainer would count the characters of special-token
    strings in the text like any others; ours leaves them out (they are never merged), so it gets the pieces between them."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = hf_pre_tokenizer(pattern)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=list(specials), show_progress=False)
    pieces = [piece for piece, special in bpe.split_specials(text, specials) if not special]
    tokenizer.train_from_iterator(pieces, trainer)
    return tokenizer


def hf_merges(tokenizer: Tokenizer) -> list[tuple[bytes, bytes]]:
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(bytes(BYTE_OF[c] for c in side) for side in (m.split(" ") if isinstance(m, str) else m)) for m in merges]


@pytest.fixture(scope="module")
def manual() -> str:
    return data.python_docs_text()


@pytest.fixture(scope="module")
def markov() -> str:
    return data.markov_text()


@pytest.mark.parametrize("corpus, merges", [("manual", 400), ("markov", 40)])  # the Markov text has 16 words: 43 merges at most
@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
def test_same_merges_in_the_same_order_as_tokenizers_bpe_trainer(corpus, merges, pattern, request):
    text = request.getfixturevalue(corpus)[:150_000]
    ours = fit(BPEConfig(vocab_size=256 + merges, pattern=pattern), text).tokenizer
    theirs = hf_merges(hf_train(text, 256 + merges, pattern))
    assert len(theirs) == merges
    assert merges_of(ours) == theirs


def test_both_trainers_run_out_of_pairs_at_the_same_merge(markov):
    """Ask for more than the Markov text's 16 words can give: tokenizers stops quietly, ours says how many it could make."""
    possible = len(hf_merges(hf_train(markov, 256 + 400, "gpt2")))
    assert 0 < possible < 400
    with pytest.raises(LabError, match=f"allows only {possible} merges"):
        BPETokenizer.train(markov, 256 + 400, "gpt2")
    assert merges_of(BPETokenizer.train(markov, 256 + possible, "gpt2")) == hf_merges(hf_train(markov, 256 + 400, "gpt2"))


def test_same_merges_with_no_pattern_the_corpus_as_one_sequence(manual):
    text = manual[:12_000]  # tokenizers rescans its one long "word" at every merge: quadratic, so a short text
    assert merges_of(BPETokenizer.train(text, 256 + 150, pattern=None)) == hf_merges(hf_train(text, 256 + 150, None))


def test_special_tokens_are_kept_out_of_training_as_tokenizers_does():
    text = "<|endoftext|>the cat<|endoftext|>the hat<|pad|> the mat<|endoftext|><|endoftext|>thethe" * 5
    specials = ("<|endoftext|>", "<|pad|>")
    ours = BPETokenizer.train(text, 256 + 2 + 6, "gpt2", specials)
    theirs = hf_train(text, 256 + 2 + 6, "gpt2", specials)
    assert merges_of(ours) == hf_merges(theirs) and not any(b"<" in a + b for a, b in merges_of(ours))
    assert ours.special_tokens == {"<|endoftext|>": 262, "<|pad|>": 263} and ours.vocab_size == 264
    assert ours.encode("a<|pad|>b<|endoftext|>") == [97, 263, 98, 262]


@pytest.mark.slow
@pytest.mark.parametrize("pattern", ["gpt2", "gpt4"])
def test_thousand_merges_on_the_whole_manual_match_tokenizers(manual, pattern):
    assert merges_of(BPETokenizer.train(manual, 256 + 1000, pattern)) == hf_merges(hf_train(manual, 256 + 1000, pattern))


# ----------------------------------------------------------------------------- fast trainer = the naive loop


@pytest.mark.parametrize("text, pattern", [
    ("aaaaaaa bbbb aaab", None),                    # overlapping pairs: 'aaa' has aa twice but one merge
    ("abcabc abc bcab cab" * 3, "gpt2"),
    ("the cat sat on the mat; the hat!\n\n  x = 1_000 + 22\n" * 4, "gpt4"),
    ("abcd abcd acd ab cd bcd" * 2, "gpt2"),
])
def test_fast_trainer_learns_what_the_naive_loop_learns(text, pattern):
    naive = train_naive(text, 256 + 7, pattern)
    fast = BPETokenizer.train(text, 256 + 7, pattern)
    assert fast.merges == naive.merges and fast.vocab == naive.vocab


def test_each_steps_count_and_compression_match_a_recount(manual):
    """Recounted from scratch: the corpus encoded after k-1 merges holds the k-th pair `count` times (overlaps
    counted), and after k merges it is `tokens` long (the trainer updates both incrementally)."""
    text = manual[:20_000]
    result = fit(BPEConfig(vocab_size=256 + 60, pattern="gpt2"), text)
    split = bpe.compile_pattern("gpt2")
    for step in result.steps[::15]:
        before = result.tokenizer.after(step.rank)
        chunks = [before.encode(c) for c in bpe.chunks(text, split)]
        counts = Counter()
        for ids in chunks:
            bpe.pair_counts(ids, counts)
        assert counts[(step.left, step.right)] == step.count == max(counts.values())
        after = len(result.tokenizer.after(step.rank + 1).encode(text))
        assert step.tokens == after and step.bytes_per_token == len(text.encode()) / after


def test_ties_go_to_the_pair_of_earlier_tokens():
    # ab, bc and cd each occur once; a < b < c in the byte order, so ab is merged first
    assert merges_of(BPETokenizer.train("abcd", 257)) == [(b"a", b"b")]


# ----------------------------------------------------------------------------- SmolLM2's vocabulary, our encoder


@pytest.fixture(scope="module")
def smollm2():
    reference = registry.load_tokenizer("smollm2")  # tokenizers.Tokenizer from the converted folder's tokenizer.json
    return BPETokenizer.from_hf(reference), reference


PARITY_TEXTS = [
    "Hello world! It's 2024, isn't it? I'LL say we've they'd you're.",
    "def f(x):\n    return x ** 2  # square\n\n\n\tif x:\r\n        pass\n",
    "12345678901234567890 3.14159 -0.5e-10 1,000,000 $4.99 50% 0x1F",
    "   leading, double  and trailing spaces   \n\n  \t ",
    "Привет, мир! 你好，世界。 مرحبا بالعالم नमस्ते दुनिया こんにちは 안녕하세요 Γειά σου שלום ສະບາຍດີ",
    "🙂 👨‍👩‍👧 🇫🇷 🏳️‍🌈 e\u0301 ﬁ ẞ Ω Å",
    "<|endoftext|>hi<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant<|endoftext|><|endoftext|>",
    "special-looking but not: <|endoftext| <|im_start <repo_name><reponame>",
    "a\u00a0b\u3000c\u2028d\u200be\u2029f\x0b\x0c\x85",
    "\x00NUL\x01\x1f\x7f control bytes",
    " SolidGoldMagikarp petertodd aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "!" * 50,
    "",
]


@pytest.mark.slow  # SmolLM2's tokenizer comes from the converted model (~30 s on a fresh machine)
def test_our_encoder_gives_smollm2s_exact_ids(smollm2):
    ours, reference = smollm2
    for text in PARITY_TEXTS:
        assert ours.encode(text) == reference.encode(text, add_special_tokens=False).ids, repr(text)
    assert ours.vocab_size == reference.get_vocab_size() == 49_152


@pytest.mark.slow  # SmolLM2's tokenizer comes from the converted model (~30 s on a fresh machine)
def test_our_encoder_gives_smollm2s_ids_on_the_manual_and_random_unicode(smollm2, manual):
    ours, reference = smollm2
    text = manual[:60_000]
    assert ours.encode(text) == reference.encode(text, add_special_tokens=False).ids
    rng = random.Random(1)
    for _ in range(200):
        text = random_text(rng, rng.randrange(0, 40))
        assert ours.encode(text) == reference.encode(text, add_special_tokens=False).ids, repr(text)


@pytest.mark.slow  # SmolLM2's tokenizer comes from the converted model (~30 s on a fresh machine)
def test_smollm2_lacks_21_bytes_and_drops_them_like_tokenizers(smollm2):
    ours, reference = smollm2
    missing = [b for b in range(256) if ours.byte_ids[b] is None]
    assert missing == [4, 6, 19, 20, 22, 29, 192, 193, 241, 242, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255]
    text = "a\x04b \U00040000"  # U+40000 starts with the byte F1, which its vocabulary lacks
    assert ours.encode(text) == reference.encode(text, add_special_tokens=False).ids
    assert ours.decode(ours.encode(text)) != text
    safe = "".join(chr(c) for c in range(0x20, 0x3000))
    assert ours.decode(ours.encode(safe)) == safe


def test_from_hf_reads_split_regexes_prefix_spaces_and_refuses_wordpiece(manual):
    text = manual[:10_000]
    for pattern in ("gpt4", None):
        reference = hf_train(text, 256 + 100, pattern, ("<|endoftext|>",))
        ours = BPETokenizer.from_hf(reference)
        probe = manual[30_000:33_000] + "<|endoftext|> 🙂 x"
        assert ours.encode(probe) == reference.encode(probe, add_special_tokens=False).ids
    reference.pre_tokenizer = hf_pre_tokenizer("gpt2", add_prefix_space=True)
    ours = BPETokenizer.from_hf(reference)
    assert ours.add_prefix_space and ours.encode("hello<|endoftext|>world") == reference.encode("hello<|endoftext|>world").ids
    with pytest.raises(LabError, match="not a byte-level BPE"):
        BPETokenizer.from_hf(registry.load_tokenizer("minilm"))
    with pytest.raises(LabError, match="fast tokenizer"):
        BPETokenizer.from_hf(object())


# ----------------------------------------------------------------------------- round trips


def random_text(rng: random.Random, n: int) -> str:
    """Random code points from every plane (surrogates excluded: they are not characters), with ASCII and whitespace mixed in."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            cp = rng.randrange(0x20, 0x7F)
        elif r < 0.4:
            cp = rng.choice([0x09, 0x0A, 0x0D, 0x20, 0x20, 0x00])
        else:
            cp = rng.randrange(0, 0x110000 - 0x800)
            cp += 0x800 if cp >= 0xD800 else 0
        out.append(chr(cp))
    return "".join(out)


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", None])
def test_decode_encode_is_the_identity_for_any_unicode(pattern, manual):
    tok = BPETokenizer.train(manual[:20_000] + "日本語の文章。😀😀", 256 + 80, pattern, ("<|endoftext|>",))
    rng = random.Random(0)
    for n in [0, 1, 2, 5, 50, 500] * 10:
        text = random_text(rng, n)
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(tok.encode("x<|endoftext|>y")) == "x<|endoftext|>y"


def test_save_and_load_give_the_same_tokenizer(tmp_path, manual):
    tok = BPETokenizer.train(manual[:20_000], 300, "gpt4", ("<|endoftext|>",))
    tok.save(tmp_path / "tok.json")
    again = BPETokenizer.load(tmp_path / "tok.json")
    text = manual[20_000:25_000] + "<|endoftext|>"
    assert again.merges == tok.merges and again.encode(text) == tok.encode(text) and again.vocab_size == tok.vocab_size == 300


# ----------------------------------------------------------------------------- bad input


def test_empty_corpus_and_too_small_or_too_large_vocabularies():
    with pytest.raises(LabError, match="empty"):
        BPETokenizer.train("", 300)
    with pytest.raises(LabError, match="empty apart from special tokens"):
        BPETokenizer.train("<|endoftext|><|endoftext|>", 300, special_tokens=["<|endoftext|>"])
    with pytest.raises(LabError, match="at least 256 ids"):
        BPETokenizer.train("hello", 255)
    with pytest.raises(LabError, match="at least 258 ids"):
        BPETokenizer.train("hello", 257, special_tokens=["<a>", "<b>"])
    with pytest.raises(LabError, match=r"allows only 4 merges.*at most 260"):  # hello -> he, hel, hell, hello
        BPETokenizer.train("hello", 300)
    with pytest.raises(LabError, match=r"allows only 4 merges"):
        train_naive("hello", 300)
    assert BPETokenizer.train("hello", 256).encode("hello") == list(b"hello")  # no merges at all is allowed


def test_nul_bytes_train_and_round_trip():
    text = "a\x00b\x00\x00c" * 20
    tok = BPETokenizer.train(text, 258, "gpt2")
    assert tok.decode(tok.encode(text)) == text
    assert (0, 0) in {(a, b) for a, b, _ in tok.merges} or any(b"\x00" in v for v in tok.vocab.values() if len(v) > 1)


@pytest.mark.parametrize("raw, message", [
    (b"caf\xe9 au lait", "not UTF-8"),
    (b"text\x00with NUL", "binary"),
    (b"x" * 5_000_001, "limit is 5 MB"),
    (b"   \n ", "empty"),
])
def test_bad_uploads_are_refused_before_training(raw, message):
    with pytest.raises(LabError, match=message):
        data.text_from_upload(raw, "corpus.txt")


def test_a_5_mb_upload_is_cut_to_the_training_limit():
    raw = ("lorem ipsum dolor sit amet " * 200_000)[:5_000_000].encode()
    text = data.text_from_upload(raw, "big.txt")
    result = fit(BPEConfig(vocab_size=260, pattern="gpt2", max_corpus_chars=1_000_000), text)
    assert result.cut and result.corpus_chars == 1_000_000 and len(result.steps) == 4
    one_sequence = fit(BPEConfig(vocab_size=260, pattern=None, max_corpus_chars=1_000_000, max_chars_no_split=100_000), text)
    assert one_sequence.cut and one_sequence.corpus_chars == 100_000 and one_sequence.corpus_bytes == 100_000


@pytest.mark.parametrize("edit, message", [
    (lambda d: "not json {", "not JSON"),
    (lambda d: json.dumps({"merges": []}), "not a tokenizer saved by LLM Lab"),
    (lambda d: json.dumps({**d, "byte_ids": d["byte_ids"][:10]}), "256 ids"),
    (lambda d: json.dumps({**d, "byte_ids": [0] * 256}), "share an id"),
    (lambda d: json.dumps({**d, "merges": [[1, 2]]}), "left id, right id, new id"),
    (lambda d: json.dumps({**d, "merges": [[999, 2, 256]]}), "uses id 999"),
    (lambda d: json.dumps({**d, "merges": [[1, 2, 7]]}), "already a byte's"),
    (lambda d: json.dumps({**d, "special_tokens": {"<x>": 256}}), "shares its id"),
    (lambda d: json.dumps({**d, "special_tokens": ["<x>"]}), "map non-empty strings"),
    (lambda d: json.dumps({**d, "pattern": "(unclosed"}), "not a valid regex"),
    (lambda d: json.dumps({**d, "pattern": 5}), "regex string or null"),
])
def test_malformed_saved_files_say_what_is_wrong(edit, message):
    saved = json.loads(BPETokenizer.train("hello hello", 258, "gpt2").to_json())
    with pytest.raises(LabError, match=message):
        BPETokenizer.from_json(edit(saved))


def test_bad_patterns_and_unknown_ids():
    with pytest.raises(LabError, match="not a valid regex"):
        BPETokenizer.train("hello", 257, pattern="[")
    tok = BPETokenizer.train("hello", 257)
    with pytest.raises(LabError, match="not in this tokenizer's vocabulary"):
        tok.decode([257])


def test_fit_stops_where_the_text_runs_out_of_pairs_and_says_so():
    result = fit(BPEConfig(vocab_size=300, pattern="gpt2"), "hello hello")
    assert result.ran_out and not result.stopped and len(result.steps) == 5 == len(result.history.steps)
    assert "allows only 5 merges" in result.ran_out_message() and "at most 261" in result.ran_out_message()
    nothing = fit(BPEConfig(vocab_size=300, pattern="gpt2"), "a")  # one byte: no pair at all
    assert nothing.ran_out and nothing.steps == [] and "allows only 0 merges" in nothing.ran_out_message()
    stopped = fit(BPEConfig(vocab_size=300, pattern=None), "hello hello" * 50, on_step=lambda i, m: i < 3)
    assert stopped.stopped and not stopped.ran_out and len(stopped.tokenizer.merges) == 3


@pytest.mark.slow  # SmolLM2's tokenizer comes from the converted model (~30 s on a fresh machine)
def test_the_pages_view_of_real_tokenizers(smollm2):
    from core.lm import bpe_demo

    ours, reference = smollm2
    text = "Hello, naïve wörld 🙂 tokenization"
    mine, theirs = bpe_demo.cut(ours, text, "ours"), bpe_demo.cut(reference, text, "hf")
    assert mine.ids == theirs.ids and mine.pieces == theirs.pieces
    assert "".join(mine.pieces) == text  # no character split here: the pieces spell the text
    wordpiece = bpe_demo.cut(registry.load_tokenizer("minilm"), text, "minilm")
    assert wordpiece.pieces == ["hello", ",", "naive", "world", "[UNK]", "token", "##ization"]
    assert wordpiece.bytes_per_token == len(text.encode()) / 7
