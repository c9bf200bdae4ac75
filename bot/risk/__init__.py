"""Risk screening: every relative's message is checked for signals that need a human."""

from bot.risk.detector import RiskDetector, Screening, SignalMatch
from bot.risk.levels import CATEGORIES, RiskLevel

__all__ = ["CATEGORIES", "RiskDetector", "RiskLevel", "Screening", "SignalMatch"]
