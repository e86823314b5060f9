"""The rows a fine-tuning run learns from: checked train/test frames, an upload's split, a sample of a big set.

Cleaning and splitting are the data registry's (core.infra.data.usable_rows, train_test_rows); this
module adds what fine-tuning asks of them: at least two classes, no test label the training rows never
show, and few enough rows for a CPU.

>>> tr = pd.DataFrame({"text": ["good", "bad", " "], "label": ["pos", "neg", "pos"]})
>>> prepare(tr, tr)[2]
['neg', 'pos']
"""

import pandas as pd

from core.errors import LabError
from core.infra.data import MAX_CLASSES, MAX_ROWS, train_test_rows, usable_rows

# MAX_ROWS: more would take hours on a CPU (and is the upload limit too); MAX_CLASSES: the lab's limit on classes


def prepare(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Check a train/test pair of (text, label) frames; return their usable rows and the class names."""
    frames = []
    for name, df in (("training", train), ("test", test)):
        if not {"text", "label"} <= set(df.columns):
            raise LabError(f"the {name} data needs columns 'text' and 'label'; it has {', '.join(map(str, df.columns))}")
        df = usable_rows(df)
        if df.empty:
            raise LabError(f"the {name} data has no rows with both a text and a label")
        if len(df) > MAX_ROWS:
            raise LabError(f"the {name} data has {len(df):,} rows; on a CPU keep it under {MAX_ROWS:,} (sample it first)")
        frames.append(df[["text", "label"]])
    train, test = frames
    labels = sorted(train.label.unique())
    if len(labels) < 2:
        raise LabError(f"the training data has a single class ('{labels[0]}'); a classifier needs at least two")
    if len(labels) > MAX_CLASSES:
        raise LabError(f"the training data has {len(labels):,} classes; the lab takes at most {MAX_CLASSES}")
    unseen = sorted(set(test.label) - set(labels))
    if unseen:
        raise LabError(f"the test data has labels the training data never shows: {', '.join(unseen[:5])}")
    return train, test, labels


def split_upload(df: pd.DataFrame, test_fraction: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test from one labelled frame's usable rows: its own `split` column if it has one, else a
    split stratified by label."""
    return train_test_rows(usable_rows(df), test_fraction, seed)


def sample_rows(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """At most `n` rows of `df`, drawn at random (all of them when it is small enough).

    >>> len(sample_rows(pd.DataFrame({"text": list("abcdef")}), 4))
    4
    """
    return df if len(df) <= n else df.sample(n, random_state=seed).reset_index(drop=True)
