"""LLM Lab's trainable models and data, with no Streamlit in sight.

One module per topic. Each exposes a config dataclass, a `fit(...)`/`train(...)` that
reports progress through an `on_step` callback (see `core.training`), and pure helpers
a learner can call from a notebook.
"""
