"""The tokenization page: numbers shown against core, every control at both ends, odd text, uploads, save and load."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.infra import data
from core.lm import bpe, bpe_demo

APP = str(Path(__file__).parents[2] / "streamlit_app.py")
PAGE = "pages/tokenization.py"
ODD = ["", "x" * 20_000, "🙂👨‍👩‍👧🇫🇷" * 50, "שלום עולם مرحبا", "a\x00b\x00", "<script>alert(1)</script> <b>bold</b> **md** $x$"]


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    return at.switch_page(PAGE).run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def train(at: AppTest, corpus: str | None = None, vocab: int | None = None, pattern: str | None = None, specials: str | None = None,
          typed: str | None = None) -> AppTest:
    if corpus is not None:
        at.radio(key="bpe.corpus").set_value(corpus).run()
    if vocab is not None:
        at.slider(key="bpe.vocab").set_value(vocab)
    if pattern is not None:
        at.selectbox(key="bpe.pattern").set_value(pattern)
    if specials is not None:
        at.text_input(key="bpe.specials").set_value(specials)
    if typed is not None:
        at.text_area(key="bpe.typed").set_value(typed)
    next(b for b in at.button if b.label == "Train").click().run()
    return at


@pytest.mark.slow  # the first visit of a fresh machine converts SmolLM2 (its tokenizer is compared)
def test_first_visit_trains_the_defaults_and_shows_what_core_computes():
    at = open_page()
    assert_clean(at)
    result = bpe.fit(bpe.BPEConfig(512, "gpt4", ("<|endoftext|>",)), data.python_docs_text())
    assert metric(at, "Merges learned") == "255" and metric(at, "Vocabulary") == "512"
    assert metric(at, "Bytes per token") == f"{result.bytes_per_token:.2f}"
    view = bpe_demo.sample_after(result, bpe_demo.training_sample(data.python_docs_text()), 10)
    assert any(c.value.startswith(f"The start of the training text after 10 merges: {view.n_bytes:,} bytes in {len(view.ids):,} tokens")
               for c in at.caption)
    assert any("exactly the ids of its Hugging Face tokenizer" in c.value for c in at.caption)  # SmolLM2 run by our encoder
    table = next(d.value for d in at.dataframe if "bytes per token" in d.value.columns)
    assert list(table.tokenizer) == ["yours", *bpe_demo.REAL_TOKENIZERS.values()][:3]  # GPT-2 needs the Hub: absent offline
    assert any("out of reach" in c.value for c in at.caption)


def test_step_slider_and_buttons_at_both_ends():
    at = open_page()
    slider = next(s for s in at.slider if s.key.startswith("bpe.step."))
    slider.set_value(0).run()
    assert_clean(at)
    assert any(c.value.startswith("The start of the training text after 0 merges") and "(1.00 bytes per token)" in c.value
               for c in at.caption)
    at.button(key="bpe.prev").click().run()  # already at 0: stays there
    assert next(s for s in at.slider if s.key.startswith("bpe.step.")).value == 0
    next(s for s in at.slider if s.key.startswith("bpe.step.")).set_value(255).run()
    at.button(key="bpe.next").click().run()  # already at the end: stays there
    assert_clean(at)
    assert next(s for s in at.slider if s.key.startswith("bpe.step.")).value == 255
    assert any(m.value.startswith("**Merge 255** of 255") for m in at.markdown)
    at.button(key="bpe.prev").click().run()
    assert any(m.value.startswith("**Merge 254** of 255") for m in at.markdown)


def test_vocabulary_at_both_ends():
    at = train(open_page(), vocab=256, specials="")
    assert_clean(at)
    assert metric(at, "Merges learned") == "0" and any("No merges" in i.value for i in at.info)
    at = train(at, corpus="Synthetic Markov text", vocab=4096, pattern="GPT-2's")  # 16 words: it runs out of pairs
    assert_clean(at)
    [warning] = warnings(at)
    assert "allows only 43 merges" in warning and metric(at, "Merges learned") == "43"


@pytest.mark.slow
def test_the_largest_vocabulary_on_the_manual():
    at = train(open_page(), vocab=4096, pattern="None: the whole text is one sequence")
    assert_clean(at)
    assert metric(at, "Merges learned") == "3,839" and metric(at, "Vocabulary") == "4,096"


def test_each_pattern_trains_on_typed_text():
    at = open_page()
    for pattern, name in [("gpt2", "GPT-2's"), (None, "None: the whole text is one sequence"), ("gpt4", "GPT-4's (cl100k)")]:
        train(at, corpus="Text you type", vocab=300, pattern=name, specials="")
        assert_clean(at)
        expected = bpe.fit(bpe.BPEConfig(300, pattern), at.text_area(key="bpe.typed").value)
        assert metric(at, "Merges learned") == f"{len(expected.steps)}"
        assert metric(at, "Bytes per token") == f"{expected.bytes_per_token:.2f}"


def test_odd_training_text_gives_a_message_or_a_tokenizer():
    at = open_page()
    for typed in ODD:
        train(at, corpus="Text you type", vocab=270, typed=typed)
        assert_clean(at)
        if typed == "":
            assert any("training text is empty" in w for w in warnings(at))
        else:
            assert metric(at, "Trained on") == f"{len(typed.encode()) / 1e3:,.1f} kB", typed[:20]


def test_special_tokens_box():
    at = open_page()
    for specials, message in [(" ".join(f"<s{i}>" for i in range(100)), "more than this page takes"),
                              ("<" + "x" * 20_000 + ">", "at most 100 characters"), ("🙂 <b>", None), ("", None)]:
        train(at, vocab=300, specials=specials)
        assert_clean(at)
        if message:
            assert any(message in w for w in warnings(at)), warnings(at)
        else:
            assert metric(at, "Vocabulary") == "300" and not warnings(at)


def test_only_special_tokens_and_too_small_a_vocabulary():
    at = train(open_page(), corpus="Text you type", typed="<|endoftext|><|endoftext|>")
    assert any("empty apart from special tokens" in w for w in warnings(at))
    at = train(at, typed="hello", vocab=256, specials="<a> <b>")
    assert_clean(at)
    assert any("at least 258 ids" in w for w in warnings(at))


def test_bad_uploads():
    at = open_page()
    at.radio(key="bpe.corpus").set_value("A file you upload").run()
    assert any("Upload a text file" in i.value for i in at.info)
    for payload, message in [(b"caf\xe9", "not UTF-8"), (b"text\x00with a NUL", "binary file"), (b"a" * 5_000_001, "the limit is 5 MB"),
                             (b"  \n", "is empty")]:
        at.file_uploader(key="bpe.upload").set_value(("corpus.txt", payload, "text/plain")).run()
        next(b for b in at.button if b.label == "Train").click().run()
        assert_clean(at)
        assert any(message in w for w in warnings(at)), warnings(at)


def test_a_good_upload_trains():
    at = open_page()
    at.radio(key="bpe.corpus").set_value("A file you upload").run()
    at.file_uploader(key="bpe.upload").set_value(("words.txt", b"lorem ipsum dolor sit amet\n" * 100, "text/plain")).run()
    train(at, vocab=270, pattern="GPT-2's")
    assert_clean(at)
    assert metric(at, "Merges learned") == "13" and metric(at, "Trained on") == "2.7 kB"  # 270 - 256 - 1 special token


@pytest.mark.slow
def test_a_5_mb_upload_is_cut_to_2_million_characters():
    at = open_page()
    at.radio(key="bpe.corpus").set_value("A file you upload").run()
    at.file_uploader(key="bpe.upload").set_value(("big.txt", ("lorem ipsum dolor " * 300_000).encode()[:5_000_000], "text/plain")).run()
    train(at, vocab=270, pattern="GPT-2's")
    assert_clean(at)
    assert metric(at, "Merges learned") == "13" and any("first 2,000,000 characters" in i.value for i in at.info)


def test_tiny_shakespeare_offline_says_why():
    at = train(open_page(), corpus="Tiny Shakespeare (online)")
    assert_clean(at)
    assert any("out of reach" in w for w in warnings(at))
    assert metric(at, "Merges learned") == "255"  # the earlier tokenizer stays on screen


def test_save_then_load_a_tokenizer_and_refuse_a_malformed_one():
    at = train(open_page(), corpus="Text you type", vocab=280, specials="")
    saved = bpe.BPETokenizer.train(at.text_area(key="bpe.typed").value, 280, "gpt4")
    at.file_uploader(key="bpe.load").set_value(("tok.json", saved.to_json().encode(), "application/json")).run()
    assert_clean(at)
    assert any(s.value.startswith("Loaded tok.json: 280 ids, 24 merges") for s in at.success)
    table = next(d.value for d in at.dataframe if "bytes per token" in d.value.columns)
    assert table.tokenizer.iloc[0] == "yours (loaded)" and table.vocabulary.iloc[0] == 280
    broken = json.loads(saved.to_json()) | {"merges": [[999, 1, 256]]}
    at.file_uploader(key="bpe.load").set_value(("bad.json", json.dumps(broken).encode(), "application/json")).run()
    assert_clean(at)
    assert any("malformed" in w for w in warnings(at))
    at.file_uploader(key="bpe.load").set_value(("bad.json", b"\xff\xfe", "application/json")).run()
    assert any("not UTF-8" in w for w in warnings(at))


def test_every_preset_is_encoded_by_every_offline_tokenizer():
    at = open_page()
    smollm2 = bpe_demo.load_real("smollm2")[1]
    for preset, text in bpe_demo.PRESETS.items():
        at.selectbox(key="bpe.preset").set_value(preset).run()
        assert_clean(at)
        table = next(d.value for d in at.dataframe if "bytes per token" in d.value.columns)
        assert len(table) == 3 and (table.tokens > 0).all()
        assert table.tokens.iloc[1] == len(smollm2.encode(text, add_special_tokens=False).ids)


@pytest.mark.slow  # several seconds of AppTest reruns
def test_odd_text_to_encode():
    at = open_page()
    at.selectbox(key="bpe.preset").set_value("Your own text").run()
    for text in ODD:
        at.text_area(key="bpe.text.Your own text").set_value(text).run()
        assert_clean(at)
        if not text:
            assert any("Type some text" in i.value for i in at.info)
            continue
        assert any("exactly the ids" in c.value for c in at.caption)
        if len(text) == 20_000:
            assert any("(the first 400 shown)" in m.value for m in at.markdown)
        if "<script>" in text:
            assert not any("<script>" in m.value for m in at.markdown)  # chips escape HTML: shown as text, never run
            assert any("&lt;" in m.value and "script" in m.value for m in at.markdown)


@pytest.mark.slow  # several seconds of AppTest reruns
def test_gpt2_joins_when_the_hub_answers(monkeypatch, lab_folder):
    """Online, GPT-2's tokenizer comes through models.load_hub_tokenizer; here a small byte-level BPE saved where
    the Hub's "gpt2" would be read stands in for it (same loading code, from_pretrained on a folder)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from core.infra import models as registry
    from tests.stand_ins import ONLINE
    from ui import state

    stand_in = Tokenizer(models.BPE())
    stand_in.pre_tokenizer, stand_in.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    stand_in.train_from_iterator([data.python_docs_text()[:20_000]], trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"], show_progress=False))
    PreTrainedTokenizerFast(tokenizer_object=stand_in).save_pretrained(lab_folder)
    real = registry.load_hub_tokenizer
    monkeypatch.setattr(registry, "load_hub_tokenizer", lambda model_id: real(str(lab_folder)))
    monkeypatch.setattr(registry, "hub_reachable", lambda: ONLINE)
    monkeypatch.setattr(state, "hub_reachability", lambda: ONLINE)
    monkeypatch.setattr(state, "shared", lambda fn, max_entries=10: fn)  # no tokenizer cached by an earlier test
    at = open_page()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "bytes per token" in d.value.columns)
    assert list(table.tokenizer) == ["yours", *bpe_demo.REAL_TOKENIZERS.values()]
    assert table.tokens.iloc[3] == len(stand_in.encode(bpe_demo.PRESETS["Numbers and arithmetic"]).ids)
    assert any(c.value.startswith("GPT-2") and "exactly the ids" in c.value for c in at.caption)
