"""The stacking featurizer: out-of-fold probabilities in training, the full model after."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_prior import IntentPriorFeaturizer

EXAMPLES = {
    "weather": [
        "hur blir vädret",
        "regnar det imorgon",
        "blir det sol",
        "vädret i helgen",
        "kallt ute idag",
    ],
    "police": [
        "vad gör polisen",
        "ringer polisen",
        "blir han gripen",
        "tips till polisen",
        "åtal för det",
    ],
    "social": [
        "vad gör soc",
        "ringa socialtjänsten",
        "soc utredning",
        "orosanmälan till soc",
        "soc hembesök",
    ],
}


def message(text: str, intent: str | None = None) -> Message:
    words = text.split()
    tokens, position = [], 0
    for word in words:
        tokens.append(Token(word, position, lemma=word))
        position += len(word) + 1
    data = {TEXT: text, TOKENS_NAMES[TEXT]: tokens}
    if intent:
        data[INTENT] = intent
    return Message(data=data)


@pytest.fixture
def featurizer(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intent_prior")
    context = ExecutionContext(node_name="intent_prior", graph_schema=None)
    config = {**IntentPriorFeaturizer.get_default_config(), "folds": 2}
    component = IntentPriorFeaturizer.create(config, storage, resource, context)
    return component, config, storage, resource, context


def training_data() -> TrainingData:
    return TrainingData(
        [message(text, intent) for intent, texts in EXAMPLES.items() for text in texts]
    )


def sentence_features(msg: Message) -> np.ndarray:
    _, sentence = msg.get_dense_features(TEXT)
    return sentence.features


def test_training_messages_get_out_of_fold_probabilities(featurizer):
    component, config, storage, resource, context = featurizer
    data = training_data()
    component.train(data)
    loaded = IntentPriorFeaturizer.load(config, storage, resource, context)
    loaded.process_training_data(data)
    first = data.training_examples[0]
    out_of_fold = sentence_features(first)[0]
    assert out_of_fold.shape == (3,) and abs(out_of_fold.sum() - 1) < 1e-5
    # The model fitted on everything has seen this message and is surer of it.
    seen = loaded.regression.predict_proba([loaded_analysed(first)])[0]
    assert not np.allclose(out_of_fold, seen)


def loaded_analysed(msg: Message) -> str:
    from bot.nlu.intent_prior import _analysed

    return _analysed(msg)


def test_new_messages_get_the_full_models_probabilities(featurizer):
    component, config, storage, resource, context = featurizer
    component.train(training_data())
    loaded = IntentPriorFeaturizer.load(config, storage, resource, context)
    [new] = loaded.process([message("vad gör polisen med ett tips")])
    sentence = sentence_features(new)[0]
    classes = list(loaded.regression.classes_)
    assert classes[int(np.argmax(sentence))] == "police"
    sequence, _ = new.get_dense_features(TEXT)
    assert sequence.features.shape == (6, 3)


def test_without_a_trained_model_nothing_is_added(featurizer):
    _, config, storage, _, context = featurizer
    empty = IntentPriorFeaturizer.load(config, storage, Resource("missing"), context)
    [msg] = empty.process([message("hej")])
    assert msg.get_dense_features(TEXT) == (None, None)


def corpus() -> tuple[list[str], list[str]]:
    texts = [f"{text}\t{text}" for texts in EXAMPLES.values() for text in texts]
    labels = [intent for intent, texts in EXAMPLES.items() for _ in texts]
    return texts, labels


def test_the_fits_side_by_side_give_each_text_its_folds_probabilities():
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from bot.nlu.prior_regression import fit_with_out_of_fold, regression

    texts, labels = corpus()
    fitted, predicted = fit_with_out_of_fold(regression(30.0), texts, labels, 2, workers=2)
    folds = StratifiedKFold(2, shuffle=True, random_state=0)
    expected = cross_val_predict(regression(30.0), texts, labels, cv=folds, method="predict_proba")
    assert np.allclose(predicted, expected, atol=1e-5)
    assert list(fitted.classes_) == sorted(EXAMPLES)


def test_a_class_missing_from_a_fold_gets_probability_zero_in_its_column():
    from bot.nlu.prior_regression import _probabilities_in, regression

    texts, labels = corpus()
    whole = regression(30.0).fit(texts, labels)
    without_police = [i for i, label in enumerate(labels) if label != "police"]
    fold = regression(30.0).fit(
        [texts[i] for i in without_police], [labels[i] for i in without_police]
    )
    probabilities = _probabilities_in(fold, texts[:1], whole)
    police = list(whole.classes_).index("police")
    assert probabilities[0, police] == 0 and abs(probabilities[0].sum() - 1) < 1e-9
    assert np.allclose(np.delete(probabilities[0], police), fold.predict_proba(texts[:1])[0])


def test_n_grams_of_a_single_example_are_dropped_with_min_df_two():
    from bot.nlu.prior_regression import regression

    texts, labels = corpus()
    every = regression(30.0).fit(texts, labels).steps[0][1].transform(texts).shape[1]
    shared = regression(30.0, min_df=2).fit(texts, labels).steps[0][1].transform(texts).shape[1]
    assert 0 < shared < every
