"""Our naive Bayes against scikit-learn's MultinomialNB and GaussianNB on the same data."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import GaussianNB, MultinomialNB

from core.errors import LabError
from core.foundations.naive_bayes import GaussianNaiveBayes, MultinomialNaiveBayes, top_two
from core.foundations.nb_experiments import (
    GaussianNBConfig,
    TextNBConfig,
    alpha_sweep,
    explain,
    fit_gaussian,
    fit_text,
    top_words,
    word_pair_hint,
)
from core.infra import data

TOL = 1e-9


def sentiment_counts():
    train, test = data.sentiment("train"), data.sentiment("test")
    vec = CountVectorizer().fit(train.text)
    return vec.transform(train.text), train.label.to_numpy(), vec.transform(test.text)


def random_counts(seed, n=300, v=50, classes=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    rates = rng.gamma(0.5, 1.0, size=(classes, v))
    X = rng.poisson(rates[y] * 0.5)
    return X, y, rng.poisson(rates[rng.integers(0, classes, 80)] * 0.5)


@pytest.mark.parametrize("alpha", [1e-10, 0.01, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("dataset", ["sentiment", "random-0", "random-1", "digits"])
def test_multinomial_matches_sklearn(dataset, alpha):
    if dataset == "sentiment":
        X, y, X_test = sentiment_counts()
    elif dataset == "digits":  # pixel intensities 0..16 are counts too
        X, y, _, _ = data.sklearn_table("digits")
        X, y, X_test = X[:1200], y[:1200], X[1200:]
    else:
        X, y, X_test = random_counts(int(dataset[-1]))
    ours = MultinomialNaiveBayes(alpha=alpha).fit(X, y)
    ref = MultinomialNB(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X_test), ref.predict_proba(X_test), rtol=0, atol=TOL)
    np.testing.assert_allclose(ours.feature_log_prob_, ref.feature_log_prob_, rtol=1e-12)
    np.testing.assert_allclose(ours.class_log_prior_, ref.class_log_prior_, rtol=1e-12)
    np.testing.assert_allclose(ours.class_prior_, np.exp(ref.class_log_prior_), rtol=1e-12)
    assert (ours.predict(X_test) == ref.predict(X_test)).all()


@pytest.mark.parametrize("var_smoothing", [0.0, 1e-9, 1e-3, 0.5])
@pytest.mark.parametrize("dataset", ["iris", "wine", "digits", "gaussians"])
def test_gaussian_matches_sklearn(dataset, var_smoothing):
    if dataset == "gaussians":
        X, y = data.points("gaussians", n=400, noise=0.2, seed=3, classes=4)
    else:
        X, y, _, _ = data.sklearn_table(dataset)
        if dataset == "digits":
            X, y = X[:600], y[:600]
            if var_smoothing == 0.0:  # pixels constant within a class: variance 0, an infinitely sharp bell
                with pytest.raises(LabError, match="zero variance"):
                    GaussianNaiveBayes(var_smoothing=0.0).fit(X, y)
                return
    rng = np.random.default_rng(0)
    X_test = X[rng.permutation(len(X))[:60]] + rng.normal(0, 0.3, size=(60, X.shape[1]))
    ours = GaussianNaiveBayes(var_smoothing=var_smoothing).fit(X, y)
    ref = GaussianNB(var_smoothing=var_smoothing).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X_test), ref.predict_proba(X_test), rtol=0, atol=TOL)
    np.testing.assert_allclose(ours.theta_, ref.theta_, rtol=1e-12)
    np.testing.assert_allclose(ours.var_, ref.var_, rtol=1e-10)
    assert (ours.predict(X_test) == ref.predict(X_test)).all()


def test_string_labels_and_explicit_class_order():
    X = np.array([[3, 0], [0, 3], [2, 1]])
    nb = MultinomialNaiveBayes().fit(X, ["pos", "neg", "pos"], classes=["pos", "neg"])
    assert nb.classes_.tolist() == ["pos", "neg"]
    assert nb.predict(np.array([[0, 5]])).tolist() == ["neg"]
    assert nb.class_count_.tolist() == [2.0, 1.0]


def test_a_class_with_no_examples_is_refused_clearly():
    with pytest.raises(LabError, match="'neutral' has no training examples"):
        MultinomialNaiveBayes().fit(np.eye(2), ["pos", "neg"], classes=["neg", "neutral", "pos"])
    with pytest.raises(LabError, match="no training examples"):
        GaussianNaiveBayes().fit(np.eye(2), [0, 1], classes=[0, 1, 2])


def test_only_unknown_words_fall_back_to_the_prior():
    X = np.array([[3, 0, 0], [0, 3, 0], [2, 1, 0]])
    nb = MultinomialNaiveBayes().fit(X, [1, 0, 1])
    np.testing.assert_allclose(nb.predict_proba(np.zeros((1, 3))), [[1 / 3, 2 / 3]], atol=1e-15)


def test_gaussian_zero_variance_without_smoothing_is_a_clear_error():
    X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    with pytest.raises(LabError, match="zero variance"):
        GaussianNaiveBayes(var_smoothing=0.0).fit(X, [0, 0, 1, 1])


# ----------------------------------------------------------------------------- the page's experiments

def test_text_experiment_matches_an_sklearn_pipeline():
    train, test = data.sentiment("train"), data.sentiment("test")
    vec = CountVectorizer(ngram_range=(1, 2)).fit(train.text)
    ref = MultinomialNB(alpha=0.3).fit(vec.transform(train.text), train.label)
    result = fit_text(TextNBConfig(alpha=0.3, ngrams=2), data.sentiment())
    assert result.accuracy == pytest.approx((ref.predict(vec.transform(test.text)) == test.label).mean(), abs=1e-12)
    assert result.confusion.sum() == len(test)


def test_explanation_pushes_add_up_to_the_log_odds():
    result = fit_text(TextNBConfig(alpha=0.5), data.sentiment())
    why = explain(result, "The food was great but the service was terrible, terrible, terrible.")
    p = why.probabilities
    log_odds = np.log(p[why.predicted]) - np.log(p[why.runner_up])
    assert why.prior_log_ratio + why.tokens.push.sum() == pytest.approx(log_odds, abs=1e-9)
    assert (why.tokens.word == "terrible").sum() == 3  # each occurrence counts


def test_only_unknown_words_on_a_balanced_set_are_a_tie():
    result = fit_text(TextNBConfig(), data.sentiment())
    train = data.sentiment("train")
    assert (train.label == "negative").sum() == (train.label == "positive").sum()  # equal priors
    why = explain(result, "xyzzy qwertyuiop")
    assert why.all_unknown and why.predicted is None
    assert why.probabilities == {"negative": 0.5, "positive": 0.5}
    assert why.prior_log_ratio == 0.0 and why.tokens.push.sum() == 0.0
    # unequal priors: the same words are no tie, and the larger class wins
    lopsided = pd.DataFrame({"text": ["good film", "great film", "fine film", "bad film", "awful film"],
                             "label": ["pos", "pos", "pos", "neg", "neg"], "split": ["train"] * 4 + ["test"]})
    why = explain(fit_text(TextNBConfig(), lopsided), "xyzzy")
    assert why.predicted == "pos" and why.probabilities["pos"] == pytest.approx(3 / 4, abs=1e-12)  # 3 of 4 training rows


def test_top_two_finds_ties_up_to_rounding_only():
    assert top_two(np.log([0.2, 0.5, 0.3])) == (1, 2, False)
    assert top_two(np.log([0.3, 0.35, 0.35])) == (1, 2, True)
    assert top_two(np.array([-0.7, -0.7 - 1e-9])) == (0, 1, False)  # close, but a real difference
    assert top_two(np.array([-0.7 - 1e-15, -0.7])) == (1, 0, True)
    with pytest.raises(LabError, match="two classes"):
        top_two(np.array([0.0]))


def test_top_words_are_the_largest_log_likelihood_ratios():
    result = fit_text(TextNBConfig(alpha=1.0), data.sentiment())
    words = top_words(result, 5)
    flp, vocab = result.model.feature_log_prob_, result.vectorizer.vocabulary_
    neg = words[words["class"] == "negative"]
    llr = flp[0] - flp[1]  # two classes: "not negative" is "positive"
    assert neg["log-likelihood ratio"].tolist() == pytest.approx(sorted(llr, reverse=True)[:5], abs=1e-12)
    assert all(llr[vocab[w]] == pytest.approx(v) for w, v in zip(neg.word, neg["log-likelihood ratio"]))


def test_bad_labelled_data_is_explained():
    one_class = data.labelled_from_upload(b"text,label\nI love it,pos\nGreat stuff,pos\nSo good,pos\n", "one.csv")
    with pytest.raises(LabError, match="at least two classes"):
        fit_text(TextNBConfig(test_size=0.3), one_class)
    # "rare" has one row: the stratified split keeps it for training (rounding its test share down to 0) ...
    lonely = pd.DataFrame({"text": ["good film", "great film", "bad film", "awful film", "odd film"],
                           "label": ["pos", "pos", "neg", "neg", "rare"]})
    for seed in range(5):
        assert "rare" not in fit_text(TextNBConfig(test_size=0.4, seed=seed), lonely).test_rows.label.tolist()
    # ... but the data's own split can hold it out, and then no class model can be fitted for it
    with pytest.raises(LabError, match="class 'rare' has no training examples"):
        fit_text(TextNBConfig(), lonely.assign(split=["train", "test", "train", "test", "test"]))
    with pytest.raises(LabError, match="no words"):
        fit_text(TextNBConfig(test_size=0.5), pd.DataFrame({"text": ["!", "?", "a", "b"], "label": list("xyxy")}))


def test_alpha_sweep_and_gaussian_experiment():
    sweep = alpha_sweep(TextNBConfig(), data.sentiment(), alphas=(0.01, 1.0))
    held_out = sweep.loc[(sweep.alpha == 1.0) & (sweep.split == "held-out"), "accuracy"].item()
    assert held_out == fit_text(TextNBConfig(), data.sentiment()).accuracy
    config = TextNBConfig(test_size=0.3, seed=2, ngrams=2)  # a random split: the sweep must split and count like fit_text
    sweep = alpha_sweep(config, data.sentiment(), alphas=(1e-3, 0.3, 3.0)).set_index(["alpha", "split"]).accuracy
    for a in (1e-3, 0.3, 3.0):
        result = fit_text(replace(config, alpha=a), data.sentiment())
        assert (sweep[a, "train"], sweep[a, "held-out"]) == (result.train_accuracy, result.accuracy)
    result = fit_gaussian(GaussianNBConfig(dataset="iris", features=(2, 3)))
    assert result.accuracy > 0.9 and len(result.surface) == 60 * 60
    with pytest.raises(LabError, match="two different"):
        fit_gaussian(GaussianNBConfig(features=(1, 1)))


@pytest.mark.parametrize("sentence, helps", [("Not bad at all, the staff were friendly but the food was cold.", False),
                                             ("the soup was not good", True)])
def test_word_pair_hint_recommends_pairs_only_when_they_push_the_other_way(sentence, helps):
    df = data.sentiment()
    single, pairs = (fit_text(TextNBConfig(ngrams=n), df) for n in (1, 2))
    hint = word_pair_hint(single, pairs, sentence)
    assert ("try the word-pair features" in hint) == helps
    # the pair's direction, counted by hand from scikit-learn's MultinomialNB on the same features
    from sklearn.naive_bayes import MultinomialNB
    words = pairs.vectorizer.build_analyzer()(sentence)
    pair = next(w for w in words if w.startswith("not "))
    j = pairs.vectorizer.vocabulary_[pair]
    reference = MultinomialNB(alpha=1.0).fit(pairs.vectorizer.transform(df[df.split == "train"].text), df[df.split == "train"].label)
    towards = reference.classes_[np.argmax(reference.feature_log_prob_[:, j])]
    word = pair.split()[1]
    alone = single.classes[int(np.argmax(single.model.feature_log_prob_[:, single.vectorizer.vocabulary_[word]]))]
    assert helps == (towards != alone)
    for result in (single, pairs):  # every probability quoted is the model's own
        for c, p in explain(result, sentence).probabilities.items():
            assert f"{c} {p:.1%}" in hint
