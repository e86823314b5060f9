"""Stand-ins for what a test run cannot have: Hub models, the network's answer, missing packages.

The tiny models are randomly initialised Hugging Face models, saved to a folder and read back through
the lab's own loaders, the code path a Hub id takes.
"""

import importlib.metadata
import importlib.util
from pathlib import Path

import torch
from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel, GPT2Config, GPT2LMHeadModel

from core.infra import network


def tiny_encoder(family: str, vocab_size: int, layers: int = 2, heads: int = 4, **config):
    """A 32-wide BERT or DistilBERT (seeded, so every test gets the same weights); `config` adds settings."""
    torch.manual_seed(0)
    if family == "bert":
        return BertModel(BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=layers,
                                    num_attention_heads=heads, intermediate_size=64, **config))
    return DistilBertModel(DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=layers, n_heads=heads, hidden_dim=64,
                                            **config))


def tiny_gpt2(vocab_size: int, layers: int = 2, heads: int = 4, width: int = 32, positions: int = 64):
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_positions=positions, n_embd=width, n_layer=layers, n_head=heads))


def tiny_llama(vocab_size: int, tied: bool = True):
    """A 16-wide, one-layer model of SmolLM2's shape (Llama, tied embeddings): what the converted cache holds, in a few kB."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                                        tie_word_embeddings=tied))


def save(model, tokenizer, folder: Path) -> Path:
    """The `save_pretrained` layout that `from_pretrained(folder)` reads, as it would a Hub id."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


ONLINE = network.Reachability(True, "huggingface.co answers")
OFFLINE = network.Reachability(False, "cannot resolve huggingface.co: no DNS, so probably no network")


def hide_packages(monkeypatch, *names: str) -> None:
    """Make installed packages look uninstalled: no import spec, no distribution metadata."""
    find_spec, version = importlib.util.find_spec, importlib.metadata.version
    modules = {n.replace("-", "_") for n in names}

    def fake_find_spec(name, *args, **kwargs):
        return None if name in modules else find_spec(name, *args, **kwargs)

    def fake_version(name):
        if name.replace("_", "-") in names:
            raise importlib.metadata.PackageNotFoundError(name)
        return version(name)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    monkeypatch.setattr(importlib.metadata, "version", fake_version)


def forbid_network(monkeypatch) -> None:
    """Fail the test if anything resolves a name or opens a connection: offline mode must answer at once."""
    import socket

    def touched(*args, **kwargs):
        raise AssertionError(f"offline mode reached for the network: {args[:1]}")

    for name in ("getaddrinfo", "create_connection"):
        monkeypatch.setattr(socket, name, touched)
