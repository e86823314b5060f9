"""Shared test setup: the suite runs offline, whatever the machine's network."""

import os

# Set before transformers/huggingface_hub are imported anywhere, so nothing reaches for the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
