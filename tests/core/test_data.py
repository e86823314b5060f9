import re
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.linalg

from core.errors import LabError, Unavailable
from core.infra import data
from core.lm.markov_source import MarkovSource, SourceConfig
from tests.stand_ins import forbid_network

# the default source and a 1,000-context one take seconds to solve by eigenvectors: slow
CONFIGS = [pytest.param(SourceConfig(), marks=pytest.mark.slow), SourceConfig(vocab_size=6, order=1, branching=2, seed=3),
           pytest.param(SourceConfig(vocab_size=10, order=3, branching=2, concentration=0.3, seed=7), marks=pytest.mark.slow)]


@pytest.mark.parametrize("config", CONFIGS)
def test_stationary_distribution_matches_scipys_eigenvector(config):
    src = MarkovSource(config)
    states = src.recurrent_states
    p = src.transition[states][:, states].toarray()
    values, vectors = scipy.linalg.eig(p.T)
    v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    np.testing.assert_allclose(src.stationary[states], v / v.sum(), atol=1e-10)
    np.testing.assert_allclose(src.stationary @ src.transition.toarray(), src.stationary, atol=1e-12)


@pytest.mark.slow  # 300,000 sampled tokens counted in Python
@pytest.mark.parametrize("config", CONFIGS)
def test_entropy_rate_matches_a_long_sample(config):
    """The exact rate vs the plug-in conditional entropy of 300k sampled tokens."""
    src = MarkovSource(config)
    ids = src.sample_ids(300_000, seed=1)
    k = config.order
    grams = Counter(tuple(ids[i : i + k + 1]) for i in range(len(ids) - k))
    contexts = Counter()
    for g, c in grams.items():
        contexts[g[:-1]] += c
    n = sum(grams.values())
    estimate = -sum(c / n * np.log2(c / contexts[g[:-1]]) for g, c in grams.items())
    assert estimate == pytest.approx(src.entropy_rate, abs=0.01)
    assert 0 < src.entropy_rate <= np.log2(config.branching) + 1e-12


def test_only_allowed_successors_are_sampled():
    src = MarkovSource(SourceConfig(vocab_size=8, order=2, branching=2))
    ids = src.sample_ids(5_000)
    for a, b, c in zip(ids, ids[1:], ids[2:]):
        assert c in src.next_words[a * 8 + b]


def test_bad_source_configs_are_refused():
    with pytest.raises(ValueError):
        MarkovSource(SourceConfig(vocab_size=4, branching=5))
    with pytest.raises(ValueError):
        MarkovSource(SourceConfig(order=9))


def test_python_docs_are_real_english():
    text = data.load_text("python-docs")
    words = text.lower().split()
    assert len(text) > 300_000
    assert Counter(words).most_common(1)[0][0] == "the"


def test_uploads_are_decoded_or_refused_with_a_reason():
    assert data.text_from_upload("héllo ✓ wörld".encode()) == "héllo ✓ wörld"
    assert data.text_from_upload(b"\xef\xbb\xbfbom") == "bom"
    for bad, reason in [(b"", "empty"), (b"  \n", "empty"), (b"\xff\xfe\x00a", "not UTF-8"),
                        (b"a\x00b", "binary"), (b"x" * (data.MAX_UPLOAD_BYTES + 1), "limit")]:
        with pytest.raises(LabError, match=reason):
            data.text_from_upload(bad)


def test_a_50_mb_upload_is_refused_naming_the_limit():
    with pytest.raises(LabError, match=r"huge\.txt is 50\.0 MB; the limit is 5 MB"):
        data.text_from_upload(b"x" * 50_000_000, "huge.txt")
    data.text_from_upload(b"x" * data.MAX_UPLOAD_BYTES)  # exactly at the limit is fine


def test_the_upload_widget_and_core_share_one_limit():
    config = tomllib.loads((Path(__file__).parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == data.MAX_UPLOAD_MB == 5


def test_an_uploaded_split_column_is_kept_row_for_row():
    csv = b"text,label,Split\ngood film,pos,train\nbad film,neg,test\nfine film,pos, TEST \nawful,neg,Train\n"
    df = data.labelled_from_upload(csv)
    assert list(df.columns) == ["text", "label", "split"]
    assert dict(zip(df.text, df.split)) == {"good film": "train", "bad film": "test", "fine film": "test", "awful": "train"}
    for bad, shown in [(b"text,label,split\na,x,train\nb,y,validation\n", "'validation'"),
                       (b"text,label,split\na,x,train\nb,y,\n", "''")]:
        with pytest.raises(LabError, match=f"only 'train' or 'test'.*{shown}"):
            data.labelled_from_upload(bad)
    with pytest.raises(LabError, match="no 'test' rows"):
        data.labelled_from_upload(b"text,label,split\na,x,train\nb,y,train\n")
    # blank texts are dropped first: a split whose only test rows are blank is refused, not replaced at random
    with pytest.raises(LabError, match="no 'test' rows"):
        data.labelled_from_upload(b"text,label,split\nok,x,train\nfine,y,train\n  ,y,test\n")
    assert list(data.labelled_from_upload(b"text,label\n  ,x\ngood,y\n").text) == ["good"]


def test_labelled_csv_uploads():
    df = data.labelled_from_upload(b"Text,Label\ngood film,pos\nbad film,neg\n,neg\n")
    assert list(df.columns) == ["text", "label"] and len(df) == 2
    with pytest.raises(LabError, match="needs columns"):
        data.labelled_from_upload(b"sentence,y\nhi,1\n")
    with pytest.raises(LabError, match="not a readable CSV"):
        data.labelled_from_upload(b'text,label\n"unclosed,1\n')


def test_bundled_sentiment_set_is_balanced_with_a_fixed_split():
    df = data.sentiment()
    assert set(df.label) == {"negative", "positive"}
    counts = df.groupby(["split", "label"]).size()
    assert counts["train"]["negative"] == counts["train"]["positive"] >= 200
    assert counts["test"]["negative"] == counts["test"]["positive"] >= 50
    assert not df.text.str.lower().duplicated().any()
    assert len(data.sentiment("test")) == counts["test"].sum()


def test_the_sentiment_splits_and_the_outside_set_share_no_sentence():
    """Held-out accuracy means something only if no test sentence is also a training one, and the check on
    new text (benchmarks/data/sentiment_outside.csv, read by bench_lora.py) only if it is apart from both.
    Sentences count as the same when their words are (case and punctuation aside)."""
    def words(texts):
        return [" ".join(re.findall(r"[a-z0-9']+", t.lower())) for t in texts]

    df = data.sentiment()
    outside = pd.read_csv(Path(__file__).parents[2] / "benchmarks" / "data" / "sentiment_outside.csv")
    train, test, apart = (words(texts) for texts in (df[df.split == "train"].text, df[df.split == "test"].text, outside.text))
    assert len(set(train)) == len(train) and len(set(test)) == len(test) and len(set(apart)) == len(apart)
    assert not set(train) & set(test)
    assert not (set(train) | set(test)) & set(apart)
    assert outside.label.value_counts().to_dict() == {"negative": 50, "positive": 50}


@pytest.mark.parametrize("name", data.POINT_SETS)
def test_point_sets(name):
    x, y = data.points(name, n=300, noise=0.1, seed=1, classes=3)
    assert x.shape == (300, 2) and y.shape == (300,)
    assert np.abs(x).max() < 2
    assert len(set(y)) >= 2
    np.testing.assert_array_equal(data.points(name, n=300, seed=1, classes=3)[1], data.points(name, n=300, seed=1, classes=3)[1])


def test_sklearn_tables():
    x, y, features, classes = data.sklearn_table("iris")
    assert x.shape == (150, 4) and len(features) == 4 and classes == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("key", [k for k, e in data.DATASETS.items() if e.online])
def test_online_datasets_fail_fast_offline(key, monkeypatch):
    monkeypatch.setenv("LLM_LAB_OFFLINE", "1")
    forbid_network(monkeypatch)  # fast because nothing waits on the network
    with pytest.raises(Unavailable, match="out of reach"):
        data.DATASETS[key].loader()
    assert data.availability(key)[0] is False


def test_every_entry_describes_itself():
    for entry in data.DATASETS.values():
        assert entry.title and entry.description and entry.kind in ("text", "labelled-text", "table", "points")
