"""One screening per message: the pattern detector combined with the trained risk model.

The detector (bot/risk/detector.py) is deterministic and explains itself; the trained
model (bot/risk/classifier.py, built by `make train` from data/risk/train*.yml) catches
phrasings no pattern foresaw. The result is the higher of the two levels, except that
the model is not allowed to escalate a message the detector set aside as negated, news,
fiction, sport or a general question: those rules encode what the model cannot see.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import lru_cache

from bot.risk.classifier import Prediction, RiskClassifier
from bot.risk.detector import RiskDetector, Screening
from bot.risk.levels import RiskLevel, in_category_order
from bot.settings import Settings, settings

logger = logging.getLogger(__name__)


class RiskScreen:
    def __init__(self, detector: RiskDetector, classifier: RiskClassifier | None = None) -> None:
        self.detector = detector
        self.classifier = classifier

    def screen(self, text: str) -> Screening:
        screening = self.detector.screen(text)
        if self.classifier is None or screening.level is RiskLevel.ACUTE:
            return screening
        if screening.set_aside and screening.level is RiskLevel.NONE:
            return screening
        return combine(screening, self.classifier.predict(text))


def combine(screening: Screening, prediction: Prediction) -> Screening:
    """The higher level of the two. A model signal in a message that also says when
    ("ikväll", "biljett", "nu") is acute, as it would be for a pattern signal."""
    level = prediction.level
    if level is RiskLevel.ELEVATED and screening.imminent:
        level = RiskLevel.ACUTE
    if level.rank <= screening.level.rank:
        return screening
    return replace(
        screening,
        level=level,
        categories=in_category_order([*screening.categories, *prediction.categories]),
        by_model=True,
    )


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
