"""Contextual word vectors and sentence embeddings from a pretrained encoder, and semantic search with them.

word2vec gives "bank" one vector, whatever the sentence. A transformer encoder (here MiniLM, a
6-layer BERT) gives every occurrence its own vector, computed from the whole sentence by attention:
"bank" beside "river" and "bank" beside "account" come out different. A word split into several
word pieces ("embeddings" → em ##bed ##ding ##s) gets the mean of its pieces' vectors.

A **sentence embedding** averages the last layer's token vectors, leaving padding out, and scales
the mean to length 1: the recipe sentence-transformers defines for all-MiniLM-L6-v2 (its
modules.json: Transformer, mean Pooling, Normalize; inputs cut at 256 tokens):

    e = m / ‖m‖,    m = Σ_t mask_t · h_t / Σ_t mask_t

**Semantic search** ranks documents by the cosine between the query's embedding and theirs, which for
unit vectors is a dot product: one (documents × 384) matrix times a vector.

>>> scores = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]) @ np.array([0.8, 0.6])
>>> top_k(scores, 2).tolist()
[1, 0]
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from core.errors import LabError

MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length: longer inputs are cut here, as sentence-transformers does
BATCH_SIZE = 32
MAX_SENTENCES = 20  # sentences compared in one contextual-similarity matrix
MAX_SEARCH_DOCUMENTS = 2_000  # documents a page embeds for search (a few hundred a second on 2 CPU cores)


def _device(encoder) -> torch.device:
    return next(encoder.model.parameters()).device


@torch.inference_mode()
def embed(encoder, texts: list[str], batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS,
          on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Unit-length sentence embeddings (len(texts), hidden size), float32: mean pooling over real tokens, then L2 norm.

    Texts are embedded shortest first (less padding per batch) and returned in the given order.
    `on_batch(done, total)` after each batch, for a progress bar.
    """
    if not texts:
        raise LabError("there is nothing to embed")
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), encoder.model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start:start + batch_size]
        batch = encoder.tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_tokens,
                                  return_tensors="pt").to(_device(encoder))
        hidden = encoder.model(**batch).last_hidden_state  # (batch, tokens, hidden)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out[rows] = torch.nn.functional.normalize(mean, p=2, dim=1).float().cpu().numpy()
        if on_batch is not None:
            on_batch(min(start + batch_size, len(texts)), len(texts))
    return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, largest first (argpartition, then a sort of those k only)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.array([], dtype=np.int64)
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


@dataclass
class SemanticIndex:
    """Documents and their unit embeddings, ready to be searched."""

    texts: list[str]
    embeddings: np.ndarray = field(repr=False)  # (documents, hidden), rows of length 1

    @staticmethod
    def build(encoder, texts: list[str], on_batch: Callable[[int, int], None] | None = None) -> "SemanticIndex":
        return SemanticIndex(list(texts), embed(encoder, list(texts), on_batch=on_batch))

    def scores(self, query_embedding: np.ndarray) -> np.ndarray:
        """cos(query, every document) = E q, for a unit-length query."""
        return self.embeddings @ query_embedding

    def search(self, encoder, query: str, k: int = 5) -> pd.DataFrame:
        """The k documents whose embeddings have the largest cosine with the query's."""
        if not query.strip():
            raise LabError("type a query")
        scores = self.scores(embed(encoder, [query])[0])
        best = top_k(scores, k)
        return pd.DataFrame({"rank": range(1, len(best) + 1), "document": best, "cosine": scores[best],
                             "text": [self.texts[i] for i in best]})


def count_tokens(encoder, text: str) -> int:
    """Word pieces the encoder sees for `text`, [CLS] and [SEP] included (more than MAX_TOKENS: the rest is cut)."""
    return len(encoder.tokenizer(text, truncation=False)["input_ids"])


# ----------------------------------------------------------------------------- the same word in different sentences


@dataclass
class ContextualVectors:
    word: str
    sentences: list[str]  # the sentences that contain the word, in the given order
    labels: list[str]  # a short unique label per occurrence: "2 · …the BANK of the river…"
    vectors: np.ndarray = field(repr=False)  # (layers + 1, occurrences, hidden): layer 0 = embeddings, before any attention
    missing: list[str] = field(default_factory=list)  # given sentences without the word
    dropped: int = 0  # sentences beyond MAX_SENTENCES, left out

    @property
    def n_layers(self) -> int:
        return len(self.vectors) - 1

    def similarity(self, layer: int = -1) -> np.ndarray:
        """cos between every two occurrences' vectors at a layer (-1: the last)."""
        v = self.vectors[layer]
        unit = v / np.linalg.norm(v, axis=1, keepdims=True)
        return unit @ unit.T

    def extremes(self, layer: int = -1) -> tuple[tuple[int, int, float], tuple[int, int, float]]:
        """(i, j, cos) of the most and of the least similar pair of different occurrences at a layer."""
        sim = self.similarity(layer)
        upper = np.triu_indices(len(sim), k=1)
        values = sim[upper]
        hi, lo = int(np.argmax(values)), int(np.argmin(values))
        return (int(upper[0][hi]), int(upper[1][hi]), float(values[hi])), (int(upper[0][lo]), int(upper[1][lo]), float(values[lo]))

    def spread_by_layer(self) -> pd.DataFrame:
        """(layer, mean, min) cosine between different occurrences at each layer: how far context pulls them apart."""
        upper = np.triu_indices(self.vectors.shape[1], k=1)
        rows = [{"layer": layer, "mean": float(self.similarity(layer)[upper].mean()), "min": float(self.similarity(layer)[upper].min())}
                for layer in range(self.n_layers + 1)]
        return pd.DataFrame(rows)


def _snippet(sentence: str, start: int, end: int, width: int = 40) -> str:
    """The word in capitals with up to `width` characters around it, cut at spaces (no half words)."""
    left, right = sentence[:start], sentence[end:]
    if len(left) > width:
        cut = left.find(" ", len(left) - width)
        left = "…" + left[cut + 1:] if cut != -1 else "…"
    if len(right) > width:
        cut = right.rfind(" ", 0, width)
        right = right[:cut] + "…" if cut > 0 else "…"
    return f"{left}{sentence[start:end].upper()}{right}"


@torch.inference_mode()
def contextual_vectors(encoder, word: str, sentences: list[str]) -> ContextualVectors:
    """The vectors of `word` (its first whole-word occurrence, any case) in each sentence, at every layer of the encoder.

    A word cut into several word pieces gets the mean of their vectors; pieces are found by their
    character offsets, so the match does not depend on how the tokenizer splits the word.
    """
    word = " ".join(word.split())
    if not word:
        raise LabError("type a word")
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    given = [" ".join(s.split()) for s in sentences if s.strip()]
    dropped = max(0, len(given) - MAX_SENTENCES)
    kept, labels, vectors, missing = [], [], [], []
    for sentence in given[:MAX_SENTENCES]:
        match = pattern.search(sentence)
        if match is None:
            missing.append(sentence)
            continue
        enc = encoder.tokenizer(sentence, return_offsets_mapping=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        spans = enc.pop("offset_mapping")[0].tolist()
        pieces = [t for t, (a, b) in enumerate(spans) if b > a and a < match.end() and b > match.start()]
        if not pieces:  # the word lies beyond the first MAX_TOKENS pieces
            missing.append(sentence)
            continue
        hidden = encoder.model(**enc.to(_device(encoder)), output_hidden_states=True).hidden_states  # layers + 1 of (1, tokens, hidden)
        vectors.append(torch.stack([h[0, pieces].mean(0) for h in hidden]).float().cpu().numpy())
        labels.append(f"{len(kept) + 1} · {_snippet(sentence, match.start(), match.end())}")
        kept.append(sentence)
    if len(kept) < 2:
        raise LabError(f"'{word[:60]}' must occur (as a whole word) in at least two of the sentences to compare its vectors; "
                       f"it occurs in {len(kept)}")
    return ContextualVectors(word, kept, labels, np.stack(vectors, axis=1), missing, dropped)
