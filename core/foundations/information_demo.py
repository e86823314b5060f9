"""Distributions to start from on the information-theory page: named presets, a second
distribution made from the first, and a language model's next-token distribution.

>>> preset("biased coin", bias=0.9)
(['heads', 'tails'], array([0.9, 0.1]))
"""

import numpy as np
import torch

from core.errors import LabError
from core.foundations.information import check_distribution

PRESETS = ("fair coin", "biased coin", "fair die", "loaded die", "uniform", "peaked", "English letters", "next token of a language model")

# Letter frequencies of English text (per cent), the classic table cryptographers and Shannon used.
ENGLISH_LETTERS = dict(zip("etaoinshrdlcumwfgypbvkjxqz", [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8,
                                                       2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 0.98, 0.77, 0.15, 0.15, 0.095, 0.074]))


def preset(name: str, n: int = 8, bias: float = 0.8) -> tuple[list[str], np.ndarray]:
    """(outcome labels, probabilities) of a named starting distribution.

    `n` is the number of outcomes of "uniform" and "peaked"; `bias` is P(heads) of the biased
    coin, the loaded die's P(six), and the share of the most likely outcome of "peaked".

    >>> preset("biased coin", bias=0.9)
    (['heads', 'tails'], array([0.9, 0.1]))
    >>> labels, p = preset("peaked", n=4, bias=0.7); p.round(3).tolist()
    [0.7, 0.2, 0.073, 0.027]
    """
    if name == "fair coin":
        return ["heads", "tails"], np.array([0.5, 0.5])
    if name == "biased coin":
        return ["heads", "tails"], np.array([bias, 1 - bias])
    if name == "fair die":
        return [str(i) for i in range(1, 7)], np.full(6, 1 / 6)
    if name == "loaded die":
        return [str(i) for i in range(1, 7)], np.array([(1 - bias) / 5] * 5 + [bias])
    if name == "uniform":
        return [f"x{i + 1}" for i in range(n)], np.full(n, 1 / n)
    if name == "peaked":  # geometric-like tail: the top outcome gets `bias`, the rest decay
        tail = np.exp(-np.arange(1, n) * 1.0)
        p = np.concatenate([[bias], (1 - bias) * tail / tail.sum()]) if n > 1 else np.ones(1)
        return [f"x{i + 1}" for i in range(n)], p
    if name == "English letters":
        return list(ENGLISH_LETTERS), check_distribution(list(ENGLISH_LETTERS.values()))[0]
    raise LabError(f"unknown preset '{name}'; choose one of {', '.join(PRESETS[:-1])}")


def compare_with(p: np.ndarray, how: str) -> np.ndarray:
    """A second distribution q over the same outcomes, made from p in a named way (see COMPARISONS).

    >>> compare_with(np.array([0.5, 0.3, 0.2]), "missing p's least likely outcome").round(3).tolist()
    [0.625, 0.375, 0.0]
    """
    p = check_distribution(p)[0]
    if how == "uniform":
        return np.full_like(p, 1 / p.size)
    if how == "reversed":
        return p[::-1].copy()
    if how == "flatter (p^0.5)":
        return check_distribution(np.sqrt(p))[0]
    if how == "sharper (p^2)":
        return check_distribution(p**2)[0]
    if how == "missing p's least likely outcome":  # KL(p||q) becomes infinite
        q = p.copy()
        q[np.flatnonzero(p > 0)[np.argmin(p[p > 0])]] = 0
        return check_distribution(q)[0] if q.sum() > 0 else np.full_like(p, 1 / p.size)
    raise LabError(f"unknown comparison '{how}'; choose one of {', '.join(COMPARISONS)}")


COMPARISONS = ("uniform", "flatter (p^0.5)", "sharper (p^2)", "reversed", "missing p's least likely outcome")


def next_token_distribution(lm, prompt: str, top_k: int = 10) -> tuple[list[str], np.ndarray]:
    """A causal LM's next-token distribution after `prompt`: its top_k tokens plus one "(other)" bucket.

    `lm` is a core.infra.models.LoadedModel. The bucket holds the remaining probability of the other
    ~49,000 tokens, so the result is a complete distribution whose entropy is a lower bound
    on the model's full next-token entropy (merging outcomes can only lower entropy).
    """
    if not prompt.strip():
        raise LabError("type a prompt: the model needs some text to predict the next token of")
    ids = lm.tokenizer(prompt, return_tensors="pt").input_ids[:, -512:]  # the last 512 tokens are plenty
    with torch.no_grad():
        probs = torch.softmax(lm.model(ids).logits[0, -1].double(), -1)
    top = torch.topk(probs, min(top_k, probs.numel()))
    labels = [repr(lm.tokenizer.decode([int(i)]))[1:-1].replace(" ", "␣") or "(empty)" for i in top.indices]
    return labels + ["(other)"], np.append(top.values.numpy(), max(0.0, 1.0 - float(top.values.sum())))
