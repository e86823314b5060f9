"""Transformers: attention, positional encodings, the heads of a pretrained model."""
