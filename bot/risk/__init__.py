"""Risk screening: every relative's message is checked for signals that need a human."""

from bot.risk.levels import CATEGORIES, RiskLevel

__all__ = ["CATEGORIES", "RiskDetector", "RiskLevel", "Screening", "SignalMatch"]

_DETECTOR_NAMES = {"RiskDetector", "Screening", "SignalMatch"}


def __getattr__(name: str):
    # The detector needs spaCy (and with it TensorFlow, seconds to import); processes that
    # only need the levels, such as the staff dashboard, never load it.
    if name in _DETECTOR_NAMES:
        from bot.risk import detector

        return getattr(detector, name)
    raise AttributeError(f"module 'bot.risk' has no attribute {name!r}")
