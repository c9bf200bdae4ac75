"""The deterministic risk screening: every rule, every negation cue, every context."""

from __future__ import annotations

import pytest

from bot.risk import RiskDetector, RiskLevel
from bot.risk.patterns import load_patterns
from bot.settings import settings

# One everyday message per rule in data/risk/patterns.yml. A new rule needs a line here:
# test_every_rule_has_an_example fails until it has one.
RULE_EXAMPLES = {
    "travel_to_conflict_zone": "min son pratar om att resa till syrien",
    "travel_going_down": "hon vill aka ner till systrarna i kalifatet",
    "travel_join_fighting_abroad": "han funderar på att flyga och strida utomlands",
    "travel_to_the_brothers": "han säger att han vill vara hos sina bröder",
    "travel_via_transit": "han ska till istanbul och vidare, han säger att han inte kommer hem",
    "travel_join_organisation": "min bror vill ansluta sig till IS",
    "weapon_obtained": "min son har skaffat en pistol",
    "weapon_with_intent": "han säger att kniven ska användas mot förrädarna",
    "explosive_recipe": "han har letat efter hur man bygger en bomb",
    "explosive_parts": "jag hittade krut och spikar i garaget",
    "attack_something_big": "han säger att det kommer hända något stort",
    "attack_plan_against_target": "de planerar att spränga moskén",
    "attack_on_person": "min son säger att han ska hämnas på killen",
    "attack_reconnaissance": "han har fotat synagogan flera gånger",
    "attack_emulation": "han hyllar breivik och säger att han förstår honom",
    "attack_named": "han snackar om att hans grupp planerar ett attentat",
    "threat_against_someone": "min bror har hotat att slå ihjäl mig",
    "honour_killing_mentioned": "min syster är rädd för hedersmord om hon lämnar honom",
    "child_taken_abroad": "de vill gifta bort min systerdotter i hemlandet",
    "child_exposed_or_used": "min son på 14 springer ärenden åt gänget",
    "suicide_or_self_harm": "min dotter säger att hon vill dö",
    "grooming_by_older": "en äldre man chattar med min 13-åring på telegram",
    "recruiting_children": "gänget rekryterar barn i vårt område",
}


@pytest.fixture(scope="module")
def detector() -> RiskDetector:
    return RiskDetector.from_files(settings.spacy_model, settings.risk_patterns_file)


def test_every_rule_has_an_example():
    rules = {rule.id for rule in load_patterns(settings.risk_patterns_file).rules}
    assert rules == set(RULE_EXAMPLES)


@pytest.mark.parametrize("rule_id, message", RULE_EXAMPLES.items())
def test_each_rule_fires_on_its_example(detector, rule_id, message):
    screening = detector.screen(message)
    assert rule_id in screening.rule_ids
    assert screening.level is RiskLevel.ELEVATED


@pytest.mark.parametrize("rule_id, message", RULE_EXAMPLES.items())
def test_each_rule_is_found_in_text_without_aao_and_in_capitals(detector, rule_id, message):
    folded = message.translate(str.maketrans("åäöÅÄÖ", "aaoAAO"))
    assert rule_id in detector.screen(folded).rule_ids
    assert rule_id in detector.screen(message.upper()).rule_ids


@pytest.mark.parametrize("cue", load_patterns(settings.risk_patterns_file).negation_cues)
def test_every_negation_cue_cancels_a_signal_right_after_it(detector, cue):
    screening = detector.screen(f"min son har {cue} planer på att åka till syrien")
    assert screening.level is RiskLevel.NONE
    assert any(item.reason == "negated" for item in screening.set_aside)


def test_negation_reaches_only_a_few_words(detector):
    far = "han har inte sagt det till mamma eller pappa eller någon men åka till syrien vill han"
    assert detector.screen(far).level is RiskLevel.ELEVATED


def test_negation_stops_at_a_clause_break(detector):
    screening = detector.screen("han har inga vapen, men han ska åka till syrien ikväll")
    assert screening.level is RiskLevel.ACUTE and screening.categories == ("travel",)


def test_a_negated_time_does_not_make_a_signal_acute(detector):
    screening = detector.screen(
        "han pratar om att åka till syrien men han har inte köpt någon biljett"
    )
    assert screening.level is RiskLevel.ELEVATED


def test_negation_inside_the_pattern_is_part_of_the_signal(detector):
    assert detector.screen("hon säger att hon inte vill leva längre").categories == ("suicide",)
    assert detector.screen("han har aldrig sagt att han vill dö").level is RiskLevel.NONE


@pytest.mark.parametrize(
    "context, message",
    [
        ("news", "vi såg på nyheterna att någon ville åka till syrien"),
        ("fiction_and_games", "han spelar call of duty och skaffar nya vapen hela tiden"),
        ("school", "han skriver en uppsats om andra världskriget och hur man bygger en bomb"),
        ("sport_and_hunting", "han har jaktlicens och har köpt ett nytt gevär"),
        ("figurative", "mamma kommer döda mig när hon ser mitt betyg haha"),
    ],
)
def test_each_context_sets_a_signal_aside(detector, context, message):
    screening = detector.screen(message)
    assert screening.level is RiskLevel.NONE
    assert any(item.reason == f"context:{context}" for item in screening.set_aside)


def test_a_family_visit_sets_aside_only_travel_signals(detector):
    trip = detector.screen("vi ska åka till irak och hälsa på farmor i sommar")
    assert trip.level is RiskLevel.NONE
    assert any(item.reason == "context:family_visit" for item in trip.set_aside)
    married_off = detector.screen(
        "de ska hälsa på farmor i irak och där ska hon giftas bort med en kusin"
    )
    assert "child_at_risk" in married_off.categories


def test_an_extremist_cue_keeps_hunting_from_explaining_a_weapon(detector):
    hunting = detector.screen("han har jaktlicens. han har köpt ett nytt gevär")
    assert hunting.level is RiskLevel.NONE
    race_war = detector.screen("han har jaktlicens. han har köpt ett nytt gevär inför raskriget")
    assert "weapons" in race_war.categories


def test_a_message_wide_context_counts_in_another_sentence(detector):
    screening = detector.screen("min syster sa att hon ska döda mig. hon menade det såklart inte")
    assert screening.level is RiskLevel.NONE
    assert any(item.reason == "context:figurative" for item in screening.set_aside)


def test_real_footage_is_not_fiction(detector):
    film = detector.screen("han tittar på filmer där de skaffar vapen")
    assert film.level is RiskLevel.NONE
    propaganda = detector.screen("pappan visar barnen filmer med IS-propaganda")
    assert "child_at_risk" in propaganda.categories


def test_everyday_use_explains_tools_but_not_other_signals(detector):
    chores = detector.screen("jag hittade en machete i förrådet, han använder den för att röja sly")
    assert chores.level is RiskLevel.NONE
    threat = detector.screen("han röjer sly i trädgården och har hotat att döda mig")
    assert "threat" in threat.categories


def test_a_reported_search_is_not_a_general_question(detector):
    general = detector.screen("hur många tabletter är farligt för ett barn?")
    assert general.level is RiskLevel.NONE
    searched = detector.screen("min dotter googlar hur många tabletter som är dödligt")
    assert "suicide" in searched.categories


def test_a_signal_told_as_past_and_over_is_history(detector):
    message = "för fem år sedan hotade han mig. nu mår vi bra och har flyttat."
    screening = detector.screen(message)
    assert screening.level is RiskLevel.NONE
    assert any(item.reason == "resolved" for item in screening.set_aside)


def test_a_past_story_does_not_hide_a_new_signal(detector):
    message = "för fem år sedan hotade han mig men det löste vi. nu har han köpt en pistol."
    assert "weapons" in detector.screen(message).categories


def test_a_past_signal_still_feared_is_not_history(detector):
    message = "för fem år sedan hotade han mig. nu mår vi bra men jag är rädd att det börjar igen"
    assert "threat" in detector.screen(message).categories


def test_an_age_is_not_a_sign_that_it_is_over(detector):
    message = "han slog henne när hon var yngre, nu är hon 17 och han skriker bara"
    assert "threat" in detector.screen(message).categories


def test_a_past_signal_that_is_not_over_counts(detector):
    assert detector.screen("för fem år sedan hotade han mig och han slutar aldrig").level in {
        RiskLevel.ELEVATED,
        RiskLevel.ACUTE,
    }


def test_a_context_in_another_sentence_does_not_hide_a_signal(detector):
    message = "Vi såg ett reportage om IS igår. Nu säger han att han ska åka till syrien imorgon."
    assert detector.screen(message).level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "message",
    [
        "vad händer om någon reser till syrien",
        "är det brottsligt att åka till syrien",
        "om man vill ansluta sig till IS, vad gör polisen då",
    ],
)
def test_general_and_hypothetical_questions_are_not_escalated(detector, message):
    screening = detector.screen(message)
    assert screening.level is RiskLevel.NONE
    assert any(item.reason == "hypothetical" for item in screening.set_aside)


def test_a_hypothetical_with_a_time_is_taken_as_meant(detector):
    assert detector.screen("vad händer om han åker till syrien ikväll").level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "message",
    [
        "han ska åka till syrien ikväll",
        "han har köpt biljett och ska resa till syrien",
        "min son är på väg till syrien",
        "han har skaffat en pistol och är ute nu",
        "hon har tagit en massa tabletter och vill dö",
        "han sa att han ska hämnas på killen på fredag",
    ],
)
def test_imminence_makes_a_signal_acute(detector, message):
    assert detector.screen(message).level is RiskLevel.ACUTE


def test_now_counts_only_at_the_end_of_a_clause(detector):
    assert detector.screen("han pratar om att resa till syrien nu").level is RiskLevel.ACUTE
    assert detector.screen("nu pratar han om att resa till syrien").level is RiskLevel.ELEVATED


def test_several_categories_are_reported_in_fixed_order(detector):
    screening = detector.screen(
        "min dotter vill dö. han har hotat att slå ihjäl mig och vill resa till syrien"
    )
    assert screening.categories == ("travel", "threat", "suicide")


def test_match_offsets_point_into_the_message(detector):
    message = "Hej. Min son har skaffat en pistol."
    match = detector.screen(message).matches[0]
    assert "pistol" in message[match.start : match.end]


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "😀😀😀🙏",
        "\x00\x07\x1b[31m",
        "hello how are you, je suis ici, ich bin hier",
        "å" * 10_000,
        "min son är orolig " * 600,
    ],
)
def test_odd_input_is_screened_without_error(detector, message):
    assert detector.screen(message).level is RiskLevel.NONE


def test_a_signal_deep_inside_a_long_message_is_found(detector):
    story = "Vi hade en helt vanlig vecka med skola och jobb. " * 150
    message = story + "Igår sa han att han ska åka till syrien imorgon. " + story
    assert len(message) > 10_000
    assert detector.screen(message).level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "message",
    [
        "min son har börjat umgås med nya kompisar och klär sig annorlunda",
        "vad gör socialtjänsten om jag gör en orosanmälan",
        "kan soc ta mina barn",
        "han har extrema åsikter om invandring",
        "han bombade provet och fick högsta betyg",
        "vi åkte till turkiet på semester i somras",
    ],
)
def test_ordinary_worries_are_not_escalated(detector, message):
    assert detector.screen(message).level is RiskLevel.NONE
