"""Masks what identifies a person in a text before it is stored anywhere.

Used for everything that is persisted or published: the tracker store (every user and bot
message), the escalation excerpt, the event broker. The bot itself reads the full text
within the turn; only what is kept is redacted.

What is found, and the tag it is replaced by:

- `[personnummer]`: Swedish personal identity and coordination numbers, 10 or 12 digits,
  with `-`, `+`, a space or nothing before the last four; the date must be possible (a
  coordination number adds 60 to the day) and the check digit must be right. A date-shaped
  number whose check digit is wrong is still masked, as `[nummer]`.
- `[telefon]`: Swedish phone numbers (+46, 0046, 07x, area codes, `(08)`), with spaces or
  dashes. The public numbers the bot itself gives (112, 1177, the contact directory) stay.
- `[e-post]`, `[ip]` (IPv4 and IPv6, validated), `[adress]` (a street name ending in
  -gatan, -vägen, -gränd ... and a house number, with entrance, `lgh` and floor),
  `[postnummer]` (five digits, `SE-` allowed, next to a town or after a postcode word).
- `[namn]`: names as far as they can be found: after an introduction ("jag heter",
  "mitt namn är", "kallar sig"), after a relation word ("min son", "brorsan", "hans
  kompis"), any word in the name list (data/privacy/first_names.txt) written with a
  capital, the surname that follows a first name, "Abu"/"Umm" names.
- `[nummer]`: any other run of eight or more digits (an account, a case number).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.conversation import OTHER_PEOPLE, RELATIONS
from bot.text import fold

NAMES_FILE = Path(__file__).resolve().parents[2] / "data/privacy/first_names.txt"
ANSWERS_REMEMBERED = 1024

TAGS = {
    "personnummer": "[personnummer]",
    "number": "[nummer]",
    "phone": "[telefon]",
    "email": "[e-post]",
    "ip": "[ip]",
    "address": "[adress]",
    "postcode": "[postnummer]",
    "name": "[namn]",
}


@dataclass(frozen=True, order=True)
class Finding:
    start: int
    end: int
    kind: str


# -- numbers ------------------------------------------------------------------------------

# The lookbehind makes a match start only where a run of address characters starts: without
# it every position of a long run was tried and scanned to its end (quadratic; issue 17).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_IDENTITY = re.compile(r"(?<![\d+-])((?:19|20)?)(\d{6})\s?([-+ ]?)\s?(\d{4})(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+46|0046|\(0\d{1,3}\)|0)(?:[\s-]?\(?\d\)?){6,11}(?![\d])",
)
_POSTCODE = re.compile(r"(?<![\w-])((?:SE-?\s?)?)(\d{3}\s?\d{2})(?![\d])", re.IGNORECASE)
_ISO_DATE = re.compile(r"(?:19|20)\d\d-[01]\d-[0-3]\d")
_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[\s-]?\d){7,}(?!\d)")

_STREET_SUFFIXES = (
    "gatan|gata|vägen|väg|gränd|gränden|stigen|stig|backen|backe|torget|torg|allén|allé|"
    "plan|svängen|leden|led|stråket|platsen|parken|slingan|kroken|promenaden|esplanaden|"
    "liden|höjden|berget|kajen|bron|gården|ringen|gången|gång|vägen"
)
_ADDRESS = re.compile(
    r"(?<![\w])[\wåäöÅÄÖéÉ-]*(?:" + _STREET_SUFFIXES + "|" + fold(_STREET_SUFFIXES) + r")"
    r"\s+\d{1,4}(?:\s?[A-Ha-h](?![\wåäö]))?"
    r"(?:,?\s*(?:uppg\.?|uppgång|uppgang|ingång|ingang|port)\s?[A-Ha-h](?![\wåäö]))?"
    r"(?:,?\s*(?:lgh|lägenhet|lagenhet)\.?\s*\d{3,4})?"
    r"(?:,?\s*\d\s?(?:tr|trappor|vån|vaning|våning)\b\.?)?"
    r"(?:,?\s*(?:nb|ög|bv)\b)?",
    re.IGNORECASE,
)
# How far around a postcode-shaped number its telling words are looked for.
_CONTEXT_CHARS = 40
_POSTCODE_WORDS = re.compile(r"(?:postnummer|postnumret|postnr|postkod)\W*$", re.IGNORECASE)
# Words after a five-digit number that make it a quantity, not a postcode.
_QUANTITY_WORDS = {
    "kr", "kronor", "kr.", "sek", "euro", "dollar", "st", "stycken", "personer", "människor",
    "barn", "unga", "ungdomar", "meter", "m", "km", "mil", "invånare", "följare", "visningar",
    "likes", "gånger", "ggr", "år", "dagar", "timmar", "minuter", "sekunder", "kilo", "kg",
    "medlemmar", "elever", "soldater", "pers", "spänn", "lax", "papp", ":-",
}  # fmt: skip

# -- names --------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_INTRODUCTIONS = (
    "jag heter", "heter jag", "mitt namn är", "mitt namn ar", "han heter", "hon heter",
    "hen heter", "de heter", "dom heter", "som heter", "heter", "kallar sig", "kallas för",
    "kallas", "kallade sig", "kalla sig", "kallat sig", "vid namn", "mitt namn e", "jag e",
    "namnet är", "namnet ar", "hälsningar", "halsningar", "mvh",
)  # fmt: skip
_NOT_NAMES = {
    "och", "som", "har", "hade", "är", "var", "ska", "skulle", "kan", "vill", "inte", "på",
    "i", "med", "till", "från", "att", "det", "den", "de", "dom", "han", "hon", "hen", "jag",
    "vi", "ni", "mig", "dig", "sig", "oss", "er", "min", "mitt", "mina", "din", "sin", "hans",
    "hennes", "deras", "en", "ett", "nu", "också", "bara", "så", "men", "för",
    "om", "när", "sen", "sedan", "efter", "under", "över", "hos", "utan", "eller", "mer",
    "mycket", "lite", "aldrig", "alltid", "redan", "snart", "igen", "där", "här", "the",
    "heter", "kallas", "sa", "säger", "sade", "tror", "vet", "blev", "blir", "gick",
    "går", "tog", "fick", "får", "gör", "gjorde", "verkar", "ville", "brukar", "själv",
    "själva", "både", "alla", "allt", "någon", "nån", "något", "nåt", "inga",
    "ingen", "vad", "vem", "hur", "varför", "vilken", "vilket", "ja", "nej", "tack", "hej",
    "år", "åring", "gamla", "gammal", "ny", "nya", "äldsta", "yngsta", "lilla", "stora",
    "bästa", "kära", "ena", "andra", "förra", "egen", "egna",
}  # fmt: skip
_SURNAME_ENDINGS = (
    "sson", "son", "berg", "ström", "lund", "qvist", "kvist", "gren", "dahl", "holm",
    "ander", "ius", "stedt", "mark", "borg", "blad", "lind", "hed", "man", "ić", "ic",
    "ović", "ovic", "ski", "ska", "wicz", "oglu", "oğlu", "zadeh", "poor", "pour", "ani",
    "nen", "ian", "yan",
)  # fmt: skip


def _luhn_ok(ten_digits: str) -> bool:
    total = 0
    for index, char in enumerate(ten_digits[:9]):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10 == int(ten_digits[9])


def _possible_date(six_digits: str) -> bool:
    month, day = int(six_digits[2:4]), int(six_digits[4:6])
    if day > 60:  # coordination number (samordningsnummer)
        day -= 60
    return 1 <= month <= 12 and 1 <= day <= 31


def mask(text: str, findings: Iterable[Finding], start: int = 0, end: int | None = None) -> str:
    """`text[start:end]` with each finding inside it replaced by its tag (findings in text
    order, not overlapping, none straddling the edges)."""
    end = len(text) if end is None else end
    pieces, position = [], start
    for finding in findings:
        if finding.end <= start or finding.start >= end:
            continue
        pieces.append(text[position : finding.start])
        pieces.append(TAGS[finding.kind])
        position = finding.end
    pieces.append(text[position:end])
    return "".join(pieces)


class Redactor:
    """Build once per process (it holds the name list); `redact` is thread-safe."""

    def __init__(self, first_names: Iterable[str], public_numbers: Iterable[str] = ()) -> None:
        self.first_names = frozenset(fold(name) for name in first_names)
        self.public_numbers = frozenset(_digits(number) for number in public_numbers)
        # The bot's own answers (texts of the domain's responses) repeat on every turn:
        # their redacted form is remembered (issue 21). Never for what a person wrote.
        self.redact_answer = functools.lru_cache(maxsize=ANSWERS_REMEMBERED)(self.redact)

    # -- public interface ----------------------------------------------------------------

    def redact(self, text: str) -> str:
        if not text:
            return text
        return mask(text, self.find(text))

    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in text order; earlier detectors win overlaps."""
        # Kept sorted, so a new finding is compared with its two neighbours only, not with
        # every finding before it (a text of thousands of addresses was quadratic; issue 17).
        taken: list[Finding] = []
        for detector in (
            self._emails,
            self._ips,
            self._identity_numbers,
            self._addresses,
            self._phones,
            self._postcodes,
            self._long_numbers,
            self._names,
        ):
            for finding in detector(text):
                place = bisect.bisect_left(taken, finding)
                before = taken[place - 1] if place else None
                after = taken[place] if place < len(taken) else None
                if (before is None or before.end <= finding.start) and (
                    after is None or finding.end <= after.start
                ):
                    taken.insert(place, finding)
        return taken

    # -- detectors -------------------------------------------------------------------------

    def _emails(self, text: str) -> Iterable[Finding]:
        for match in _EMAIL.finditer(text):
            yield Finding(match.start(), match.end(), "email")

    def _ips(self, text: str) -> Iterable[Finding]:
        for pattern in (_IPV4, _IPV6):
            for match in pattern.finditer(text):
                try:
                    ipaddress.ip_address(match.group(0))
                except ValueError:
                    continue
                yield Finding(match.start(), match.end(), "ip")

    def _identity_numbers(self, text: str) -> Iterable[Finding]:
        for match in _IDENTITY.finditer(text):
            _century, date, _separator, tail = match.groups()
            # A wrong check digit is left to the phone and long-number detectors
            # ("0701234567" is a phone number shaped like a date).
            if _possible_date(date) and _luhn_ok(date + tail):
                yield Finding(match.start(), match.end(), "personnummer")

    def _phones(self, text: str) -> Iterable[Finding]:
        for match in _PHONE.finditer(text):
            number = match.group(0).rstrip(" -")
            digits = _digits(number)
            if digits in self.public_numbers or not 7 <= len(digits) <= 13:
                continue
            yield Finding(match.start(), match.start() + len(number), "phone")

    def _postcodes(self, text: str) -> Iterable[Finding]:
        for match in _POSTCODE.finditer(text):
            if _digits(match.group(2)) in self.public_numbers:
                continue
            # The words right before and after are enough, and reading only them keeps a
            # text of many numbers linear (the whole rest of the text was copied and split
            # for every number; issue 17).
            before = text[max(0, match.start() - _CONTEXT_CHARS) : match.start()]
            after = text[match.end() : match.end() + _CONTEXT_CHARS].lstrip(" ,")
            next_word = after.split(maxsplit=1)[0].lower() if after.split() else ""
            said = bool(match.group(1)) or bool(_POSTCODE_WORDS.search(before))
            town_follows = bool(re.match(r"[^\W\d_]{2,}", after)) and (
                next_word.strip(".,!?") not in _QUANTITY_WORDS
            )
            lives = bool(re.search(r"\b(?:bor|bodde|bo)\s+(?:i|på)\s*$", before, re.IGNORECASE))
            # "163 72" (three digits, a space, two) is written that way only as a postcode;
            # "16372" needs a town after it or a word that says so.
            spaced = " " in match.group(2)
            if said or lives or spaced or (town_follows and not _looks_like_amount(match.group(2))):
                yield Finding(match.start(), match.end(), "postcode")

    def _addresses(self, text: str) -> Iterable[Finding]:
        for match in _ADDRESS.finditer(text):
            yield Finding(match.start(), match.end(), "address")

    def _long_numbers(self, text: str) -> Iterable[Finding]:
        for match in _LONG_NUMBER.finditer(text):
            if _ISO_DATE.fullmatch(match.group(0)):
                continue
            if _digits(match.group(0)) not in self.public_numbers:
                yield Finding(match.start(), match.end(), "number")

    def _names(self, text: str) -> Iterable[Finding]:
        words = list(_WORD.finditer(text))
        tokens = [word.group(0) for word in words]
        folded = [fold(token) for token in tokens]
        # What stands between each word and the one before it.
        gaps = [""] + [text[words[i - 1].end() : words[i].start()] for i in range(1, len(words))]
        joined = [index > 0 and _joins(gap) for index, gap in enumerate(gaps)]
        flagged = [
            self._is_listed_name(token, folded[index])
            or (joined[index] and self._introduced(folded, index))
            or (
                joined[index]
                and self._after_relation(folded, index)
                and self._could_be_name(token, folded[index])
            )
            or self._particle_name(folded, joined, index)
            or self._before_heter(folded, joined, tokens, index)
            for index, token in enumerate(tokens)
        ]
        # "Abu Omar" is one name; a surname follows a first name ("Johan Andersson").
        for index in range(1, len(words)):
            if flagged[index - 1] and not flagged[index] and gaps[index].strip(" ") == "":
                particle = folded[index - 1] in _PARTICLES
                if (particle and folded[index] not in _NOT_NAMES_FOLDED) or self._could_be_surname(
                    tokens[index], folded[index]
                ):
                    flagged[index] = True
        yield from _merge_words(words, flagged)

    # -- name helpers ------------------------------------------------------------------------

    def _is_listed_name(self, token: str, folded_token: str) -> bool:
        if folded_token not in self.first_names:
            return False
        # In lower case only names that are not also ordinary words ("linda", "axel").
        return token[:1].isupper() or folded_token not in _LOWERCASE_WORDS

    def _introduced(self, folded: list[str], index: int) -> bool:
        """The word follows an introduction ("jag heter X", "kallar sig X"), in any case."""
        if folded[index] in _NOT_NAMES_FOLDED:
            return False
        return any(
            index >= len(cue) and tuple(folded[index - len(cue) : index]) == cue
            for cue in _INTRODUCTION_CUES
        )

    def _after_relation(self, folded: list[str], index: int) -> bool:
        """The word follows a relation word ("min son X", "brorsan X")."""
        return index >= 1 and folded[index - 1] in _RELATION_CUES

    def _particle_name(self, folded: list[str], joined: list[bool], index: int) -> bool:
        """ "abu musa", "Umm Hafsa": the particle and the word after it."""
        following = index + 1
        return (
            folded[index] in _PARTICLES
            and following < len(folded)
            and joined[following]
            and folded[following] not in _NOT_NAMES_FOLDED
        )

    def _before_heter(
        self, folded: list[str], joined: list[bool], tokens: list[str], index: int
    ) -> bool:
        """ "Paweł Kamiński heter killen": capitalised words right before "heter"."""
        following = index + 1
        while following < len(tokens) and tokens[following][:1].isupper() and joined[following]:
            following += 1
        return (
            following < len(tokens)
            and folded[following] == "heter"
            and joined[following]
            and tokens[index][:1].isupper()
            and folded[index] not in _NOT_NAMES_FOLDED
        )

    def _could_be_name(self, token: str, folded_token: str) -> bool:
        if folded_token in _NOT_NAMES_FOLDED or len(token) < 2:
            return False
        return token[:1].isupper() or folded_token in self.first_names or _foreign(token)

    def _could_be_surname(self, token: str, folded_token: str) -> bool:
        """What could be a name, or a lower-case word with a surname ending ("nowak" no,
        "andersson" yes)."""
        return self._could_be_name(token, folded_token) or (
            len(token) > 4
            and folded_token not in _NOT_NAMES_FOLDED
            and folded_token.endswith(_SURNAME_FOLDED)
        )


_INTRODUCTION_CUES = tuple(tuple(fold(cue).split()) for cue in _INTRODUCTIONS)
# The words for people a relative writes about (bot/conversation.py) announce a name.
_RELATION_CUES = frozenset(RELATIONS) | frozenset(fold(word) for word in OTHER_PEOPLE)
_NOT_NAMES_FOLDED = frozenset(fold(word) for word in _NOT_NAMES)
_SURNAME_FOLDED = tuple(fold(ending) for ending in _SURNAME_ENDINGS)
_PARTICLES = frozenset({"abu", "umm", "ibn", "bin", "bint"})
# Names in the list that are also Swedish words: matched only when written with a capital.
_LOWERCASE_WORDS = frozenset({
    "axel", "karl", "linda", "lisa", "tim", "jan", "can", "rita", "frans", "tina", "olle",
    "jack", "milan", "aria", "emir", "amir", "lena", "lina", "tuva", "mark", "roger",
    "alf", "gunnar", "vera", "hanna", "alma", "ella", "siri", "stella", "wilma", "stina",
    "elin", "nora", "mira", "maja", "mona", "tove", "ronja", "nils", "even", "said",
    "iman", "nova", "love", "ebba", "sam", "ray", "rose", "lo", "ali", "par",
})  # fmt: skip
_SWEDISH_LETTERS = set("abcdefghijklmnopqrstuvwxyzåäöé-'’")


def _foreign(token: str) -> bool:
    """Letters Swedish words do not have (ł, ş, ğ, ń, ó ...) mark a name from elsewhere."""
    return any(char.isalpha() and char not in _SWEDISH_LETTERS for char in token.lower())


def _merge_words(words: list[re.Match], flagged: list[bool]) -> Iterable[Finding]:
    index = 0
    while index < len(words):
        if not flagged[index]:
            index += 1
            continue
        start = words[index].start()
        end = words[index].end()
        while index + 1 < len(words) and flagged[index + 1]:
            index += 1
            end = words[index].end()
        yield Finding(start, end, "name")
        index += 1


def _joins(gap: str) -> bool:
    """Only spaces, a comma or a colon between two words: the same phrase."""
    return gap.strip(" ,:") == "" and "\n" not in gap


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _looks_like_amount(digits: str) -> bool:
    """ "10000", "25000": round figures are amounts far more often than postcodes."""
    plain = _digits(digits)
    return plain.endswith("000") or plain.endswith("500")


def read_names(path: Path = NAMES_FILE) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def load_redactor(contacts_file: Path) -> Redactor:
    """The redactor with the name list and the public numbers of the deployment's contact
    directory, which it leaves in place (bot/bootstrap.py builds one per process)."""
    from bot.contacts import public_phone_numbers

    return Redactor(read_names(), public_phone_numbers(contacts_file))
