"""LLMs: decoding, prompting, LoRA and fine-tuning."""
