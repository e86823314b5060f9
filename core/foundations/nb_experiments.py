"""The naive Bayes experiments the lab runs: text sentiment (multinomial) and two numeric features (Gaussian).

Each is a config dataclass and one function returning plain results. The words are counted by
scikit-learn's CountVectorizer (tokenising is not the lesson); the model is core.foundations.naive_bayes.

>>> result = fit_text(TextNBConfig(alpha=1.0), data.sentiment())
>>> result.classes, result.n_train, result.n_test
(['negative', 'positive'], 850, 240)
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
from core.infra.data import MAX_CLASSES, MAX_VOCABULARY, train_test_rows


def _check_classes(labels: pd.Series) -> list[str]:
    classes = sorted(labels.unique().tolist())
    if len(classes) < 2:
        raise LabError(f"a classifier needs at least two classes; this data only has {classes[0]!r}" if classes
                       else "there are no labelled rows")
    if len(classes) > MAX_CLASSES:  # the model is classes × vocabulary numbers: refused before counting a word
        raise LabError(f"this data has {len(classes):,} classes; naive Bayes here takes at most {MAX_CLASSES}")
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
    vectorizer = CountVectorizer(ngram_range=(1, config.ngrams), max_features=MAX_VOCABULARY)  # the most frequent ones
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
    tokens: pd.DataFrame  # one row per token: word, known, log P(w | c) per class, push (log ratio), towards (which class)
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
        row["towards"] = (result.classes[best] if row["push"] > 0 else result.classes[second]) if row["push"] else "(none)"
        rows.append(row)
    frame = pd.DataFrame(rows)
    return Explanation(frame, dict(zip(result.classes, np.exp(log_proba).tolist())), None if tied else result.classes[best],
                       result.classes[best], result.classes[second],
                       float(model.class_log_prior_[best] - model.class_log_prior_[second]), not frame.known.any())


NEGATIONS = frozenset({"not", "no", "never", "hardly", "nothing", "isn", "wasn", "don", "didn", "doesn"})  # "isn't" → "isn"


def favoured(result: TextNBResult, feature: str) -> str | None:
    """The class whose P(feature | c) is largest: where the feature pushes a prediction (None if never seen in training)."""
    j = result.vectorizer.vocabulary_.get(feature)
    return None if j is None else result.classes[int(np.argmax(result.model.feature_log_prob_[:, j]))]


def training_counts(result: TextNBResult, feature: str) -> dict[str, int]:
    """How often `feature` (a word or a word pair) occurred in each class's training rows."""
    j = result.vectorizer.vocabulary_.get(feature)
    return {c: 0 if j is None else int(result.model.feature_count_[i, j]) for i, c in enumerate(result.classes)}


def _shares(probabilities: dict[str, float]) -> str:
    return ", ".join(f"{c} {p:.1%}" for c, p in probabilities.items())


def word_pair_hint(single: TextNBResult, pairs: TextNBResult, sentence: str) -> str:
    """What word-pair features do to this sentence, computed from both models, never assumed.

    The hint a learner expects, "count 'not bad' as one feature and it reads as praise", holds only if the
    training rows taught the pair to push the other way from the word; with few examples they often did not.

    >>> df = pd.DataFrame({"text": ["not bad at all", "not bad really", "bad food", "bad service", "good food", "good staff"] * 4,
    ...                    "label": ["pos", "pos", "neg", "neg", "pos", "pos"] * 4})
    >>> single, pairs = (fit_text(TextNBConfig(ngrams=n, test_size=0.25), df) for n in (1, 2))
    >>> word_pair_hint(single, pairs, "not bad")[:106]
    'Single words count on their own, so "not bad" is "not" plus "bad", and "bad" on its own pushes towards neg'
    """
    p1 = explain(single, sentence).probabilities
    p2 = explain(pairs, sentence).probabilities
    after = f"with word pairs the probabilities are {_shares(p2)}, against {_shares(p1)} with single words"
    words = single.vectorizer.build_analyzer()(sentence)
    negated = [(a, b) for a, b in zip(words, words[1:]) if a in NEGATIONS and b not in NEGATIONS and favoured(single, b)]
    if not negated:
        return f"Each word counts on its own; {after}."
    neg, word = negated[0]
    pair, alone, together = f"{neg} {word}", favoured(single, word), favoured(pairs, f"{neg} {word}")
    start = (f"Single words count on their own, so \"{pair}\" is \"{neg}\" plus \"{word}\", "
             f"and \"{word}\" on its own pushes towards {alone}. ")
    if together is None:
        return start + f"The pair \"{pair}\" never occurs in the training rows, so word pairs can't help here: {after}."
    seen = ", ".join(f"{n} in {c}" for c, n in training_counts(pairs, pair).items())
    if together != alone:
        return (start + f"With word pairs, \"{pair}\" is one feature of its own, and the training rows ({seen}) taught it to push "
                f"towards {together}: try the word-pair features ({after}).")
    rare = " A pair seen this rarely is a weak guide." if sum(training_counts(pairs, pair).values()) < 5 else ""
    return (start + f"With word pairs, \"{pair}\" is one feature of its own, but the training rows hold it {seen}, so it pushes "
            f"towards {together}, the same way as \"{word}\" alone: word pairs don't turn it around here ({after}).{rare}")


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
