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

from bot.risk.classifier import ACUTE_THRESHOLD, ELEVATED_THRESHOLD, Prediction, RiskClassifier
from bot.risk.detector import RiskDetector, Screening
from bot.risk.levels import RiskLevel, in_category_order, in_subject_order
from bot.settings import Settings

logger = logging.getLogger(__name__)


# What the model needs to overrule a detector that set a signal aside as negated, news,
# sport or history: (P(elevated or acute), P(acute)).
SET_ASIDE_THRESHOLDS = (0.9, 0.8)
# In a message with a concrete step ("biljett", "på väg"), this P(elevated or acute) is acute.
IMMINENT_SIGNAL = 0.6
# P(acute) at which the model alone, with no time or step in the message, means acute.
SURE_ACUTE = 0.8
# Between "clearly none" and "clearly a signal": the bot asks (a safety check).
CHECK_SIGNAL = 0.45
# A model in doubt about a message this short ("han är 16", an answer to another question)
# is no reason to ask: short signals are the patterns' work.
CHECK_MIN_WORDS = 4
# ...and in a message the patterns set aside or that names a context.
EXPLAINED_CHECK = 0.9


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
    """The detector's level, raised (never lowered) by the model's; a safety check when
    the model is unsure, or sure of a signal but not of its time."""
    probabilities = prediction.probabilities
    top = prediction.categories[0] if prediction.categories else None
    level, check_time = _model_level(screening, probabilities, _explained(screening, top))
    if level.rank <= screening.level.rank:
        if screening.level is RiskLevel.NONE and screening.check is None:
            return _maybe_check(screening, prediction)
        return screening
    categories = in_category_order([*screening.categories, *prediction.categories])
    hints = screening.subject_hints
    subjects = in_subject_order(
        [*screening.subjects, *(hints.get(category, "person") for category in categories)]
    )
    check = screening.check
    if check_time and check is None and categories:
        check = (categories[0], hints.get(categories[0], "person"))
    return replace(
        screening,
        level=level,
        categories=categories,
        subjects=subjects,
        by_model=True,
        check=check,
    )


def _maybe_check(screening: Screening, prediction: Prediction) -> Screening:
    """No signal, but the model is not sure: ask rather than decide."""
    signalled = prediction.probabilities.get("acute", 0.0) + prediction.probabilities.get(
        "elevated", 0.0
    )
    if not prediction.categories or screening.words < CHECK_MIN_WORDS:
        return screening
    category = prediction.categories[0]
    needed = EXPLAINED_CHECK if _explained(screening, category) else CHECK_SIGNAL
    if signalled < needed:
        return screening
    return replace(screening, check=(category, screening.subject_hints.get(category, "person")))


def _explained(screening: Screening, category: str | None) -> bool:
    """The patterns set a signal aside, or the message names a context that explains the
    model's category (sport, a joke; a family visit for travel): the model alone does not
    overrule that with "ring 112"."""
    if screening.level is not RiskLevel.NONE:
        return False
    return bool(screening.set_aside) or category in screening.explained


def _model_level(
    screening: Screening, probabilities: dict[str, float], explained: bool
) -> tuple[RiskLevel, bool]:
    """The model's level, and whether it saw a signal but not when (then the bot asks
    whether something can happen soon)."""
    acute = probabilities.get("acute", 0.0)
    signalled = acute + probabilities.get("elevated", 0.0)
    said_when = screening.imminent or screening.timed
    if explained:
        # Acute only when very sure and the message says when; elevated when very sure
        # (and the bot asks whether it can happen soon); otherwise the context stands.
        if acute >= SET_ASIDE_THRESHOLDS[1] and said_when:
            return RiskLevel.ACUTE, False
        if signalled >= SET_ASIDE_THRESHOLDS[0]:
            return RiskLevel.ELEVATED, True
        return RiskLevel.NONE, False
    # "Ring 112 nu" needs a time or a step in the message, unless the model is very sure:
    # "imorgon ska jag ringa soc" must not become acute because "imorgon" often is.
    if (acute >= ACUTE_THRESHOLD and said_when) or acute >= SURE_ACUTE:
        return RiskLevel.ACUTE, False
    if said_when and signalled >= IMMINENT_SIGNAL:
        # A step or a time that is not the relative's own plan, and a model signal:
        # the model cannot say where its signal is, so the time counts for it.
        return RiskLevel.ACUTE, False
    if signalled >= ELEVATED_THRESHOLD:
        return RiskLevel.ELEVATED, screening.timed
    if screening.timed and signalled >= CHECK_SIGNAL:
        # A time word next to a model signal it is not sure of: a signal, and a question.
        return RiskLevel.ELEVATED, True
    return RiskLevel.NONE, False


def load_screen(config: Settings) -> RiskScreen:
    """The screening with the deployment's spaCy pipeline, patterns and trained risk model
    (bot/bootstrap.py loads one per process, before the first message)."""
    detector = RiskDetector.from_files(config.spacy_model, config.risk_patterns_file)
    classifier = RiskClassifier.load(config.risk_model_dir)
    if classifier is None:
        logger.warning(
            "No trained risk model in %s: screening with patterns only (run `make train`)",
            config.risk_model_dir,
        )
    return RiskScreen(detector, classifier)
