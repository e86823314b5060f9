"""The GPT's tokenizers (core.lm.text_tokens) with the lab's BPE: learned on the training part only, saved in a
checkpoint's config.json and loaded back with it, and losses per token turned into bits per character by hand.

References: the BPE trained directly by core.lm.bpe (itself checked against Hugging Face tokenizers in
test_bpe.py) on the text the run may learn from; hand-counted tokens per character."""

import json
import math

import pytest
import torch

from core.errors import LabError
from core.lm import bpe
from core.lm.text_tokens import BPE_VOCAB, from_dict, train_bpe
from core.training import History
from core.transformers import gpt_checkpoint, gpt_inspect
from core.transformers import gpt_train as gt
from core.transformers.gpt import GPT, GPTConfig

TRAIN = "the cat sat on the mat. " * 150  # 3,600 characters: the first 90 %
HELD_OUT = "qqqq " * 80  # 400 characters: the last 10 %, a word the training part never has


def test_bpe_learns_from_the_training_part_only():
    text = TRAIN + HELD_OUT
    assert gt.cut_point(text) == len(TRAIN)
    tok = gt.tokenizer_for(text, "BPE", 300)
    assert bpe.merges_of(tok) == bpe.merges_of(bpe.BPETokenizer.train(TRAIN, tok.vocab_size, "gpt4"))
    assert not any(b"q" in piece for i, piece in tok.vocab.items() if i >= 256)  # nothing learned from the held-out word
    cheat = train_bpe(text, 300)  # the whole text: "qqqq" is frequent enough to become a token
    assert any(b"q" in piece for i, piece in cheat.vocab.items() if i >= 256)
    assert tok.decode(tok.encode(HELD_OUT + "😀")) == HELD_OUT + "😀"  # bytes: any held-out text still encodes


def test_a_small_text_keeps_the_merges_it_allows_and_sizes_are_bounded():
    tok = train_bpe(TRAIN, BPE_VOCAB)  # a handful of words: far fewer merges than 256
    assert tok.vocab_size == 256 + len(tok.merges) < BPE_VOCAB
    assert tok.encode(" the cat sat on the mat.") == [tok.ids_of[w.encode()] for w in (" the", " cat", " sat", " on", " the", " mat", ".")]
    for size in (256, 100_000):
        with pytest.raises(LabError, match="BPE vocabulary must be between"):
            train_bpe(TRAIN, size)
    with pytest.raises(LabError, match="unknown tokens"):
        gt.tokenizer_for(TRAIN, "words")


def test_bpe_round_trips_through_a_checkpoint_and_labels_the_attention_heatmap():
    tok = gt.tokenizer_for(TRAIN + HELD_OUT, "BPE", 300)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context=16, n_layer=1, n_head=2, n_embd=16), torch.Generator().manual_seed(0))
    meta = {"results": {"held-out tokens per character": 0.25}}
    loaded = gpt_checkpoint.load_upload({"run.zip": gpt_checkpoint.zipped(model, tok, meta)})
    assert loaded.tokenizer.kind == "bpe" and loaded.tokenizer.merges == tok.merges and loaded.tokenizer.pattern == "gpt4"
    probe = "the cat sat on the 😀 qqqq"
    assert loaded.tokenizer.encode(probe) == tok.encode(probe) and loaded.tokenizer.decode(tok.encode(probe)) == probe
    ids = torch.tensor([tok.encode(probe)])
    with torch.no_grad():
        assert torch.equal(loaded.model(ids).logits, model.eval()(ids).logits)
    assert loaded.tokens_per_char == 0.25
    att = gpt_inspect.attentions(loaded.model, loaded.tokenizer, "the cat sat")
    assert att.tokens == ["the", " cat", " sat"]  # whole words as the heatmap's labels
    assert gpt_inspect.next_token_table(loaded.model, loaded.tokenizer, "the cat", top_n=3).token.map(type).eq(str).all()
    config = json.loads(gpt_checkpoint.files(model, tok)["config.json"])
    broken = config | {"tokenizer": config["tokenizer"] | {"merges": [[256, 999, 300]]}}  # a merge of ids nothing made
    with pytest.raises(LabError, match="malformed"):
        from_dict(broken["tokenizer"])
    one_more = config["tokenizer"]["merges"] + [[32, 32, tok.vocab_size]]  # a merge the weights have no row for
    with pytest.raises(LabError, match=f"the tokenizer has {tok.vocab_size + 1} tokens but the model {tok.vocab_size}"):
        gpt_checkpoint.load_upload({"model.safetensors": gpt_checkpoint.files(model, tok)["model.safetensors"],
                                    "config.json": json.dumps(config | {"tokenizer": config["tokenizer"] | {"merges": one_more}}).encode()})


def test_bits_per_token_become_bits_per_character_by_the_held_out_count():
    # "abab" * 250: the BPE learns ab (256) and abab (257); the held-out 100 characters are one letter run,
    # so 25 tokens of abab: 0.25 tokens per character, counted by hand.
    text = "abab" * 250
    tok = gt.tokenizer_for(text, "BPE", 258)
    data = gt.split_tokens(text, tok, 8)
    assert data.val.tolist() == [257] * 25 and data.val_chars == 100 and data.tokens_per_char == 0.25
    held = gt.HeldOut(nats=2 * math.log(2), tokens_per_char=0.25)  # 2 bits per token
    assert (held.bits, held.bits_per_char) == (pytest.approx(2.0), pytest.approx(0.5))
    h = History(steps=[1, 2], metrics={"train_bits": [4.0, 3.0], "val_bits": [math.nan, 2.0]})
    assert gt.loss_curves(h, 0.25).values.tolist() == [[1, "train", 1.0], [2, "train", 0.75], [2, "held-out", 0.5]]
    base = gt.best_ngram(data, tok.vocab_size, orders=(1, 2))
    assert base.bits_per_char == pytest.approx(base.val_bits / 4)
    run = gt.fit(GPTConfig(vocab_size=tok.vocab_size, context=8, n_layer=1, n_head=1, n_embd=8),
                 gt.TrainConfig(steps=2, batch_size=2, warmup=1, eval_every=2, sample_tokens=2), text, tok)
    assert run.bits_per_char == pytest.approx(run.val_bits / 4)
    last = run.history.metrics
    assert last["val_bits_per_char"][-1] == pytest.approx(last["val_bits"][-1] / 4)
    assert last["train_bits_per_char"][0] == pytest.approx(last["train_bits"][0] / 4)
    assert gt.summary(run)["held-out tokens per character"] == 0.25


def test_older_checkpoints_give_their_ratio_through_their_two_losses():
    model = GPT(GPTConfig(vocab_size=256, context=8, n_layer=1, n_head=1, n_embd=8))
    from core.lm.text_tokens import ByteTokenizer

    old = {"results": {"val loss (bits)": 2.0, "bits per character": 2.5}}  # 1.25 bytes per character
    assert gpt_checkpoint.load_upload({"a.zip": gpt_checkpoint.zipped(model, ByteTokenizer(), old)}).tokens_per_char == 1.25
    assert gpt_checkpoint.load_upload({"a.zip": gpt_checkpoint.zipped(model, ByteTokenizer())}).tokens_per_char is None
