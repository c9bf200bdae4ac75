"""Messages in another language than Swedish.

The chat is in Swedish. A relative who writes in English, Arabic, Somali, Persian,
Tigrinya or another language gets a short answer in English and Swedish that says so, with
112 (intent `other_language`, rule in data/stories/rules.yml). The risk screening still
reads the message, as it reads every message (actions/risk.py).

Detection is offline: a message mostly in a non-Latin script (Arabic, Persian, Tigrinya,
Cyrillic, ...) is not Swedish; a Latin-script message of at least three words is given to
lingua (lingua-language-detector, models inside the wheel) restricted to Swedish and the
Latin-script languages relatives most often write in. Short messages ("ok", "hej", "IS")
are never judged: too little to go on, and a wrong guess would refuse a Swedish question.

Usage in config.yml, after the FallbackClassifier:

    - name: bot.nlu.language.OtherLanguageClassifier
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

OTHER_LANGUAGE_INTENT = "other_language"
MIN_WORDS = 3
# Lingua must be this sure of another language, and this unsure of Swedish.
MIN_OTHER_CONFIDENCE = 0.7
MAX_SWEDISH_CONFIDENCE = 0.2
NON_LATIN_SHARE = 0.5

_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"[^\W\d_]+")
# Common Swedish words (also as typed without å/ä/ö) that are not words of the other
# languages checked: one of them makes a message Swedish whatever lingua says, because
# short Swedish questions ("är du en bot eller", "loggar ni chatten") fool it.
SWEDISH_WORDS = frozenset(
    """jag du han hon hen vi ni dom och att det är ar som inte vad hur varför varfor när nar
    vem vilka vilken min mitt mina ditt hennes deras vår var kan har ska skulle vill måste maste
    får blir på pa med för från fran om av hos eller också ocksa nu här där dar någon nagon
    nån nan något nagot inget ingen mycket bara sedan mig dig sig utan helt mer eftersom
    ju väl typ asså okej nej chatten socialtjänsten socialtjansten soc polisen säpo sapo
    barn dotter bror syster mamma pappa hej tack snälla snalla""".split()
)


def _letters(text: str) -> list[str]:
    return [character for character in text if character.isalpha()]


def _non_latin_share(letters: list[str]) -> float:
    if not letters:
        return 0.0
    latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
    return 1 - latin / len(letters)


@cache
def _detector():
    """Built on first use: about 20 MB in low-accuracy mode (trigrams), which separates
    these languages well on sentences; short texts are not judged at all."""
    from lingua import Language, LanguageDetectorBuilder

    languages = (
        Language.SWEDISH,
        Language.ENGLISH,
        Language.SOMALI,
        Language.TURKISH,
        Language.BOSNIAN,
        Language.POLISH,
        Language.FINNISH,
        Language.SPANISH,
        Language.GERMAN,
        Language.FRENCH,
    )
    builder = LanguageDetectorBuilder.from_languages(*languages)
    return builder.with_low_accuracy_mode().with_preloaded_language_models().build()


def is_other_language(text: str) -> bool:
    """Whether a message is clearly written in another language than Swedish."""
    if not text or text.lstrip().startswith("/"):  # a button's payload
        return False
    text = _URL.sub(" ", text)
    letters = _letters(text)
    if len(letters) >= 3 and _non_latin_share(letters) >= NON_LATIN_SHARE:
        return True
    words = [word.lower() for word in _WORD.findall(text)]
    if len(words) < MIN_WORDS or SWEDISH_WORDS.intersection(words):
        return False
    from lingua import Language

    confidences = {
        value.language: value.value
        for value in _detector().compute_language_confidence_values(text)
    }
    swedish = confidences.get(Language.SWEDISH, 0.0)
    best_other = max((v for k, v in confidences.items() if k != Language.SWEDISH), default=0.0)
    return best_other >= MIN_OTHER_CONFIDENCE and swedish <= MAX_SWEDISH_CONFIDENCE


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class OtherLanguageClassifier(GraphComponent):
    """Sets the intent `other_language` (confidence 1) on a message in another language."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OtherLanguageClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if is_other_language(message.get(TEXT) or ""):
                intent = {"name": OTHER_LANGUAGE_INTENT, "confidence": 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
