"""Scikit-learn linear models made cheap to ask about one message at a time (issue 21).

A logistic regression scores sparse rows as `X @ coef_.T`. scipy needs the dense operand in
C order and copies it when it is not: for `coef_` of shape (classes, features), `coef_.T`
is not, so every prediction copied the whole coefficient matrix (10 MB for the intent prior,
3.5 MB for the risk level model): 6 % of the Rasa server's CPU in `make bench`'s profile.
Stored in Fortran order, `coef_.T` is C order and nothing is copied; the numbers are the same.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline


def ready_for_single_rows(model):
    """The model (a fitted linear model, or a pipeline ending in one), with its
    coefficients laid out for scoring sparse rows without a copy."""
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if getattr(estimator, "coef_", None) is not None:
        estimator.coef_ = np.asfortranarray(estimator.coef_)
    return model


class OneText:
    """A fitted TF-IDF featurizer (a TfidfVectorizer, or a FeatureUnion of them) and the
    linear model after it, for one text at a time (issue 21). Scikit-learn checks its
    input, builds sparse matrices and sums duplicates on every call: for one short message
    that was nine tenths of the intent prior's time. Here the same analyzer counts the
    same n-grams into the same weights (sublinear TF, IDF, L2 norm) and the model scores
    only the columns the text has; the probabilities are scikit-learn's up to rounding
    (tests/unit/test_linear_models.py). Anything else falls back to scikit-learn."""

    def __init__(self, features) -> None:
        parts = _vectorizers(features)
        self.supported = parts is not None
        self._parts = []
        offset = 0
        for vectorizer in parts or []:
            # idf_ is a property that sums a vocabulary-sized matrix on every read.
            idf = vectorizer.idf_ if vectorizer.use_idf else None
            self._parts.append((vectorizer.build_analyzer(), vectorizer, idf, offset))
            offset += len(vectorizer.vocabulary_)

    def columns(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's non-zero feature columns and their values."""
        indices, values = [], []
        for analyze, vectorizer, idf, offset in self._parts:
            counts: dict[int, int] = {}
            vocabulary = vectorizer.vocabulary_
            for feature in analyze(text):
                column = vocabulary.get(feature)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            weights = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if vectorizer.sublinear_tf:
                weights = np.log(weights) + 1
            if idf is not None:
                weights *= idf[columns]
            if vectorizer.norm == "l2":
                norm = np.sqrt(np.dot(weights, weights))
                if norm > 0:
                    weights /= norm
            indices.append(columns + offset)
            values.append(weights)
        if not indices:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        return np.concatenate(indices), np.concatenate(values)


def probabilities(model, columns: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """LogisticRegression.predict_proba of one row given as (columns, values)."""
    indices, values = columns
    decision = model.coef_[:, indices] @ values + model.intercept_
    if _one_vs_rest(model):
        if decision.shape[0] == 1:
            positive = _expit(decision[0])
            return np.array([1.0 - positive, positive])
        scores = _expit(decision)
        return scores / scores.sum()
    if decision.shape[0] == 1:  # two classes, multinomial: scikit-learn's [-d, d]
        decision = np.array([-decision[0], decision[0]])
    exp = np.exp(decision - decision.max())
    return exp / exp.sum()


def _one_vs_rest(model) -> bool:
    # As LogisticRegression.predict_proba decides between its two formulas.
    return model.multi_class in ("ovr", "warn") or (
        model.multi_class == "auto" and (model.classes_.size <= 2 or model.solver == "liblinear")
    )


def _expit(value):
    return 1.0 / (1.0 + np.exp(-value))


def _vectorizers(features) -> list | None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    parts = [features]
    if isinstance(features, FeatureUnion):
        if features.transformer_weights:
            return None
        parts = [transformer for _, transformer in features.transformer_list]
    for part in parts:
        if (
            type(part) is not TfidfVectorizer
            or part.binary
            or part.norm not in ("l2", None)
            or part.dtype is not np.float64  # scikit-learn would compute in another precision
        ):
            return None
    return parts


class OneTextModel:
    """A fitted pipeline (TF-IDF features, then a logistic regression) asked about one text
    at a time; `predict_proba(text)` is the pipeline's `predict_proba([text])[0]`."""

    def __init__(self, pipeline: Pipeline) -> None:
        from sklearn.linear_model import LogisticRegression

        self.pipeline = ready_for_single_rows(pipeline)
        self.model = pipeline.steps[-1][1]
        self.classes_ = self.model.classes_
        features = pipeline.steps[0][1] if len(pipeline.steps) == 2 else None
        self.features = OneText(features)
        self.supported = self.features.supported and type(self.model) is LogisticRegression

    def predict_proba(self, text: str) -> np.ndarray:
        if not self.supported:
            return self.pipeline.predict_proba([text])[0]
        return probabilities(self.model, self.features.columns(text))
