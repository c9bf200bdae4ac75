"""The deterministic risk screening: every rule, every negation cue, every context."""

from __future__ import annotations

import pytest

from bot.risk import RiskLevel
from bot.risk.patterns import load_patterns
from tests.support.settings import settings

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
    "suicide_car_exhaust": "han sitter i garaget och motorn går",
    "weapon_missing": "pappas jaktgevär är borta från skåpet",
    "suicide_decided": "han har ett rep i rummet och säger att han ska göra det",
    "grooming_by_older": "en äldre man chattar med min 13-åring på telegram",
    "recruiting_children": "gänget rekryterar barn i vårt område",
    "school_shooting_talk": "alla skrattade åt det men han sa att han ska skjuta alla i skolan",
    "child_held_in_camp": "mitt barnbarn sitter i ett läger i syrien",
    "online_recruiter": "en kille på discord jobbar på honom och skickar honom propaganda",
    "older_man_chatting_at_night": "en gubbe chattar med henne varje natt",
    "travel_ticket_to_fight": "brorsan vill sticka och kriga för dem",
}
# Rules with `level: check`: the bot asks instead of escalating.
CHECK_EXAMPLES = {
    "check_own_despair": "jag orkar inte mer",
    "check_travel_talk": "han pratar om syrien hela tiden",
}


def test_every_rule_has_an_example():
    rules = {rule.id for rule in load_patterns(settings.risk_patterns_file).rules}
    assert rules == set(RULE_EXAMPLES) | set(CHECK_EXAMPLES)


@pytest.mark.parametrize("rule_id, message", CHECK_EXAMPLES.items())
def test_each_check_rule_asks_instead_of_escalating(detector, rule_id, message):
    screening = detector.screen(message)
    assert screening.level is RiskLevel.NONE
    rule = next(r for r in detector.patterns.rules if r.id == rule_id)
    assert screening.check is not None and screening.check[0] == rule.category


def test_a_check_word_next_to_a_concrete_step_is_a_signal(detector):
    screening = detector.screen("han pratar om syrien hela tiden och nu har han packat")
    assert screening.level is RiskLevel.ACUTE and screening.categories == ("travel",)


@pytest.mark.parametrize("rule_id, message", RULE_EXAMPLES.items())
def test_each_rule_fires_on_its_example(detector, rule_id, message):
    screening = detector.screen(message)
    assert rule_id in screening.rule_ids
    rule = next(rule for rule in detector.patterns.rules if rule.id == rule_id)
    assert screening.level is rule.level


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


# -- issue 14: who is at risk, times that attach, figures of speech, the usual idioms -------


@pytest.mark.parametrize(
    "message",
    [
        "orkar inte mer, i kväll tar jag alla tabletter",
        "jag vill inte leva längre, imorgon hoppar jag från bron",
        "sitter vid bron nu, orkar inte",
    ],
)
def test_the_relatives_own_suicide_plan_is_acute_and_theirs(detector, message):
    screening = detector.screen(message)
    assert screening.level is RiskLevel.ACUTE
    assert screening.categories == ("suicide",) and screening.subjects == ("self",)


def test_the_relatives_own_wish_to_die_in_passing_is_a_signal_about_them(detector):
    screening = detector.screen("ibland vill jag bara försvinna för gott")
    assert screening.level is RiskLevel.ELEVATED and screening.subjects == ("self",)


@pytest.mark.parametrize(
    "message, subject",
    [
        ("min son vill ta livet av sig", "person"),
        ("jag tror att hon vill dö", "person"),
        ("jag vill dö", "self"),
        ("någon la en patron vid vår dörr", "self"),
        ("mitt barnbarn sitter i ett läger i syrien", "child"),
        ("han har skaffat en pistol", "third_party"),
    ],
)
def test_who_is_at_risk(detector, message, subject):
    assert detector.screen(message).subjects == (subject,)


def test_a_threat_is_not_a_figure_of_speech_because_of_its_subject(detector):
    # "han dödar mig" once matched the figurative "… dödar mig" of "jobbet dödar mig".
    screening = detector.screen("min bror säger att han dödar mig om jag går ut")
    assert screening.categories == ("threat",)
    assert detector.screen("jobbet dödar mig den här veckan").level is RiskLevel.NONE


def test_a_time_in_another_part_of_the_message_does_not_make_a_signal_acute(detector):
    screening = detector.screen(
        "min son pratar om att åka till syrien. jag vet inte vad jag ska tro. "
        "vi har fått hem ett brev. jag jobbar sent på fredag"
    )
    assert screening.level is RiskLevel.ELEVATED
    assert screening.check is not None  # the bot asks whether something can happen soon


def test_the_relatives_own_plan_is_not_the_danger_time(detector):
    screening = detector.screen("min son pratar om att åka till syrien, imorgon ska jag ringa soc")
    assert screening.level is RiskLevel.ELEVATED


@pytest.mark.parametrize(
    "message",
    [
        "provet imorgon tar livet av mig",
        "vi ska krossa dem i matchen ikväll",
        "jag ska döda den här uppsatsen imorgon",
        "vi ska döda tid på flygplatsen imorgon",
        "vi ska på bröllop i erbil på lördag, hela familjen",
        "vi åker till mogadishu på fredag och hälsar på mormor",
        "han åkte till syrien 2014, satt av sitt straff och idag jobbar han och har familj",
        "vi hotades för åtta år sedan men nu är vi sams",
    ],
)
def test_figures_family_trips_and_past_stories_are_not_signals(detector, message):
    assert detector.screen(message).level is RiskLevel.NONE


@pytest.mark.parametrize(
    "message, category",
    [
        ("jag fick ett sms från ett okänt nummer: håll käften om din son", "threat"),
        ("någon har lagt en patron på vår dörrmatta", "threat"),
        ("han har en pang hemma", "weapons"),
        ("han lägger upp bilder där han poserar med ett automatgevär", "weapons"),
        ("en gubbe chattar med henne varje natt", "grooming"),
        ("min syster sitter i al-hol-lägret med sina tre barn", "child_at_risk"),
        ("han sa att columbine var för liten och skrattade", "attack"),
    ],
)
def test_the_usual_idioms_are_signals(detector, message, category):
    screening = detector.screen(message)
    assert screening.level is not RiskLevel.NONE and category in screening.categories
