"""The pattern file staff edit: every mistake is refused with a message saying where."""

from __future__ import annotations

import pytest

from bot.risk.patterns import PatternError, load_patterns, parse_patterns
from tests.support.settings import settings


def minimal(**changes) -> dict:
    raw = {
        "negation": {"cues": ["inte"], "window": 3},
        "contexts": {"news": ["nyheter"]},
        "hypothetical": {"cues": ["om man"]},
        "imminence": {"cues": ["ikväll"]},
        "terms": {"zone": ["syrien", "irak"], "go": ["åka", "resa"]},
        "signals": [{"id": "travel", "category": "travel", "all": ["@go", "@zone"]}],
    }
    raw.update(changes)
    return raw


def test_the_shipped_file_loads():
    patterns = load_patterns(settings.risk_patterns_file)
    assert len(patterns.rules) >= 20
    assert {rule.category for rule in patterns.rules} == {
        "travel", "weapons", "attack", "threat", "child_at_risk", "suicide", "grooming",
    }  # fmt: skip


def test_groups_are_expanded_inside_phrases():
    raw = minimal(signals=[{"id": "t", "category": "travel", "all": ["@go ... @zone"]}])
    [rule] = parse_patterns(raw).rules
    assert set(rule.requirements[0]) == {
        "åka ... syrien",
        "åka ... irak",
        "resa ... syrien",
        "resa ... irak",
    }


def test_groups_may_refer_to_groups():
    raw = minimal(terms={"zone": ["syrien"], "go": ["åka"], "trip": ["@go till @zone"]})
    assert parse_patterns(raw).terms["trip"] == ("åka till syrien",)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"signals": [{"id": "x", "category": "weather", "all": ["sol"]}]},
            "category must be one of",
        ),
        (
            {"signals": [{"id": "x", "category": "travel", "level": "none", "all": ["a"]}]},
            "elevated or acute",
        ),
        (
            {"signals": [{"id": "x", "category": "travel", "all": ["@nothing"]}]},
            "unknown term group @nothing",
        ),
        ({"signals": [{"id": "x", "category": "travel", "all": []}]}, "at least one term"),
        (
            {"signals": [{"id": "x", "category": "travel", "all": ["... syrien"]}]},
            "must stand between words",
        ),
        (
            {"signals": [{"id": "x", "category": "travel", "all": ["a"], "scope": "page"}]},
            "scope must be",
        ),
        ({"signals": [{"category": "travel", "all": ["a"]}]}, "needs an id"),
        (
            {
                "signals": [
                    {"id": "x", "category": "travel", "all": ["a"]},
                    {"id": "x", "category": "travel", "all": ["b"]},
                ]
            },
            "used twice",
        ),
        ({"terms": {"a": ["@b"], "b": ["@a"]}}, "in a circle"),
        ({"terms": {"a": []}}, "non-empty list"),
        ({"negation": {"cues": ["inte", ""]}}, "empty or non-text"),
        (
            {
                "signals": [
                    {"id": "x", "category": "travel", "all": ["a"], "ignores_contexts": ["tv"]}
                ]
            },
            "unknown contexts",
        ),
        ({"contexts": {"trip": {"categories": ["holiday"], "cues": ["a"]}}}, "categories must"),
        ({"resolved": {"past": ["för länge sen"], "over": [""]}}, "empty or non-text"),
        ({"contexts": {"trip": {"cues": ["a"], "scope": "clause"}}}, "scope must"),
    ],
)
def test_mistakes_are_refused_with_a_clear_message(change, message):
    with pytest.raises(PatternError, match=message):
        parse_patterns(minimal(**change))


def test_a_context_may_be_limited_to_some_categories():
    patterns = parse_patterns(
        minimal(contexts={"trip": {"categories": ["travel"], "cues": ["semester"]}})
    )
    assert patterns.contexts["trip"] == ("semester",)
    assert patterns.context_categories == {"trip": ("travel",)}


def test_a_context_may_have_exceptions_and_a_message_scope():
    patterns = parse_patterns(
        minimal(contexts={"hunt": {"cues": ["jakt*"], "unless": ["raskrig*"], "scope": "message"}})
    )
    assert patterns.context_exceptions == {"hunt": ("raskrig*",)}
    assert patterns.message_contexts == {"hunt"}


def test_reported_and_still_cues_are_read():
    patterns = parse_patterns(
        minimal(
            hypothetical={"cues": ["om man"], "reported": ["googla*"]},
            resolved={"past": ["förr"], "over": ["mår bra"], "still": ["är rädd"]},
        )
    )
    assert patterns.reported_cues == ("googla*",)
    assert patterns.still_cues == ("är rädd",)


def test_an_unreadable_file_is_a_pattern_error(tmp_path):
    broken = tmp_path / "patterns.yml"
    broken.write_text("signals: [unclosed")
    with pytest.raises(PatternError, match="cannot read"):
        load_patterns(broken)
