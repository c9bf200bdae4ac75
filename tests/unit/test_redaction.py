"""The redactor (bot/privacy/redaction.py), format by format, and the corpus figures."""

from __future__ import annotations

import pytest
import yaml

from bot.privacy.redaction import Redactor, load_redactor, read_names
from tests.support.settings import settings
from tools.eval_privacy import CLEAN, CORPUS, evaluate

# As the servers build it: with the configured contacts' public numbers left in place.
REDACTOR = load_redactor(settings.contacts_file)


@pytest.mark.parametrize(
    "number",
    [
        "850314-2385",  # 10 digits with a dash
        "8503142385",  # without separator
        "850314 2385",  # with a space
        "19850314-2385",  # 12 digits
        "198503142385",
        "250314+2385",  # over 100 years old: "+" (check digit below is recomputed)
        "850374-2382",  # coordination number: day + 60
    ],
)
def test_identity_numbers_in_every_form_are_masked(number):
    digits = "".join(char for char in number if char.isdigit())[-10:]
    fixed = number[:-1] + str(_check_digit(digits[:9]))
    assert (
        REDACTOR.redact(f"hans personnummer är {fixed}, tack")
        == "hans personnummer är [personnummer], tack"
    )


def _check_digit(nine: str) -> int:
    total = sum(sum(divmod(int(c) * (2 - i % 2), 10)) for i, c in enumerate(nine))
    return (10 - total % 10) % 10


def test_a_wrong_check_digit_is_still_masked_as_a_number():
    assert REDACTOR.redact("nummer 850314-2384") == "nummer [nummer]"


def test_an_impossible_date_is_not_an_identity_number():
    assert "[personnummer]" not in REDACTOR.redact("kod 851344-2385")


@pytest.mark.parametrize(
    "phone",
    [
        "+46 70 123 45 67",
        "+4670-1234567",
        "0046 70 123 45 67",
        "070-123 45 67",
        "0701234567",
        "073-12 34 567",
        "08-123 456 78",
        "(08) 123 45 67",
        "031-12 34 56",
    ],
)
def test_swedish_phone_numbers_are_masked(phone):
    assert REDACTOR.redact(f"ring mig på {phone} ikväll") == "ring mig på [telefon] ikväll"


@pytest.mark.parametrize("public", ["112", "114 14", "1177", "90101", "020-100 200"])
def test_the_public_numbers_the_bot_gives_stay(public):
    assert REDACTOR.redact(f"ska jag ringa {public}?") == f"ska jag ringa {public}?"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("skriv till Anna.Berg+x@live.se.", "skriv till [e-post]."),
        ("inloggad från 83.250.12.9 igår", "inloggad från [ip] igår"),
        ("adressen 2001:db8:85a3::8a2e:370:7334 syns", "adressen [ip] syns"),
        ("klockan 21:45 kom han hem", "klockan 21:45 kom han hem"),
        ("han bor på Drottninggatan 5B, lgh 1102", "han bor på [adress]"),
        ("vi bor pa rinkebysvangen 70 2tr", "vi bor pa [adress]"),
        ("163 72 Spånga", "[postnummer] Spånga"),
        ("postnummer 72219", "postnummer [postnummer]"),
        ("han fick 12000 kronor", "han fick 12000 kronor"),
        ("kontonummer 12345678901", "kontonummer [nummer]"),
        ("mötet är 2024-03-14 kl 14", "mötet är 2024-03-14 kl 14"),
    ],
)
def test_other_formats(text, expected):
    assert REDACTOR.redact(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("jag heter Maria och är orolig", "jag heter [namn] och är orolig"),
        ("mitt namn är abdi hassan", "mitt namn är [namn]"),
        ("min son Yusuf har slutat skolan", "min son [namn] har slutat skolan"),
        ("brorsan kevin har nya vänner", "brorsan [namn] har nya vänner"),
        ("Ali har slutat skolan", "[namn] har slutat skolan"),
        ("Johan Andersson är hans ledare", "[namn] är hans ledare"),
        ("en man som kallar sig Abu Omar", "en man som kallar sig [namn]"),
        ("min son har slutat", "min son har slutat"),
        ("han är i Göteborg med Säpo", "han är i Göteborg med Säpo"),
        ("ett par dagar", "ett par dagar"),
    ],
)
def test_names(text, expected):
    assert REDACTOR.redact(text) == expected


def test_an_empty_or_odd_text_is_returned_as_it_is():
    assert REDACTOR.redact("") == ""
    assert REDACTOR.redact("🙂🙂") == "🙂🙂"
    assert REDACTOR.redact("a" * 10_000) == "a" * 10_000


def test_the_name_list_is_read_without_comments():
    names = read_names()
    assert len(names) > 1000 and "Mohammed" in names and not any(n.startswith("#") for n in names)


def test_a_redactor_with_its_own_names():
    assert Redactor(["Zlatan"]).redact("Zlatan ringde") == "[namn] ringde"


def test_the_corpus_has_no_leak_of_a_required_kind_and_few_false_positives():
    cases = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]
    clean = yaml.safe_load(CLEAN.read_text(encoding="utf-8"))["messages"]
    assert len(cases) >= 500 and len(clean) >= 500
    report = evaluate(REDACTOR, cases, clean)
    assert report.required_leaks() == 0, report.leaked
    assert report.false_positive_rate <= 0.02
