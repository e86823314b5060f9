"""Text as counts: bag-of-words, TF-IDF, and documents compared by the angle between their rows.

A document becomes a row of numbers, one column per term of the vocabulary (the words of
core.lm.word_corpus.tokenize). **Bag-of-words** counts each term; word order is thrown away.
**TF-IDF** scales each count by how rare the term is across the documents, so "the" weighs little
and "refund" a lot; each row is then scaled to length 1 so long documents don't win by length:

    tf(t, d)  = count of t in d                 (sublinear: 1 + ln count)
    idf(t)    = ln((1 + n) / (1 + df(t))) + 1   (smooth)   or   ln(n / df(t)) + 1
    x[d, t]   = tf(t, d) · idf(t),  then x[d] / ‖x[d]‖₂
    cos(d, e) = x[d] · x[e] / (‖x[d]‖ ‖x[e]‖)

n is the number of documents and df(t) how many contain t. These are scikit-learn's
`TfidfVectorizer` formulas and settings; tests/core/test_tfidf.py checks every number against it.

>>> m = fit_tfidf(TfidfConfig(), ["the cat sat", "the dog sat", "the dog barked"])
>>> m.terms
['barked', 'cat', 'dog', 'sat', 'the']
>>> [round(float(v), 3) for v in m.idf]               # ln(4/2)+1 for 'cat' (1 document), ln(4/4)+1 for 'the'
[1.693, 1.693, 1.288, 1.288, 1.0]
>>> nearest_documents(m, 0, k=2)[["document", "cosine"]].round(3).to_dict("list")   # 'the' and 'sat' shared with 1
{'document': [1, 2], 'cosine': [0.544, 0.181]}
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # a maintained list (318 words); not the lesson

from core.errors import LabError
from core.lm.word_corpus import split_sentences, tokenize

MAX_DOCUMENTS = 50_000  # beyond this a page keeps the first ones and says so
LABEL_CHARS = 48  # a document's label on a chart: its first words


@dataclass(frozen=True)
class TfidfConfig:
    lowercase: bool = True  # "The" and "the" are one term
    stop_words: bool = False  # drop scikit-learn's English stop words ("the", "is", "and", ...)
    min_df: int = 1  # keep a term only if at least this many documents contain it
    max_df: float = 1.0  # drop a term found in more than this share of the documents
    use_idf: bool = True  # False: bag-of-words counts (or 1 + ln count), normalised, no rarity weight
    smooth_idf: bool = True  # pretend one extra document contained every term once: no division by zero
    sublinear_tf: bool = False  # 1 + ln(count) instead of the count: the tenth "great" adds less than the first
    norm: Literal["l2", "none"] = "l2"  # scale each document's row to length 1


@dataclass
class DocumentTerms:
    """A document set as a document × term matrix, both as counts and as TF-IDF weights."""

    config: TfidfConfig
    documents: list[str]
    terms: list[str]  # the columns, in alphabetical order (scikit-learn's order)
    counts: sparse.csr_matrix  # (documents, terms) how often each term occurs in each document
    df: np.ndarray  # how many documents contain each term
    idf: np.ndarray  # the rarity weight of each term (all 1 when use_idf is off)
    weights: sparse.csr_matrix = field(repr=False)  # (documents, terms) the TF-IDF rows

    @property
    def index(self) -> dict[str, int]:
        return {t: j for j, t in enumerate(self.terms)}


def analyze(text: str, config: TfidfConfig) -> list[str]:
    """The terms of one document: the lab's tokens, minus stop words if asked (scikit-learn's order of steps)."""
    words = tokenize(text, lowercase=config.lowercase)
    return [w for w in words if w not in ENGLISH_STOP_WORDS] if config.stop_words else words


def count_terms(documents: list[str], config: TfidfConfig) -> tuple[list[str], sparse.csr_matrix]:
    """Bag-of-words: the vocabulary (sorted) and the document × term count matrix, before any pruning."""
    vocabulary: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, doc in enumerate(documents):
        for term, count in Counter(analyze(doc, config)).items():
            rows.append(i)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            vals.append(count)
    terms = sorted(vocabulary)
    order = np.array([vocabulary[t] for t in terms], dtype=np.int64)  # new column of each sorted term
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    counts = sparse.csr_matrix((np.array(vals, dtype=np.int64), (np.array(rows, dtype=np.int64), position[np.array(cols, dtype=np.int64)])),
                               shape=(len(documents), len(terms)))
    return terms, counts


def idf_weights(df: np.ndarray, n_documents: int, smooth: bool = True) -> np.ndarray:
    """ln((1 + n) / (1 + df)) + 1, or ln(n / df) + 1 without smoothing: 1 for a term in every document."""
    n, df = n_documents + int(smooth), df + int(smooth)
    return np.log(n / df) + 1.0


def weigh(counts: sparse.csr_matrix, idf: np.ndarray, config: TfidfConfig) -> sparse.csr_matrix:
    """TF-IDF rows from counts: tf (or 1 + ln tf) times idf, each row scaled to length 1 under the l2 norm."""
    x = counts.astype(np.float64)
    if config.sublinear_tf:
        x.data = 1.0 + np.log(x.data)
    x = x @ sparse.diags(idf)
    if config.norm == "l2":
        length = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        x = sparse.diags(1.0 / np.where(length > 0, length, 1.0)) @ x  # an empty row stays zero
    return sparse.csr_matrix(x)


def fit_tfidf(config: TfidfConfig, documents: list[str]) -> DocumentTerms:
    """Count the terms of every document, keep those within [min_df, max_df], and weigh them."""
    if not documents:
        raise LabError("there are no documents to count")
    if config.min_df < 1 or not 0.0 < config.max_df <= 1.0:
        raise LabError(f"min_df must be at least 1 and max_df in (0, 1] (got {config.min_df}, {config.max_df})")
    terms, counts = count_terms(documents, config)
    df = np.bincount(counts.indices, minlength=len(terms))
    keep = (df >= config.min_df) & (df <= config.max_df * len(documents))
    if not keep.any():
        raise LabError(f"no term is in at least {config.min_df} of the {len(documents)} documents and at most "
                       f"{config.max_df:.0%} of them: lower the minimum or raise the maximum document frequency")
    terms, counts, df = [t for t, k in zip(terms, keep) if k], counts[:, keep], df[keep]
    idf = idf_weights(df, len(documents), config.smooth_idf) if config.use_idf else np.ones(len(terms))
    return DocumentTerms(config, list(documents), terms, sparse.csr_matrix(counts), df, idf, weigh(counts, idf, config))


def transform(model: DocumentTerms, texts: list[str]) -> sparse.csr_matrix:
    """New texts (queries) as rows over the model's terms, with its idf; unknown terms are ignored."""
    index = model.index
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        for term, count in Counter(t for t in analyze(text, model.config) if t in index).items():
            rows.append(i)
            cols.append(index[term])
            vals.append(count)
    counts = sparse.csr_matrix((np.array(vals, dtype=np.int64), (rows, cols)), shape=(len(texts), len(model.terms)))
    return weigh(counts, model.idf, model.config)


def cosine_to_all(model: DocumentTerms, row: sparse.csr_matrix) -> np.ndarray:
    """cos(row, every document); 0 where either vector is all zeros (an angle needs two lengths)."""
    x = model.weights
    dots = np.asarray((x @ row.T).todense()).ravel()
    lengths = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel()) * np.sqrt(row.multiply(row).sum())
    return np.divide(dots, lengths, out=np.zeros_like(dots), where=lengths > 0)


def _ranked(model: DocumentTerms, scores: np.ndarray, k: int, skip: int | None = None) -> pd.DataFrame:
    order = [i for i in np.argsort(-scores, kind="stable") if i != skip][:k]
    return pd.DataFrame({"rank": range(1, len(order) + 1), "document": order, "cosine": scores[order],
                         "text": [model.documents[i] for i in order]})


def nearest_documents(model: DocumentTerms, i: int, k: int = 5) -> pd.DataFrame:
    """The k documents most similar to document i by the cosine of their TF-IDF rows (i itself left out)."""
    if not 0 <= i < len(model.documents):
        raise LabError(f"there is no document {i}; the set has {len(model.documents)}")
    return _ranked(model, cosine_to_all(model, model.weights[i]), k, skip=i)


def search(model: DocumentTerms, query: str, k: int = 5) -> pd.DataFrame:
    """The k documents closest to a typed query. A query with no known term matches nothing: LabError."""
    if not query.strip():
        raise LabError("type a query")
    row = transform(model, [query])
    if row.nnz == 0:
        raise LabError("none of the query's words is a term of these documents, so TF-IDF scores every document 0; "
                       "try other words (meaning-based search below finds neighbours without shared words)")
    return _ranked(model, cosine_to_all(model, row), k)


def top_terms(model: DocumentTerms, rows: list[int], k: int = 20) -> list[str]:
    """The k terms with the largest total weight over the given documents: the columns worth drawing."""
    totals = np.asarray(model.weights[rows].sum(axis=0)).ravel()
    order = np.argsort(-totals, kind="stable")[:k]
    return [model.terms[j] for j in order if totals[j] > 0]


def label(text: str, i: int) -> str:
    """'12 · its first words': a short, unique axis label for document i (the number makes it unique), cut at a space.

    No '…' at the end: on a chart that reads as a label the chart itself cut short (the browser tests flag it), and
    the page lists the whole texts beside the chart.

    >>> label("Great food tour; our guide knew every vendor by name and let us taste everything", 1)
    '1 · Great food tour; our guide knew every vendor by'
    """
    flat = " ".join(text.split())
    if len(flat) <= LABEL_CHARS:
        return f"{i} · {flat}"
    cut = flat.rfind(" ", 0, LABEL_CHARS + 1)
    return f"{i} · {flat[:cut if cut > 0 else LABEL_CHARS].rstrip(' ,;:')}"


def matrix_frame(model: DocumentTerms, rows: list[int], terms: list[str], labels: list[str] | None = None) -> pd.DataFrame:
    """Long (document, term, count, weight) rows of the chosen cells, for a heatmap."""
    index = model.index
    cols = [index[t] for t in terms]
    counts = model.counts[rows][:, cols].toarray()
    weights = model.weights[rows][:, cols].toarray()
    labels = labels or [label(model.documents[i], i) for i in rows]
    return pd.DataFrame({"document": np.repeat(labels, len(cols)), "term": np.tile(terms, len(rows)),
                         "count": counts.ravel(), "weight": weights.ravel()})


# ----------------------------------------------------------------------------- document sets


@dataclass(frozen=True)
class DocumentSet:
    """Documents ready to count, and what was removed on the way (a page says so)."""

    texts: list[str]
    names: list[str]  # one per text: a section title, or the document's number
    empty: int = 0  # documents with no term (blank, or only one-letter words and punctuation)
    duplicates: int = 0  # exact repeats of an earlier document, dropped
    truncated: int = 0  # documents beyond MAX_DOCUMENTS, dropped

    def notes(self) -> list[str]:
        """Plain sentences about what was dropped, for the page to show."""
        notes = []
        if self.empty:
            notes.append(f"{self.empty:,} empty document{'s' * (self.empty > 1)} (no word of two or more letters) left out.")
        if self.duplicates:
            notes.append(f"{self.duplicates:,} duplicate document{'s' * (self.duplicates > 1)} left out (each kept once).")
        if self.truncated:
            notes.append(f"Only the first {MAX_DOCUMENTS:,} documents are used; {self.truncated:,} more left out.")
        return notes


def document_set(texts: list[str], names: list[str] | None = None, max_documents: int = MAX_DOCUMENTS) -> DocumentSet:
    """Drop empty documents and exact duplicates (keeping the first), then keep at most `max_documents`.

    >>> s = document_set(["Good food.", "", "good food.", "Good food.", "!!"])
    >>> s.texts, s.empty, s.duplicates
    (['Good food.', 'good food.'], 2, 1)
    """
    names = names or [str(i) for i in range(len(texts))]
    seen: set[str] = set()
    kept, kept_names, empty, duplicates = [], [], 0, 0
    for text, name in zip(texts, names):
        if not tokenize(text):
            empty += 1
        elif text.strip() in seen:
            duplicates += 1
        else:
            seen.add(text.strip())
            kept.append(text.strip())
            kept_names.append(name)
    if not kept:
        raise LabError("no document has a word of two or more letters or digits")
    return DocumentSet(kept[:max_documents], kept_names[:max_documents], empty, duplicates, max(0, len(kept) - max_documents))


def documents_from_text(text: str, unit: Literal["line", "paragraph", "sentence"] = "line") -> list[str]:
    """Cut an uploaded text into documents: one per line, per blank-line-separated paragraph, or per sentence."""
    if unit == "line":
        return text.splitlines()
    if unit == "paragraph":
        return text.replace("\r\n", "\n").split("\n\n")
    if unit == "sentence":
        return split_sentences(text)
    raise LabError(f"documents are lines, paragraphs or sentences, not {unit!r}")
