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
