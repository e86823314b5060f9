"""The data registry: every corpus and dataset a page may use, offline first.

Each entry has a key, a one-line description for the page, whether it needs the network, and a
loader returning plain Python/NumPy/pandas data. Offline entries are made by the lab or ship with
Python and scikit-learn; online ones use the real `datasets` loading code after a quick network
probe, so offline they fail in seconds with a clear message.

>>> text = load_text("markov")          # synthetic text with a known entropy rate
>>> len(text.split())
20000
>>> DATASETS["python-docs"].description[:28]
"Python's own reference manua"
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from core.errors import LabError, Unavailable
from core.foundations.evaluation import split_indices
from core.infra.network import hub_reachable
from core.lm.analogy_world import analogy_world_text
from core.lm.markov_source import MarkovSource, SourceConfig

ASSETS = Path(__file__).parent / "assets"
# An upload bigger than this is refused with a message, not loaded. .streamlit/config.toml's
# server.maxUploadSize holds the same number, so the widget refuses a far bigger file before Python
# sees it (Streamlit counts MiB: what it lets through between 5 MB and 5 MiB is refused here).
MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1_000_000
SPLITS = ("train", "test")  # the values an uploaded CSV's optional `split` column may hold
# What else an upload may hold, checked here before anything is fitted, and said on the pages. A 208 kB CSV
# with 4,000 classes once took a server from 270 MB to 5.8 GB: a model keeps a row of numbers per class
# for every word (classes × vocabulary), and a confusion chart a cell per pair of classes (classes²).
MAX_CLASSES = 50  # labels of an uploaded labelled set
MAX_ROWS = 50_000  # usable rows of an uploaded CSV (fine-tuning on a CPU could not use more anyway)
MAX_VOCABULARY = 20_000  # distinct words (or word pairs) a bag-of-words model counts: the most frequent ones
LABELLED_LIMITS = f"up to {MAX_UPLOAD_MB} MB, {MAX_ROWS:,} rows and {MAX_CLASSES} classes"
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting with one of these as a formula

Kind = Literal["text", "labelled-text", "table", "points"]


@dataclass(frozen=True)
class DataEntry:
    key: str
    title: str
    kind: Kind
    description: str
    online: bool
    loader: Callable


# ----------------------------------------------------------------------------- text


def markov_text(n_tokens: int = 20_000, seed: int = 0, config: SourceConfig | None = None) -> str:
    """Text from the lab's synthetic Markov source (see core.lm.markov_source; the default SourceConfig
    unless `config`); its entropy rate is exact."""
    return MarkovSource(config or SourceConfig()).sample(n_tokens, seed)


@lru_cache(maxsize=1)
def python_docs_text() -> str:
    """English prose from Python's own reference manual, as shipped in the standard library.

    `pydoc_data.topics` holds the text `help()` shows: ~450 kB of technical English, on every
    machine that has Python, with no download.
    """
    return "\n\n".join(python_docs_sections().values())


@lru_cache(maxsize=1)
def python_docs_sections() -> dict[str, str]:
    """The same manual as `python_docs_text`, one entry per help() topic (79 sections, e.g. 'for', 'lambda')."""
    try:
        from pydoc_data.topics import topics
    except ImportError as e:  # some distributions split pydoc_data into another package
        raise Unavailable("this Python has no pydoc_data module (install your distribution's full Python)") from e
    return {k: topics[k].strip() for k in sorted(topics)}


def text_from_upload(data: bytes, name: str = "upload") -> str:
    """Decode an uploaded text file, refusing what a page can't use with a clear reason."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise LabError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_MB} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LabError(f"{name} is not UTF-8 text (byte {e.start} is 0x{data[e.start]:02x}); save it as UTF-8 and retry") from e
    if "\x00" in text:
        raise LabError(f"{name} looks like a binary file, not text")
    if not text.strip():
        raise LabError(f"{name} is empty")
    return text


def _hub_dataset(*args, **kwargs):
    reach = hub_reachable()
    if not reach.ok:
        raise Unavailable(f"this dataset downloads from the Hugging Face Hub, which is out of reach: {reach.reason}")
    try:
        from datasets import load_dataset
    except ImportError as e:
        raise Unavailable("online datasets need the package datasets: pip install datasets") from e
    return load_dataset(*args, **kwargs)


TINY_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"


def tiny_shakespeare_text() -> str:
    lines = _hub_dataset("text", data_files=TINY_SHAKESPEARE_URL, split="train", sample_by="document")
    return lines[0]["text"]


def wikitext2_text() -> str:
    rows = _hub_dataset("Salesforce/wikitext", "wikitext-2-raw-v1", split="train")
    return "".join(rows["text"])


# ----------------------------------------------------------------------------- labelled text


@lru_cache(maxsize=1)
def _sentiment_frame() -> pd.DataFrame:
    path = ASSETS / "sentiment.csv"
    if not path.exists():
        raise Unavailable(f"the bundled sentiment set is missing ({path})")
    return pd.read_csv(path)


def sentiment(split: Literal["train", "test", "all"] = "all") -> pd.DataFrame:
    """The lab's hand-written sentiment set: columns text, label (negative/positive), split."""
    df = _sentiment_frame()
    return (df if split == "all" else df[df.split == split]).reset_index(drop=True).copy()


def usable_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with both a label and a text that is not blank, as strings (what a classifier learns from).

    >>> usable_rows(pd.DataFrame({"text": ["good", " ", None, "bad"], "label": ["pos", "neg", "pos", None]}))
       text label
    0  good   pos
    """
    df = df.dropna(subset=["text", "label"])
    df = df.assign(text=df.text.astype(str), label=df.label.astype(str))
    return df[df.text.str.strip() != ""].reset_index(drop=True)


def train_test_rows(df: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0,
                    own_split: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and test rows of a labelled frame: its own `split` column when it has one (and
    `own_split`), else a random split stratified by label (core.foundations.evaluation.split_indices).

    >>> df = pd.DataFrame({"text": list("abcdefgh"), "label": ["x", "y"] * 4})
    >>> train, test = train_test_rows(df, test_fraction=0.25)
    >>> len(train), sorted(test.label)                   # each class keeps its share
    (6, ['x', 'y'])
    """
    if own_split and "split" in df.columns:  # labelled_from_upload checked it holds both train and test rows
        return df[df.split == "train"], df[df.split == "test"]
    parts = split_indices(len(df), test_fraction, seed=seed, stratify=df.label.to_numpy())
    return df.iloc[np.sort(parts.train)], df.iloc[np.sort(parts.test)]


def labelled_from_upload(data: bytes, name: str = "upload.csv") -> pd.DataFrame:
    """Read an uploaded CSV with `text` and `label` columns (within MAX_ROWS rows and MAX_CLASSES classes).

    An optional `split` column (train/test, any case) is kept, so a learner's own held-out rows
    stay held out (train_test_rows uses it).
    """
    text = text_from_upload(data, name)
    try:
        df = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, csv.Error) as e:
        raise LabError(f"{name} is not a readable CSV: {str(e).splitlines()[0]}") from e
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = {"text", "label"} - set(df.columns)
    if missing:
        raise LabError(f"{name} needs columns 'text' and 'label'; it has {', '.join(df.columns) or 'none'}")
    df = usable_rows(df)  # blank rows go before the split check, so a marked split survives as marked
    if df.empty:
        raise LabError(f"{name} has no rows with both text and label")
    check_labelled_size(df, name)
    if "split" not in df.columns:
        return df[["text", "label"]].reset_index(drop=True)
    df = df.assign(split=df.split.fillna("").astype(str).str.strip().str.lower())
    bad = sorted(set(df.split) - set(SPLITS))
    if bad:
        raise LabError(f"{name}: the split column may hold only 'train' or 'test' in every row; it also has "
                       + ", ".join(f"'{v}'" for v in bad[:5]))
    missing = [v for v in SPLITS if v not in set(df.split)]
    if missing:
        raise LabError(f"{name}: the split column has no '{missing[0]}' rows; mark some, or drop the column to split at random")
    return df[["text", "label", "split"]].reset_index(drop=True)


def check_labelled_size(df: pd.DataFrame, name: str = "the data") -> None:
    """Refuse labelled rows beyond the lab's limits (MAX_ROWS rows, MAX_CLASSES classes), saying which and why.

    >>> check_labelled_size(pd.DataFrame({"text": ["a"] * 60, "label": [f"c{i}" for i in range(60)]}), "big.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.LabError: big.csv has 60 classes; the lab takes at most 50 (...): merge rare labels, or keep the most common ones
    """
    if len(df) > MAX_ROWS:
        raise LabError(f"{name} has {len(df):,} rows; the lab takes at most {MAX_ROWS:,}: keep a sample")
    classes = df.label.nunique()
    if classes > MAX_CLASSES:
        raise LabError(f"{name} has {classes:,} classes; the lab takes at most {MAX_CLASSES} (a model keeps numbers for every class "
                       "and word, and the charts a cell for every pair of classes): merge rare labels, or keep the most common ones")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` safe to write out as CSV: a text cell that starts with =, +, -, @, a tab or a carriage
    return gets a leading apostrophe, so a spreadsheet shows it as text instead of running it as a formula
    (CSV injection: `=HYPERLINK(...)` in an uploaded file would come back out in the lab's export).

    >>> csv_safe(pd.DataFrame({"text": ["=1+1", "-2 stars", "fine", "@SUM(A1)"], "n": [-1, 2, 3, 4]})).text.tolist()
    ["'=1+1", "'-2 stars", 'fine', "'@SUM(A1)"]
    """
    def cell(v):
        return "'" + v if isinstance(v, str) and v.startswith(CSV_FORMULA_STARTS) else v

    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(cell)
    if out.index.dtype == object:
        out.index = out.index.map(cell)
    out.columns = [cell(c) for c in out.columns]
    return out


def sst2() -> pd.DataFrame:
    rows = _hub_dataset("stanfordnlp/sst2")
    frames = [rows[s].to_pandas().assign(split=s) for s in ("train", "validation")]
    df = pd.concat(frames).rename(columns={"sentence": "text"})
    df["label"] = df.label.map({0: "negative", 1: "positive"})
    df["split"] = df.split.replace({"validation": "test"})
    return df[["text", "label", "split"]].reset_index(drop=True)


def imdb() -> pd.DataFrame:
    rows = _hub_dataset("stanfordnlp/imdb")
    df = pd.concat([rows[s].to_pandas().assign(split=s) for s in ("train", "test")])
    df["label"] = df.label.map({0: "negative", 1: "positive"})
    return df[["text", "label", "split"]].reset_index(drop=True)


# ----------------------------------------------------------------------------- numbers


def sklearn_table(name: Literal["iris", "wine", "digits"]) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """A scikit-learn bundled dataset as (X, y, feature_names, class_names)."""
    from sklearn import datasets

    bunch = {"iris": datasets.load_iris, "wine": datasets.load_wine, "digits": datasets.load_digits}[name]()
    names = [str(n) for n in bunch.target_names]
    return bunch.data, bunch.target, list(bunch.feature_names), names


POINT_SETS = ("circle", "xor", "gaussians", "spiral", "moons")


def points(name: str, n: int = 400, noise: float = 0.1, seed: int = 0, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A generated 2-D classification set (X of shape (n, 2) in about [-1, 1]², integer labels y).

    `classes` is used by gaussians and spiral (2 or more arms/blobs); the others are two-class.
    """
    from sklearn import datasets

    rng = np.random.default_rng(seed)
    if name == "circle":
        x, y = datasets.make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif name == "moons":
        x, y = datasets.make_moons(n, noise=noise, random_state=seed)
        x = (x - [0.5, 0.25]) / 1.5
    elif name == "xor":
        x = rng.uniform(-1, 1, size=(n, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype(int)
        x = x + rng.normal(0, noise, size=x.shape)
    elif name == "gaussians":
        centres = 0.6 * np.stack([np.cos(2 * np.pi * np.arange(classes) / classes), np.sin(2 * np.pi * np.arange(classes) / classes)], 1)
        y = rng.integers(0, classes, n)
        x = centres[y] + rng.normal(0, 0.15 + noise, size=(n, 2))
    elif name == "spiral":
        y = rng.integers(0, classes, n)
        r = rng.uniform(0.05, 1, n)
        theta = 2.5 * np.pi * r + 2 * np.pi * y / classes
        x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + rng.normal(0, noise / 3, size=(n, 2))
    else:
        raise LabError(f"unknown point set '{name}'; choose one of {', '.join(POINT_SETS)}")
    return x.astype(np.float64), y.astype(np.int64)


# ----------------------------------------------------------------------------- the registry


DATASETS: dict[str, DataEntry] = {
    e.key: e
    for e in [
        DataEntry("markov", "Synthetic Markov text", "text",
                  "Words from an order-2 Markov chain the lab generates; its true entropy rate is computed exactly.", False,
                  markov_text),
        DataEntry("python-docs", "Python reference manual (English)", "text",
                  "Python's own reference manual as shipped in the standard library (pydoc_data): ~450 kB of real English.", False,
                  python_docs_text),
        DataEntry("analogy-world", "A toy world with analogies built in", "text",
                  "8,000 generated sentences about kings and queens, countries and capitals, written so that "
                  "king − man + woman = queen holds (core/lm/analogy_world.py).", False, analogy_world_text),
        DataEntry("upload", "Your own text file", "text",
                  f"A UTF-8 text file you upload (up to {MAX_UPLOAD_MB} MB).", False, text_from_upload),
        DataEntry("sentiment", "LLM Lab sentiment set", "labelled-text",
                  "Hand-written positive/negative remarks with negation, contrast and sarcasm; fixed train/test split.", False, sentiment),
        DataEntry("upload-csv", "Your own labelled CSV", "labelled-text",
                  "A CSV you upload with 'text' and 'label' columns and an optional "
                  f"'split' column (train/test), {LABELLED_LIMITS}.", False, labelled_from_upload),
        DataEntry("iris", "Iris flowers", "table", "150 flowers, 4 measurements, 3 species (scikit-learn).", False,
                  lambda: sklearn_table("iris")),
        DataEntry("wine", "Wine", "table", "178 wines, 13 chemical measurements, 3 cultivars (scikit-learn).", False,
                  lambda: sklearn_table("wine")),
        DataEntry("digits", "Handwritten digits", "table", "1,797 8×8 images of digits 0-9 (scikit-learn).", False,
                  lambda: sklearn_table("digits")),
        DataEntry("points", "2-D point sets", "points", "Generated circle, XOR, gaussians, spiral and moons, with noise.", False, points),
        DataEntry("tiny-shakespeare", "Tiny Shakespeare", "text",
                  "1 MB of Shakespeare's plays (Karpathy's char-rnn corpus), via datasets. Online only.", True, tiny_shakespeare_text),
        DataEntry("wikitext-2", "WikiText-2", "text",
                  "Good and featured Wikipedia articles, ~11 MB, via datasets. Online only.", True, wikitext2_text),
        DataEntry("sst2", "SST-2", "labelled-text", "Stanford Sentiment Treebank, movie-review phrases, via datasets. Online only.",
                  True, sst2),
        DataEntry("imdb", "IMDB reviews", "labelled-text", "50,000 movie reviews, via datasets. Online only.", True, imdb),
    ]
}


def load_text(key: str, **kwargs) -> str:
    """Plain text of a text entry (the loaders raise Unavailable with a reason when they can't)."""
    entry = DATASETS[key]
    if entry.kind != "text" or key == "upload":
        raise LabError(f"'{key}' is not a built-in text corpus")
    return entry.loader(**kwargs)


def load_labelled(key: str) -> pd.DataFrame:
    """Rows (text, label, split) of a built-in labelled-text entry (online ones raise Unavailable when out of reach)."""
    entry = DATASETS[key]
    if entry.kind != "labelled-text" or key == "upload-csv":
        raise LabError(f"'{key}' is not a built-in labelled set")
    return entry.loader()


def availability(key: str) -> tuple[bool, str]:
    """Can `key` be loaded here, and why (not)? Probes the network for online entries, loads nothing."""
    entry = DATASETS[key]
    if entry.online:
        reach = hub_reachable()
        return reach.ok, reach.reason
    if key == "sentiment" and not (ASSETS / "sentiment.csv").exists():
        return False, "core/infra/assets/sentiment.csv is missing"
    if key == "python-docs":
        try:
            python_docs_text()
        except Unavailable as e:
            return False, str(e)
    return True, "ships with the lab" if key not in ("upload", "upload-csv") else "needs your file"
