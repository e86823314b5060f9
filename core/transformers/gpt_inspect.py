"""Looking inside a GPT the lab trained: where each head looks on a text, and what comes next.

The attention weights are the model's own (`output_attentions=True` runs the lab's attention,
core/transformers/attention.py, which returns them); they are packed as the heads page packs a
pretrained model's (`attention_heads.Attentions`), so the same head statistics and labels apply.

>>> from core.lm.text_tokens import ByteTokenizer
>>> model = GPT(GPTConfig(context=16, n_layer=2, n_head=2, n_embd=8))
>>> att = attentions(model, ByteTokenizer(), "héllo")
>>> att.weights.shape, att.tokens[:3]
((2, 2, 6, 6), ['h', '<0xC3>', '<0xA9>'])
"""

import pandas as pd
import torch

from core.errors import LabError
from core.transformers.attention_heads import Attentions
from core.transformers.gpt import GPT, GPTConfig  # noqa: F401 (the doctest builds one)

MAX_TOKENS = 128  # heatmaps stay readable up to here


def encode_prompt(model: GPT, tokenizer, text: str, room: int = 0) -> tuple[list[int], int]:
    """The ids of `text` that fit the context with `room` new tokens after them (a long text keeps its
    end, the part the model continues), and how many tokens the whole text has."""
    if not text or not text.strip():
        raise LabError("Type some text first: the model needs at least one token to read.")
    ids = tokenizer.encode(text)
    if not ids:
        raise LabError("The tokenizer found no tokens in that text.")
    keep = model.config.context - room
    if keep < 1:
        raise LabError(f"this model reads {model.config.context} tokens at once, so {room} new ones leave no room for a prompt")
    return ids[-keep:], len(ids)


@torch.no_grad()
def attentions(model: GPT, tokenizer, text: str, max_tokens: int = MAX_TOKENS) -> Attentions:
    """Every layer's and head's attention weights on the first tokens of `text` (at most the context and max_tokens)."""
    if not text or not text.strip():
        raise LabError("Type some text first: attention needs at least one token.")
    ids = tokenizer.encode(text)
    limit = min(max_tokens, model.config.context)
    out = model(torch.tensor([ids[:limit]]), output_attentions=True)
    weights = torch.stack([w[0] for w in out.attentions]) if out.attentions else torch.zeros(0, 0, len(ids[:limit]), len(ids[:limit]))
    return Attentions(tokens=[tokenizer.piece(i) for i in ids[:limit]], weights=weights.numpy(), n_tokens=len(ids),
                      truncated=len(ids) > limit, causal=True, special=[False] * len(ids[:limit]))


@torch.no_grad()
def next_token_table(model: GPT, tokenizer, text: str, top_n: int = 20) -> pd.DataFrame:
    """The `top_n` likeliest next tokens after `text` (its last `context` tokens): rank, id, token, probability."""
    ids, _ = encode_prompt(model, tokenizer, text)
    probs = model(torch.tensor([ids]), logits_to_keep=1).logits[0, -1].softmax(-1)
    top = probs.topk(min(top_n, len(probs)))
    return pd.DataFrame({"rank": range(1, len(top.indices) + 1), "id": top.indices.tolist(),
                         "token": [tokenizer.piece(i) for i in top.indices.tolist()], "probability": top.values.tolist()})
