"""bot/linear_models.py: one text scored without scikit-learn's per-call overhead gives
scikit-learn's probabilities (issue 21)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from bot.linear_models import OneTextModel
from bot.nlu.prior_regression import regression
from bot.risk.classifier import (
    TRAINING_FILES,
    RiskClassifier,
    load_items,
)
from bot.text import fold
from tests.support.nlu_data import training_examples

# Texts the models never saw, with unknown words, typos, repetition and nothing at all.
UNSEEN = [
    "",
    "   ",
    "xyzzy qwerty",
    "min son min son min son har åkt",
    "kan soc ta mina barn om jag ringer???",
    "han har köpt en biljett till Turkiet och en kniv",
    "hej",
    "😀😀😀",
]


def analysed_examples() -> tuple[list[str], list[str]]:
    """The project's NLU examples as the intent prior reads them (words in place of lemmas)."""
    examples = training_examples()
    texts = [f"{fold(text)}\t{fold(text)}" for _, text in examples]
    return texts, [intent for intent, _ in examples]


def _same(one_text: OneTextModel, pipeline, texts: list[str]) -> None:
    assert one_text.supported
    for text in texts:
        expected = pipeline.predict_proba([text])[0]
        np.testing.assert_allclose(one_text.predict_proba(text), expected, rtol=0, atol=1e-12)


def test_the_intent_prior_regression_gives_scikit_learns_probabilities():
    texts, labels = analysed_examples()
    model = regression(30.0, min_df=2).fit(texts[::10], labels[::10])
    _same(OneTextModel(model), model, texts[1::7][:300] + [f"{t}\t{t}" for t in UNSEEN])


@pytest.mark.parametrize(
    "features",
    [CountVectorizer(), TfidfVectorizer(binary=True), TfidfVectorizer(norm="l1")],
    ids=["counts", "binary", "l1"],
)
def test_any_other_pipeline_is_left_to_scikit_learn(features):
    texts = ["han åker i morgon", "hon mår bra", "de har vapen", "vi pratar ofta"] * 3
    labels = ["a", "b", "c", "b"] * 3
    model = make_pipeline(features, LogisticRegression()).fit(texts, labels)
    one_text = OneTextModel(model)
    assert not one_text.supported
    assert one_text.predict_proba("han åker") == pytest.approx(model.predict_proba(["han åker"])[0])


def test_the_risk_classifier_screens_as_with_scikit_learn():
    """The level model (three classes) and the category models (yes or no: the binary
    formula), each message scored both ways."""
    items = load_items(TRAINING_FILES)
    trained = RiskClassifier.train(items[::20])
    texts = [item["text"] for item in items[1::25]] + UNSEEN

    def screened(text: str) -> tuple:
        scores = {category: score for category, _, score in trained._category_scores(text)}
        return trained.predict(text), scores

    fast = [screened(text) for text in texts]
    trained._level.supported = False
    trained._categories_of_text.supported = False
    slow = [screened(text) for text in texts]
    for text, (quick, quick_scores), (sure, sure_scores) in zip(texts, fast, slow, strict=True):
        assert (quick.level, quick.categories) == (sure.level, sure.categories), text
        assert quick.probabilities == pytest.approx(sure.probabilities, abs=1e-12)
        assert quick_scores.keys() == sure_scores.keys()
        for category, score in quick_scores.items():
            np.testing.assert_allclose(score, sure_scores[category], rtol=0, atol=1e-12)


def test_two_classes_with_the_multinomial_formula_give_scikit_learns_probabilities():
    texts = ["han åker i morgon", "hon mår bra", "de har vapen", "vi pratar ofta"] * 3
    labels = ["a", "b", "a", "b"] * 3
    features = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
    model = make_pipeline(features, LogisticRegression(multi_class="multinomial"))
    model.fit(texts, labels)
    _same(OneTextModel(model), model, ["han har vapen", "vi mår bra", ""])
