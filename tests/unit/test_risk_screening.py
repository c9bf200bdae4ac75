"""Patterns combined with the trained risk model (models/risk, built by `make train`)."""

from __future__ import annotations

import pytest

from bot.risk import RiskLevel
from bot.risk.classifier import TRAINING_FILES, Prediction, RiskClassifier, is_current, load_items
from bot.risk.screening import RiskScreen, combine
from tests.support.settings import settings


@pytest.fixture(scope="module")
def model() -> RiskClassifier:
    model = RiskClassifier.load(settings.risk_model_dir)
    assert model is not None, "run `make train` (make test does it)"
    return model


def test_the_trained_model_is_current_with_its_training_data():
    assert is_current(settings.risk_model_dir, TRAINING_FILES)


def test_training_data_is_labelled_with_known_levels_and_categories():
    items = load_items(TRAINING_FILES)
    assert len(items) >= 1000
    for item in items:
        assert item["level"] in {"none", "elevated", "acute"}
        assert bool(item["categories"]) == (item["level"] != "none"), item["text"]


def test_the_model_catches_phrasing_no_pattern_has(detector, model):
    message = "han har sagt upp sig från jobbet och säger att han ska ut och kriga för sina bröder"
    assert model.predict(message).level is not RiskLevel.NONE
    assert RiskScreen(detector, model).screen(message).level is not RiskLevel.NONE


def test_the_model_does_not_escalate_news_the_patterns_set_aside(detector, model):
    message = "vi såg ett reportage på nyheterna om en kille som åkte till syrien"
    assert RiskScreen(detector, model).screen(message).level is RiskLevel.NONE


def _prediction(none: float, elevated: float, acute: float, categories=("attack",)) -> Prediction:
    probabilities = {"none": none, "elevated": elevated, "acute": acute}
    return Prediction(RiskLevel.NONE, categories, probabilities)


def test_a_model_signal_with_a_concrete_step_is_acute(detector):
    screening = detector.screen("han har packat och går hemifrån")
    assert screening.imminent
    raised = combine(screening, _prediction(0.35, 0.6, 0.05))
    assert raised.level is RiskLevel.ACUTE and raised.by_model and raised.categories == ("attack",)


def test_a_model_signal_with_a_time_is_acute_and_a_weak_one_is_asked_about(detector):
    screening = detector.screen("han går hemifrån ikväll")
    assert screening.timed and not screening.imminent
    assert combine(screening, _prediction(0.35, 0.6, 0.05)).level is RiskLevel.ACUTE
    raised = combine(screening, _prediction(0.5, 0.45, 0.05))
    assert raised.level is RiskLevel.ELEVATED and raised.check == ("attack", "third_party")


def test_the_model_alone_is_not_acute_without_a_time_unless_very_sure(detector):
    screening = detector.screen("imorgon ska jag ringa soc")
    assert not screening.timed  # the relative's own plan is not the danger's time
    assert combine(screening, _prediction(0.3, 0.1, 0.6)).level is RiskLevel.ELEVATED
    assert combine(screening, _prediction(0.1, 0.05, 0.85)).level is RiskLevel.ACUTE


def test_an_unsure_model_makes_the_bot_ask(detector):
    screening = detector.screen("han är så konstig hela tiden")
    asked = combine(screening, _prediction(0.5, 0.45, 0.05, categories=("suicide",)))
    assert asked.level is RiskLevel.NONE and asked.check is not None
    assert combine(screening, _prediction(0.7, 0.25, 0.05)).check is None
    # A reply of a few words ("han är 16") is not asked about on the model's doubt.
    short = detector.screen("han är 16")
    assert combine(short, _prediction(0.5, 0.45, 0.05)).check is None


def test_a_weak_model_signal_without_a_time_is_not_an_escalation(detector):
    screening = detector.screen("han går hemifrån efter maten")
    assert not screening.imminent
    assert combine(screening, _prediction(0.35, 0.6, 0.05)).level is RiskLevel.NONE


def test_the_model_needs_more_certainty_to_overrule_a_set_aside_signal(detector):
    screening = detector.screen("vi såg ett reportage om en kille som åkte till syrien")
    assert screening.set_aside and screening.level is RiskLevel.NONE
    assert combine(screening, _prediction(0.2, 0.8, 0.0)).level is RiskLevel.NONE
    assert combine(screening, _prediction(0.05, 0.9, 0.05)).level is RiskLevel.ELEVATED
    # Against a context, "ring 112" on the model's word needs a time in the message too.
    overruled = combine(screening, _prediction(0.05, 0.1, 0.85))
    assert overruled.level is RiskLevel.ELEVATED and overruled.check is not None
    timed = detector.screen("vi såg ett reportage om en kille som åkte till syrien ikväll")
    assert combine(timed, _prediction(0.05, 0.1, 0.85)).level is RiskLevel.ACUTE


def test_the_model_never_lowers_an_elevated_hit(detector):
    screening = detector.screen("min son har skaffat en pistol")
    assert screening.level is RiskLevel.ELEVATED
    kept = combine(screening, _prediction(0.99, 0.01, 0.0))
    assert kept.level is RiskLevel.ELEVATED and kept.categories == ("weapons",)


# The plainest way to say each kind of risk. Short messages like these once looked harmless
# to the model, which was then allowed to overrule the patterns.
PLAIN_STATEMENTS = {
    "min son vill åka till syrien": "travel",
    "min dotter vill ansluta sig till IS": "travel",
    "min bror har en pistol": "weapons",
    "han pratar om att spränga skolan": "attack",
    "min man hotar att döda mig": "threat",
    "min syster ska giftas bort i sommar": "child_at_risk",
    "min dotter vill ta livet av sig": "suicide",
    "min son skär sig": "suicide",
    "gänget rekryterar min lillebror som är 14": "grooming",
}


@pytest.mark.parametrize("message, category", PLAIN_STATEMENTS.items())
def test_a_plain_statement_of_risk_is_escalated(detector, model, message, category):
    screening = RiskScreen(detector, model).screen(message)
    assert screening.level is not RiskLevel.NONE
    assert category in screening.categories


def test_the_model_never_lowers_an_acute_hit(detector, model):
    message = "min son har skaffat en pistol och ska använda den ikväll"
    assert detector.screen(message).level is RiskLevel.ACUTE
    assert RiskScreen(detector, model).screen(message).level is RiskLevel.ACUTE


def test_the_model_is_saved_and_loaded(tmp_path):
    items = load_items(TRAINING_FILES)[:200]
    RiskClassifier.train(items).save(tmp_path, "hash")
    loaded = RiskClassifier.load(tmp_path)
    assert loaded.predict("hej").level in set(RiskLevel)
    assert RiskClassifier.load(tmp_path / "missing") is None


def test_linear_models_score_single_rows_without_copying_their_coefficients():
    """scipy copies a coefficient matrix that is not laid out for `X @ coef_.T` on every
    prediction (issue 21: 10 MB per message for the intent prior)."""
    items = [item for item in load_items(TRAINING_FILES) if item["level"] != "none"][:300]
    items += [item for item in load_items(TRAINING_FILES) if item["level"] == "none"][:300]
    trained = RiskClassifier.train(items)
    for linear in [trained.level_model.steps[-1][1], *trained.category_models.values()]:
        assert linear.coef_.T.flags["C_CONTIGUOUS"]
