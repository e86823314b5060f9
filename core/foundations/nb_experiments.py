"""The naive Bayes experiments the lab runs: text sentiment (multinomial) and two numeric features (Gaussian).

Each is a config dataclass and one function returning plain results. The words are counted by
scikit-learn's CountVectorizer (tokenising is not the lesson); the model is core.foundations.naive_bayes.

>>> result = fit_text(TextNBConfig(alpha=1.0), data.sentiment())
>>> result.classes, result.n_train, result.n_test
(['negative', 'positive'], 608, 160)
>>> explain(result, "the pizza was cold and the staff rude").predicted
'negative'
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from core.errors import LabError
from core.foundations.evaluation import confusion_matrix, decision_regions, split_indices
from core.foundations.naive_bayes import MIN_ALPHA, GaussianNaiveBayes, MultinomialNaiveBayes, top_two
from core.infra import data
from core.infra.data import train_test_rows


def _check_classes(labels: pd.Series) -> list[str]:
    classes = sorted(labels.unique().tolist())
    if len(classes) < 2:
        raise LabError(f"a classifier needs at least two classes; this data only has {classes[0]!r}" if classes
                       else "there are no labelled rows")
    return classes


# ----------------------------------------------------------------------------- text


@dataclass(frozen=True)
class TextNBConfig:
    alpha: float = 1.0  # additive smoothing: 1 is Laplace; near 0, an unseen word vetoes a class
    test_size: float | None = None  # None: the data's own train/test split; else the share held out
    ngrams: int = 1  # 1: single words; 2: also word pairs, so "not good" can count as one feature
    seed: int = 0  # the random split


@dataclass
class TextNBResult:
    config: TextNBConfig
    model: MultinomialNaiveBayes
    vectorizer: CountVectorizer
    classes: list[str]
    n_train: int
    n_test: int
    train_accuracy: float
    accuracy: float  # on the held-out rows
    confusion: np.ndarray  # rows: true class, columns: predicted
    test_rows: pd.DataFrame = field(repr=False)  # text, label, predicted, P(predicted)


@dataclass
class WordCounts:
    """The data split and counted once: what fit_text and every model of alpha_sweep share."""
    classes: list[str]
    vectorizer: CountVectorizer
    X_train: sparse.csr_matrix  # (rows, vocabulary) word counts
    y_train: np.ndarray
    X_test: sparse.csr_matrix
    y_test: np.ndarray
    test_text: np.ndarray

    def fit(self, alpha: float) -> MultinomialNaiveBayes:
        return MultinomialNaiveBayes(alpha).fit(self.X_train, self.y_train, classes=np.array(self.classes))


def count_words(config: TextNBConfig, df: pd.DataFrame) -> WordCounts:
    """Split the rows (config.test_size, config.seed) and count the words of both parts (config.ngrams)."""
    classes = _check_classes(df.label)
    own_split = config.test_size is None  # the data's own train/test column, if it has one (else a quarter held out)
    train, test = train_test_rows(df, 0.25 if own_split else config.test_size, config.seed, own_split)
    if len(test) == 0:
        raise LabError("no rows are held out for testing; choose a test share above 0")
    vectorizer = CountVectorizer(ngram_range=(1, config.ngrams))
    try:
        X_train = vectorizer.fit_transform(train.text)
    except ValueError as e:  # "empty vocabulary": the texts have no words of 2+ letters
        raise LabError(f"no words to count in the training texts ({e})") from e
    return WordCounts(classes, vectorizer, X_train, train.label.to_numpy(), vectorizer.transform(test.text),
                      test.label.to_numpy(), test.text.to_numpy())


def share_correct(model, X, y) -> float:
    """The share of rows of X whose predicted class is their label y."""
    return float((model.predict(X) == y).mean())


def fit_text(config: TextNBConfig, df: pd.DataFrame) -> TextNBResult:
    """Count words, fit multinomial naive Bayes on the training rows, score the held-out ones."""
    counts = count_words(config, df)
    model = counts.fit(config.alpha)
    predicted = model.predict(counts.X_test)
    rows = pd.DataFrame({"text": counts.test_text, "label": counts.y_test, "predicted": predicted,
                         "P(predicted)": model.predict_proba(counts.X_test).max(axis=1)})
    return TextNBResult(config, model, counts.vectorizer, counts.classes, len(counts.y_train), len(counts.y_test),
                        share_correct(model, counts.X_train, counts.y_train), float((predicted == counts.y_test).mean()),
                        confusion_matrix(counts.y_test, predicted, counts.classes), rows)


def top_words(result: TextNBResult, n: int = 10) -> pd.DataFrame:
    """Per class, the n words with the largest log-likelihood ratio log P(w | c) - log P(w | not c).

    "not c" pools the other classes' counts (with the same smoothing), so for two classes this is
    simply log P(w | c) - log P(w | the other class).
    """
    model, alpha = result.model, max(result.model.alpha, MIN_ALPHA)
    words = result.vectorizer.get_feature_names_out()
    counts = model.feature_count_
    rows = []
    for i, c in enumerate(result.classes):
        rest = counts.sum(axis=0) - counts[i] + alpha
        llr = model.feature_log_prob_[i] - (np.log(rest) - np.log(rest.sum()))
        for j in np.argsort(-llr, kind="stable")[:n]:
            rows.append({"class": c, "word": words[j], "log-likelihood ratio": llr[j], "count in class": int(counts[i, j])})
    return pd.DataFrame(rows)


@dataclass
class Explanation:
    tokens: pd.DataFrame  # one row per token: word, known, log P(w | c) per class, push (log ratio)
    probabilities: dict[str, float]  # P(c | sentence)
    predicted: str | None  # the most probable class; None when the top two tie (nothing to choose between them)
    leader: str  # the two most probable classes (on a tie, in class order): the pushes compare them
    runner_up: str
    prior_log_ratio: float  # log P(leader) - log P(runner-up): where the sum starts
    all_unknown: bool  # no word was seen in training: the prediction is the prior alone


def explain(result: TextNBResult, sentence: str) -> Explanation:
    """Why the model predicts what it does: each word's push, log P(w | leader) - log P(w | runner-up).

    The leader's log-odds against the runner-up is exactly the prior log-odds plus the sum of the
    pushes (one per occurrence), since naive Bayes multiplies the words' likelihoods.
    """
    if not sentence.strip():
        raise LabError("type a sentence to classify")
    model, vec = result.model, result.vectorizer
    tokens = vec.build_analyzer()(sentence)
    if not tokens:
        raise LabError("the sentence has no words the tokenizer counts (it keeps words of two or more letters)")
    log_proba = model.predict_log_proba(vec.transform([sentence]))[0]
    best, second, tied = top_two(log_proba)
    rows = []
    for t in tokens:
        j = vec.vocabulary_.get(t)
        row = {"word": t, "known": j is not None}
        for i, c in enumerate(result.classes):
            row[f"log P(w | {c})"] = model.feature_log_prob_[i, j] if j is not None else np.nan
        row["push"] = model.feature_log_prob_[best, j] - model.feature_log_prob_[second, j] if j is not None else 0.0
        rows.append(row)
    frame = pd.DataFrame(rows)
    return Explanation(frame, dict(zip(result.classes, np.exp(log_proba).tolist())), None if tied else result.classes[best],
                       result.classes[best], result.classes[second],
                       float(model.class_log_prior_[best] - model.class_log_prior_[second]), not frame.known.any())


SWEEP_ALPHAS = tuple(np.logspace(-4, 1.5, 23))  # 1e-4 … ~32, evenly spaced on a log scale


def alpha_sweep(config: TextNBConfig, df: pd.DataFrame, alphas=SWEEP_ALPHAS) -> pd.DataFrame:
    """Train and held-out accuracy for each smoothing alpha (config.alpha unused): words counted once, one model per alpha."""
    counts = count_words(config, df)
    rows = []
    for a in map(float, alphas):
        model = counts.fit(a)
        rows.append({"alpha": a, "split": "train", "accuracy": share_correct(model, counts.X_train, counts.y_train)})
        rows.append({"alpha": a, "split": "held-out", "accuracy": share_correct(model, counts.X_test, counts.y_test)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class GaussianNBConfig:
    dataset: str = "iris"  # "iris" or "wine" (scikit-learn's bundled tables)
    features: tuple[int, int] = (0, 1)  # the two columns used (iris: sepal length and width, which overlap)
    var_smoothing: float = 1e-9  # share of the largest variance added to every variance
    test_size: float = 0.3
    seed: int = 0
    grid: int = 60  # decision-region tiles per axis (grid x grid predictions)


@dataclass
class GaussianNBResult:
    config: GaussianNBConfig
    model: GaussianNaiveBayes
    feature_names: list[str]
    classes: list[str]
    train_accuracy: float
    accuracy: float
    confusion: np.ndarray
    points: pd.DataFrame  # x, y, class, split, predicted
    surface: pd.DataFrame  # tiles x..x2, y..y2, predicted class and its probability: the decision regions
    parameters: pd.DataFrame  # class, prior, per-feature mean and standard deviation


def fit_gaussian(config: GaussianNBConfig) -> GaussianNBResult:
    """Gaussian naive Bayes on two features of a bundled table, with its decision regions."""
    if config.dataset not in ("iris", "wine"):
        raise LabError(f"choose iris or wine, not {config.dataset!r}")
    X_all, y_all, names, class_names = data.sklearn_table(config.dataset)
    f = list(config.features)
    if len(set(f)) != 2 or not all(0 <= i < X_all.shape[1] for i in f):
        raise LabError("choose two different features")
    X, y = X_all[:, f], np.array(class_names)[y_all]
    parts = split_indices(len(X), config.test_size, seed=config.seed, stratify=y)
    X_tr, X_te, y_tr, y_te = X[parts.train], X[parts.test], y[parts.train], y[parts.test]
    model = GaussianNaiveBayes(config.var_smoothing).fit(X_tr, y_tr, classes=np.array(class_names))
    pred_te = model.predict(X_te)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * (hi - lo)
    surface = decision_regions(model.predict_proba, (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]), config.grid)
    surface["class"] = model.classes_[surface["class"]]
    points = pd.concat([
        pd.DataFrame({"x": X_tr[:, 0], "y": X_tr[:, 1], "class": y_tr, "split": "train", "predicted": model.predict(X_tr)}),
        pd.DataFrame({"x": X_te[:, 0], "y": X_te[:, 1], "class": y_te, "split": "test", "predicted": pred_te})])
    params = pd.DataFrame({"class": class_names, "prior": model.class_prior_,
                           **{f"mean {names[j]}": model.theta_[:, i] for i, j in enumerate(f)},
                           **{f"std {names[j]}": np.sqrt(model.var_[:, i]) for i, j in enumerate(f)}})
    return GaussianNBResult(config, model, [names[i] for i in f], class_names,
                            share_correct(model, X_tr, y_tr), float((pred_te == y_te).mean()),
                            confusion_matrix(y_te, pred_te, class_names), points, surface, params)
