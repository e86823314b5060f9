"""Looking inside a causal LM: its tokens, how surprised it is, what each layer predicts, and
how a prompt's wording (zero-, one-, few-shot, a chat template) moves its answer.

- `token_pieces`: the exact text (bytes) of each token, so whitespace and half-characters show;
- `surprisal`: -log2 p(token | everything before it) for each token; perplexity = 2 ** mean;
- `logit_lens`: the final norm + unembedding applied to every layer's hidden state
  (nostalgebraist 2020): what the model "would say" if it stopped at that layer;
- `few_shot_prompt`, `chat_prompt`, `answer_probabilities`: in-context classification.

>>> task = FewShotTask(examples=(("Great fun.", "positive"),))
>>> print(few_shot_prompt(task, "Dull.", shots=1))
Classify the sentiment of each review as positive or negative.
<BLANKLINE>
Review: Great fun.
Sentiment: positive
<BLANKLINE>
Review: Dull.
Sentiment:
"""

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch

from core.errors import LabError
from core.llm.generation import check_prompt, context_window
from core.lm.bpe import unicode_to_bytes

# ----------------------------------------------------------------------------- tokens as text


# GPT-2's byte-level BPE writes each byte as a printable character (core/lm/bpe.py); this undoes it.
BYTE_DECODER = unicode_to_bytes()


def token_bytes(tokenizer, token_id: int) -> bytes:
    """The raw bytes a token stands for (a byte-level token may hold half of a UTF-8 character)."""
    piece = tokenizer.convert_ids_to_tokens(int(token_id))
    if piece in tokenizer.all_special_tokens or not all(ch in BYTE_DECODER for ch in piece):
        return tokenizer.decode([int(token_id)]).encode("utf-8")  # not byte-level (e.g. WordPiece)
    return bytes(BYTE_DECODER[ch] for ch in piece)


def token_pieces(tokenizer, ids: list[int]) -> list[str]:
    """Each token's text; bytes that are only part of a character are shown as <0xF0> etc.

    Byte-level tokens are exact, so "".join(pieces) is the text whenever no character is split.
    """
    pieces = []
    for token_id in ids:
        raw = token_bytes(tokenizer, token_id)
        try:
            pieces.append(raw.decode("utf-8"))
        except UnicodeDecodeError:  # an emoji or accented letter split across tokens
            pieces.append("".join(f"<0x{b:02X}>" for b in raw))
    return pieces


def prompt_token_ids(tokenizer, text: str) -> list[int]:
    """The ids of `text` with no special tokens added (what the model is asked to continue)."""
    return tokenizer(text, add_special_tokens=False).input_ids


# ----------------------------------------------------------------------------- surprisal, perplexity


@torch.no_grad()
def token_logprobs(model, ids: list[int]) -> torch.Tensor:
    """log p(ids[t] | ids[:t]) for t = 1..T-1, in nats (the first token has no context to score it)."""
    check_prompt(model, len(ids))
    logits = model(torch.tensor([ids])).logits[0, :-1].float()
    return logits.log_softmax(-1).gather(-1, torch.tensor(ids[1:])[:, None])[:, 0]


@dataclass
class Surprisal:
    table: pd.DataFrame  # position, token id, piece, surprisal in bits (NaN for the first token)
    perplexity: float  # 2 ** (mean surprisal in bits) = exp(mean negative log-likelihood in nats)
    truncated: int  # tokens cut off the end to fit the context window (0 if none)


def surprisal(model, tokenizer, text: str, max_tokens: int | None = None) -> Surprisal:
    """How surprised the model is by each token of `text`, and the text's perplexity.

    A text longer than the context window (or `max_tokens`) is scored from its start up to the
    limit, and the result says how many tokens were left out.
    """
    if not text.strip():
        raise LabError("Paste some text to score: the box is empty.")
    ids = prompt_token_ids(tokenizer, text)
    limit = min(max_tokens or context_window(model), context_window(model))
    truncated = max(0, len(ids) - limit)
    ids = ids[:limit]
    if len(ids) < 2:
        raise LabError("The text is a single token: perplexity needs at least two (the first has no context).")
    bits = (-token_logprobs(model, ids) / math.log(2)).tolist()
    table = pd.DataFrame({"position": range(len(ids)), "id": ids, "token": token_pieces(tokenizer, ids),
                          "surprisal_bits": [float("nan")] + bits})
    return Surprisal(table, 2 ** (sum(bits) / len(bits)), truncated)


# ----------------------------------------------------------------------------- the logit lens


def lens_parts(model) -> tuple[list[torch.nn.Module], torch.nn.Module, torch.nn.Module]:
    """(the transformer blocks, the final norm, the unembedding) of a GPT-2 or Llama-style model."""
    if hasattr(model, "transformer"):  # GPT-2: transformer.h, transformer.ln_f
        return list(model.transformer.h), model.transformer.ln_f, model.lm_head
    if hasattr(model, "model") and hasattr(model.model, "layers"):  # Llama, SmolLM2, Mistral, ...
        return list(model.model.layers), model.model.norm, model.lm_head
    raise LabError(f"the logit lens does not know where the layers of a {type(model).__name__} are")


@torch.no_grad()
def layer_logits(model, ids: list[int], positions: int | None = None) -> torch.Tensor:
    """(layers + 1, positions, V): norm + lm_head applied to the input of block 0 (the embeddings)
    and to the output of every block, at the last `positions` positions (all if None). The last
    row is the model's own output logits."""
    check_prompt(model, len(ids))
    blocks, norm, head = lens_parts(model)
    states: list[torch.Tensor] = []
    grab = lambda module, args, out: states.append((out[0] if isinstance(out, tuple) else out)[0])  # noqa: E731
    hooks = [blocks[0].register_forward_pre_hook(lambda module, args, kwargs: states.append(
        (args[0] if args else kwargs["hidden_states"])[0]), with_kwargs=True)]
    hooks += [block.register_forward_hook(grab) for block in blocks]
    try:
        model(torch.tensor([ids]))
    finally:
        for h in hooks:
            h.remove()
    # only the positions asked for go through the head: 31 layers x 49k logits per position add up
    return head(norm(torch.stack(states)[:, -(positions or len(ids)):])).float()


def logit_lens(model, tokenizer, ids: list[int], top_n: int = 5, positions: int = 8) -> pd.DataFrame:
    """The top tokens each layer predicts next, at each of the last `positions` positions.

    Columns: layer (0 = embeddings), position, input token, rank, token, probability.
    """
    probs = layer_logits(model, ids, positions).softmax(-1)  # (layers + 1, positions, V)
    top = probs.topk(top_n, dim=-1)
    first = len(ids) - probs.shape[1]
    inputs = token_pieces(tokenizer, ids[first:])
    rows = []
    for layer in range(probs.shape[0]):
        for p in range(probs.shape[1]):
            pieces = token_pieces(tokenizer, top.indices[layer, p].tolist())
            for rank in range(top_n):
                rows.append({"layer": layer, "position": first + p, "input": inputs[p], "rank": rank + 1,
                             "token": pieces[rank], "probability": top.values[layer, p, rank].item()})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- few-shot prompting


@dataclass(frozen=True)
class FewShotTask:
    """A small classification task phrased as text for the model to continue."""

    instruction: str = "Classify the sentiment of each review as positive or negative."
    labels: tuple[str, ...] = ("positive", "negative")
    examples: tuple[tuple[str, str], ...] = ()  # (text, label) demonstrations, used in order
    input_name: str = "Review"
    output_name: str = "Sentiment"


def few_shot_prompt(task: FewShotTask, query: str, shots: int) -> str:
    """The instruction, `shots` worked examples, then the query with its answer left open."""
    if shots > len(task.examples):
        raise LabError(f"only {len(task.examples)} examples to show, {shots} asked for")
    blocks = [task.instruction]
    blocks += [f"{task.input_name}: {text}\n{task.output_name}: {label}" for text, label in task.examples[:shots]]
    blocks.append(f"{task.input_name}: {query.strip()}\n{task.output_name}:")
    return "\n\n".join(blocks)


def chat_prompt(tokenizer, task: FewShotTask, query: str) -> str:
    """The same question in the instruct model's chat format, up to where the assistant answers."""
    if not getattr(tokenizer, "chat_template", None):
        raise LabError("this model has no chat template (it was not instruction-tuned); try SmolLM2-Instruct")
    question = f"{task.instruction} Answer with one word: {' or '.join(task.labels)}.\n\n{task.input_name}: {query.strip()}"
    return tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)


@torch.no_grad()
def answer_logprobs(model, tokenizer, prompt: str, answers: list[str]) -> list[float]:
    """log p(answer | prompt) for each answer (summed over its tokens), in one batched forward pass.

    Prompt and answer are tokenized apart and joined as ids, so every answer follows the same
    prompt tokens. Right padding is harmless: a causal model never looks ahead.
    """
    prompt_ids = prompt_token_ids(tokenizer, prompt)
    answer_ids = [prompt_token_ids(tokenizer, a) for a in answers]
    if not prompt_ids or not all(answer_ids):
        raise LabError("the prompt and every answer need at least one token")
    rows = [prompt_ids + a for a in answer_ids]
    check_prompt(model, max(map(len, rows)))
    width = max(map(len, rows))
    batch = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    logp = model(input_ids=batch, attention_mask=mask).logits.float().log_softmax(-1)
    n = len(prompt_ids)
    return [sum(logp[i, n - 1 + j, t].item() for j, t in enumerate(a)) for i, a in enumerate(answer_ids)]


def answer_probabilities(model, tokenizer, prompt: str, answers: list[str]) -> pd.DataFrame:
    """Each answer's probability under the model, and renormalised over just these answers."""
    logps = answer_logprobs(model, tokenizer, prompt, answers)
    total = torch.tensor(logps).softmax(0).tolist()
    return pd.DataFrame({"answer": answers, "probability": [math.exp(v) for v in logps], "share": total})


OTHER = "any other continuation"  # the probability left over when only the answers' own is counted


def with_the_rest(probs: pd.DataFrame) -> pd.DataFrame:
    """The rows of `compare_prompts` (prompt, label, probability), plus for each prompt the probability the
    model gives to everything but the answers (label OTHER): the raw numbers before renormalising, summing to 1.
    `order` numbers each prompt's rows, answers first (the order a stacked bar draws them in).

    >>> rows = pd.DataFrame({"prompt": ["zero-shot"] * 2, "label": ["positive", "negative"], "probability": [0.03, 0.01]})
    >>> with_the_rest(rows).probability.round(2).tolist()
    [0.03, 0.01, 0.96]
    """
    rest = 1 - probs.groupby("prompt", sort=False).probability.sum()
    other = pd.DataFrame({"prompt": rest.index, "label": OTHER, "probability": rest.clip(lower=0).to_numpy()})
    rows = pd.concat([probs[["prompt", "label", "probability"]], other], ignore_index=True)
    return rows.assign(order=rows.groupby("prompt", sort=False).cumcount())


def label_answers(task: FewShotTask, chat: bool) -> list[str]:
    """How each label is written as a continuation: ' positive' after 'Sentiment:', 'positive' as a chat reply."""
    return [label if chat else " " + label for label in task.labels]


CHAT = "chat template"  # the style that wraps the question in the instruct model's chat format
SHOT_COUNTS = {"zero-shot": 0, "one-shot": 1, "few-shot (4)": 4}


def prompt_styles(task: FewShotTask, tokenizer) -> dict[str, Callable[[str], str]]:
    """Every way to ask: zero-, one- and few-shot (SHOT_COUNTS), and CHAT when the model has a chat template.

    Each maps a query to its prompt: `prompt_styles(task, tokenizer)["one-shot"]("Great film!")`.
    """
    styles = {name: functools.partial(few_shot_prompt, task, shots=k) for name, k in SHOT_COUNTS.items()}
    if getattr(tokenizer, "chat_template", None):
        styles[CHAT] = functools.partial(chat_prompt, tokenizer, task)
    return styles


def compare_prompts(model, tokenizer, task: FewShotTask, query: str) -> tuple[dict[str, str], pd.DataFrame]:
    """Classify `query` with every style of `prompt_styles`: the prompts by style, and one row per
    (prompt, label) with the answer's probability and its share of the labels' probability."""
    prompts = {name: make(query) for name, make in prompt_styles(task, tokenizer).items()}
    frames = [answer_probabilities(model, tokenizer, prompt, label_answers(task, chat=name == CHAT))
              .assign(prompt=name, label=list(task.labels)) for name, prompt in prompts.items()]
    return prompts, pd.concat(frames, ignore_index=True)


def few_shot_accuracy(model, tokenizer, task: FewShotTask, rows: list[tuple[str, str]], make_prompt: Callable[[str], str],
             chat: bool = False, on_step: Callable[[int, dict[str, float]], bool | None] | None = None) -> float:
    """The share of `rows` (text, label) whose label the model finds most likely after make_prompt(text)."""
    if not rows:
        raise LabError("no rows to evaluate")
    answers, correct = label_answers(task, chat), 0
    for i, (text, label) in enumerate(rows, start=1):
        logps = answer_logprobs(model, tokenizer, make_prompt(text), answers)
        correct += task.labels[max(range(len(answers)), key=logps.__getitem__)] == label
        if on_step is not None and on_step(i, {"accuracy": correct / i}) is False:
            return correct / i
    return correct / len(rows)
