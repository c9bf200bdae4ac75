"""Stacking for DIET: intent probabilities of a logistic regression as dense features.

DIET receives the sparse lemma and character n-gram features (config.yml) and, from this
component, one dense sentence feature per intent: the probabilities that a logistic
regression over the same kinds of n-grams gives. A linear model generalises well from a
few thousand short examples; DIET learns when to trust it.

The probabilities DIET trains on are out-of-fold: each training message gets the
prediction of a regression fitted without it (5-fold cross-validation inside training),
so DIET learns how reliable the regression is on messages it has not seen, not on ones it
has memorised. At inference the regression fitted on all training data is used.

Usage in config.yml, after the tokenizer and before DIETClassifier:

    - name: bot.nlu.intent_prior.IntentPriorFeaturizer
"""

from __future__ import annotations

import hashlib
from typing import Any

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.pipeline import Pipeline

from bot.linear_models import OneTextModel, ready_for_single_rows
from bot.nlu.prior_regression import fit_with_out_of_fold, regression
from bot.text import fold

MODEL_FILE = "intent_prior.joblib"


def _analysed(message: Message) -> str:
    """Lemmas (for the word n-grams) and the folded text (for the character n-grams)."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    lemmas = " ".join(fold(token.lemma or token.text) for token in tokens)
    return f"{lemmas}\t{fold(message.get(TEXT) or '')}"


def _key(analysed: str) -> str:
    return hashlib.sha256(analysed.encode()).hexdigest()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class IntentPriorFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # workers: processes fitting the regressions side by side (training only).
        return {
            **DenseFeaturizer.get_default_config(),
            "folds": 5,
            "C": 30.0,
            "min_df": 1,
            "workers": 2,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        regression: Pipeline | None = None,
        out_of_fold: dict[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(self.__class__.__name__, config)
        self._model_storage = model_storage
        self._resource = resource
        self.regression = regression
        self.out_of_fold = out_of_fold or {}
        # The regression asked about one message at a time without scikit-learn's overhead.
        self._one_text = OneTextModel(regression) if regression is not None else None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentPriorFeaturizer:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [_analysed(m) for m in examples]
        labels = [m.get(INTENT) for m in examples]
        fitted, predicted = fit_with_out_of_fold(
            regression(self._config["C"], self._config["min_df"]),
            texts,
            labels,
            self._config["folds"],
            self._config["workers"],
        )
        self.regression = ready_for_single_rows(fitted)
        self._one_text = OneTextModel(self.regression)
        self.out_of_fold = {_key(text): row for text, row in zip(texts, predicted, strict=True)}
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(
                {"regression": self.regression, "out_of_fold": self.out_of_fold},
                directory / MODEL_FILE,
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> IntentPriorFeaturizer:
        try:
            with model_storage.read_from(resource) as directory:
                stored = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            return cls(config, model_storage, resource)
        regression = ready_for_single_rows(stored["regression"])
        return cls(config, model_storage, resource, regression, stored["out_of_fold"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._add_features(message, use_out_of_fold=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._add_features(message, use_out_of_fold=False)
        return messages

    def _add_features(self, message: Message, use_out_of_fold: bool) -> None:
        if self.regression is None or not message.get(TEXT) or not message.get(TOKENS_NAMES[TEXT]):
            return
        analysed = _analysed(message)
        probabilities = self.out_of_fold.get(_key(analysed)) if use_out_of_fold else None
        if probabilities is None:
            probabilities = self._one_text.predict_proba(analysed)
        sentence = np.asarray([probabilities], dtype=np.float32)
        tokens = message.get(TOKENS_NAMES[TEXT])
        # DIET expects sequence and sentence features from every dense featurizer; the
        # probabilities describe the whole message, so every token gets the same row.
        sequence = np.repeat(sentence, len(tokens), axis=0)
        origin = self._identifier
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, origin))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, origin))

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("folds", 5)) < 2:
            raise ValueError("IntentPriorFeaturizer: folds must be at least 2")
