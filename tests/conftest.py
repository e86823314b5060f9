"""Shared test setup: the suite runs offline, whatever the machine's network."""

import os

# Set before transformers/huggingface_hub are imported anywhere, so nothing reaches for the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import pytest  # noqa: E402 (after the environment is set)


@pytest.fixture
def lab_folder(tmp_path, monkeypatch):
    """An empty folder inside the lab's own model cache (LLM_LAB_CACHE points at this test's tmp_path): a
    folder a typed model id may name, as the lab's checkpoints and converted models are (see
    core.infra.models.canonical_model_id; other folders of the server are refused)."""
    monkeypatch.setenv("LLM_LAB_CACHE", str(tmp_path))
    folder = tmp_path / "saved-model"
    folder.mkdir()
    return folder


@pytest.fixture
def tiny_gpt2_dir(lab_folder):
    """(folder, model): a tiny GPT-2 saved where a Hub id would be read, with MiniLM's tokenizer from disk."""
    from transformers import AutoTokenizer

    from core.infra import models
    from tests.stand_ins import save, tiny_gpt2

    model = tiny_gpt2(AutoTokenizer.from_pretrained(models.minilm_path()).vocab_size, heads=2, width=16, positions=32)
    return save(model, AutoTokenizer.from_pretrained(models.minilm_path()), lab_folder), model
