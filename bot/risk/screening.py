"""One screening per message: the pattern detector combined with the trained risk model.

The detector (bot/risk/detector.py) is deterministic and explains itself; the trained
model (bot/risk/classifier.py, built by `make train` from data/risk/train*.yml) catches
phrasings no pattern foresaw. The result is the higher of the two levels, with two
refinements measured by cross-validation on the training data (`make eval-risk
--cross-validate`): the model needs much more certainty to escalate a message the detector
set aside as negated, news, sport, history or a general question; and in a message that
says when, a model signal is acute.

The model never lowers a pattern hit. It used to be allowed to turn an elevated hit into
none when it gave P(none) >= 0.8 (that saved 1.3 points of false escalations in
cross-validation), until it turned out to silence the plainest statements: "min dotter
vill ta livet av sig" and "min son vill åka till syrien" got P(none) 0.96 and 0.91, as short
messages look like the harmless short ones it learnt from. tests/unit/test_risk_screening.py
keeps such plain statements escalated.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import lru_cache

from bot.risk.classifier import ACUTE_THRESHOLD, ELEVATED_THRESHOLD, Prediction, RiskClassifier
from bot.risk.detector import RiskDetector, Screening
from bot.risk.levels import RiskLevel, in_category_order
from bot.settings import Settings, settings

logger = logging.getLogger(__name__)


# What the model needs to overrule a detector that set a signal aside as negated, news,
# sport or history: (P(elevated or acute), P(acute)).
SET_ASIDE_THRESHOLDS = (0.9, 0.8)
# In a message that says when ("ikväll", "biljett", "nu"), this P(elevated or acute) is acute.
IMMINENT_SIGNAL = 0.6


class RiskScreen:
    def __init__(self, detector: RiskDetector, classifier: RiskClassifier | None = None) -> None:
        self.detector = detector
        self.classifier = classifier

    def screen(self, text: str) -> Screening:
        screening = self.detector.screen(text)
        if self.classifier is None or screening.level is RiskLevel.ACUTE:
            return screening
        return combine(screening, self.classifier.predict(text))


def combine(screening: Screening, prediction: Prediction) -> Screening:
    """The detector's level, raised (never lowered) by the model's."""
    probabilities = prediction.probabilities
    level = _model_level(screening, probabilities)
    if level.rank <= screening.level.rank:
        return screening
    return replace(
        screening,
        level=level,
        categories=in_category_order([*screening.categories, *prediction.categories]),
        by_model=True,
    )


def _model_level(screening: Screening, probabilities: dict[str, float]) -> RiskLevel:
    acute = probabilities.get("acute", 0.0)
    signalled = acute + probabilities.get("elevated", 0.0)
    set_aside = bool(screening.set_aside) and screening.level is RiskLevel.NONE
    elevated_at, acute_at = (
        SET_ASIDE_THRESHOLDS if set_aside else (ELEVATED_THRESHOLD, ACUTE_THRESHOLD)
    )
    # A set-aside signal needs its full elevated certainty even when the message says when.
    imminent_at = elevated_at if set_aside else IMMINENT_SIGNAL
    if acute >= acute_at or (screening.imminent and signalled >= imminent_at):
        return RiskLevel.ACUTE
    return RiskLevel.ELEVATED if signalled >= elevated_at else RiskLevel.NONE


@lru_cache(maxsize=1)
def default_screen(config: Settings = settings) -> RiskScreen:
    detector = RiskDetector.from_files(config.spacy_model, config.risk_patterns_file)
    classifier = RiskClassifier.load(config.risk_model_dir)
    if classifier is None:
        logger.warning(
            "No trained risk model in %s: screening with patterns only (run `make train`)",
            config.risk_model_dir,
        )
    return RiskScreen(detector, classifier)
