"""The regression behind the intent prior (bot/nlu/intent_prior.py): scikit-learn only, so
that worker processes fitting it import nothing of Rasa."""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline


def lemmas_of(analysed: str) -> str:
    return analysed.split("\t", 1)[0]


def folded_of(analysed: str) -> str:
    return analysed.split("\t", 1)[1]


def regression(c: float, min_df: int = 1) -> Pipeline:
    # TF-IDF with sublinear term frequency: a word repeated in a long story counts little
    # more than once, and words found in every intent ("min", "son") weigh less. With a
    # weaker regularisation (C in config.yml) this separated the close topics (police /
    # law / gangs) better than raw counts. min_df drops n-grams of a single example: they
    # teach nothing about other messages, and half the features cost half the fitting.
    features = FeatureUnion(
        [
            (
                "lemmas",
                TfidfVectorizer(
                    preprocessor=lemmas_of,
                    token_pattern=r"\S+",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=min_df,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=folded_of,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    min_df=min_df,
                ),
            ),
        ]
    )
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    return make_pipeline(features, model)


def fit_with_out_of_fold(
    model: Pipeline, texts: list[str], labels: list[str], folds: int, workers: int = 1
) -> tuple[Pipeline, np.ndarray]:
    """The regression fitted on everything, and for each text the class probabilities of
    a regression fitted without its fold.

    The folds' fits and the whole fit run side by side in `workers` processes: scipy's
    L-BFGS-B and the sparse products it calls use one core each, so two workers halve the
    time on two cores. Sums then run on one BLAS thread per worker, so the probabilities
    can differ in the sixth decimal from a fit in one process; the same worker count on
    the same machine gives the same model."""
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, labels))
    texts_array = np.asarray(texts, dtype=object)
    labels_array = np.asarray(labels, dtype=object)
    fits = Parallel(n_jobs=workers)(
        delayed(_fit)(clone(model), list(texts_array[rows]), list(labels_array[rows]))
        for rows in [*(train for train, _ in splits), np.arange(len(texts))]
    )
    *fold_models, fitted = fits
    predicted = np.zeros((len(texts), len(fitted.classes_)))
    for fold_model, (_, held_out) in zip(fold_models, splits, strict=True):
        predicted[held_out] = _probabilities_in(fold_model, list(texts_array[held_out]), fitted)
    return fitted, predicted


def _fit(model: Pipeline, texts: list[str], labels: list[str]) -> Pipeline:
    return model.fit(texts, labels)


def _probabilities_in(fold_model: Pipeline, texts: list[str], fitted: Pipeline) -> np.ndarray:
    """The fold model's probabilities in the columns of the whole fit's classes (a fold
    can miss a rare class; stratified folds of 5 never did here, but a class lost in one
    fold must get probability 0, not shift the columns)."""
    columns = np.searchsorted(fitted.classes_, fold_model.classes_)
    probabilities = np.zeros((len(texts), len(fitted.classes_)))
    probabilities[:, columns] = fold_model.predict_proba(texts)
    return probabilities
