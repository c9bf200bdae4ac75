"""The regression behind the intent prior (bot/nlu/intent_prior.py): scikit-learn only, so
that worker processes fitting it import nothing of Rasa."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline


def lemmas_of(analysed: str) -> str:
    return analysed.split("\t", 1)[0]


def folded_of(analysed: str) -> str:
    return analysed.split("\t", 1)[1]


def regression(c: float) -> Pipeline:
    # TF-IDF with sublinear term frequency: a word repeated in a long story counts little
    # more than once, and words found in every intent ("min", "son") weigh less. With a
    # weaker regularisation (C in config.yml) this separated the close topics (police /
    # law / gangs) better than raw counts.
    features = FeatureUnion(
        [
            (
                "lemmas",
                TfidfVectorizer(
                    preprocessor=lemmas_of,
                    token_pattern=r"\S+",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=folded_of,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                ),
            ),
        ]
    )
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    return make_pipeline(features, model)


def fit_with_out_of_fold(
    model: Pipeline, texts: list[str], labels: list[str], folds: int
) -> tuple[Pipeline, np.ndarray]:
    """The regression fitted on everything, and for each text the class probabilities of
    a regression fitted without its fold.

    The fits run one after the other. Side by side on two cores they took 71 s instead of
    150 s (issue 21), but the probabilities then differ in the sixth decimal (each worker
    process sums with one BLAS thread), DIET trains into a different model, and messages
    the test suite pins as unclear flipped; kept as before until those tests stop
    depending on one trained model."""
    splits = StratifiedKFold(folds, shuffle=True, random_state=0)
    predicted = cross_val_predict(model, texts, labels, cv=splits, method="predict_proba")
    return clone(model).fit(texts, labels), predicted
