"""What the answers say (issue 15): promises that hold for the channel, honest answers on
custody and confidentiality, and the safety lines. Each test names the response it
checks; the facts come from the domain brief (../shared/domain/brief.md)."""

from __future__ import annotations

import re

import pytest

from actions.answers import response_for
from actions.privacy import ActionDeleteConversation
from actions.session import ActionSessionStart
from tests.conftest import response_names

CHANNELS = ("web", "sms", "whatsapp", "telegram")


def text(domain, name: str) -> str:
    return "\n".join(variation.get("text", "") for variation in domain["responses"][name])


def all_texts(domain) -> dict[str, str]:
    return {name: text(domain, name) for name in domain["responses"]}


# ---------------------------------------------------------------- what holds per channel


@pytest.mark.parametrize("channel", CHANNELS)
async def test_each_channel_gets_its_own_privacy_notice(dispatcher, make_tracker, domain, channel):
    """Shown when the chat opens before the relative writes (the widget, Telegram's
    /start); otherwise it joins the first answer (tests/unit/test_opening.py)."""
    sender = "3f2a9c0d1e" if channel == "web" else f"{channel}-3f2a9c0d1e"
    events = await ActionSessionStart().run(dispatcher, make_tracker(sender_id=sender), domain)
    assert response_names(dispatcher) == []
    assert {"event": "slot", "name": "privacy_notice_due", "value": True} in [
        {key: event.get(key) for key in ("event", "name", "value")} for event in events
    ]
    tracker = make_tracker(
        "/session_start", "session_start", slots={"privacy_notice_due": True}, sender_id=sender
    )
    tracker.events.insert(0, {"event": "session_started"})
    await ActionSessionStart().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == [f"utter_privacy_notice_{channel}"]


@pytest.mark.parametrize("channel", CHANNELS)
async def test_deletion_says_what_is_left_on_the_device(dispatcher, make_tracker, domain, channel):
    sender = "3f2a9c0d1e" if channel == "web" else f"{channel}-3f2a9c0d1e"
    action = ActionDeleteConversation()
    action._erase_escalation_excerpt = lambda sender_id: False
    await action.run(dispatcher, make_tracker("radera", sender_id=sender), domain)
    assert response_names(dispatcher) == [f"utter_conversation_deleted_{channel}"]
    said = text(domain, f"utter_conversation_deleted_{channel}")
    assert "finns kvar" in said or "syns de" in said


def test_messaging_notices_say_who_else_sees_the_number_and_the_text(domain):
    assert "mobiloperatör och Twilio" in text(domain, "utter_privacy_notice_sms")
    assert "WhatsApp (Meta) och Twilio" in text(domain, "utter_privacy_notice_whatsapp")
    assert "Telegram ser ditt konto" in text(domain, "utter_privacy_notice_telegram")
    for channel in ("sms", "whatsapp", "telegram"):
        assert "Helt anonym är du inte" in text(domain, f"utter_privacy_notice_{channel}")
        assert "IP-adress" not in text(domain, f"utter_privacy_notice_{channel}")


def test_the_web_notice_says_what_the_browser_keeps(domain):
    notice = text(domain, "utter_privacy_notice_web")
    assert "fliken" in notice and "historiken" in notice
    assert "sparar inte din IP-adress" in notice


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_notice_says_when_confidentiality_ends(domain, channel):
    notice = text(domain, f"utter_privacy_notice_{channel}")
    assert "personal i kommunen läsa samtalet" in notice


def test_no_answer_promises_more_anonymity_than_holds(domain):
    for name, said in all_texts(domain).items():
        for promise in (
            "Du är anonym här",
            "anonym guide",
            "inte kan föras tillbaka till dig",
            "finns inte längre sparade",
            "Din IP-adress sparas inte",
            "utan dina ord",
            "kort maskerat utdrag",
        ):
            assert promise not in said, (name, promise)


def test_escalation_answers_say_staff_can_read_join_and_call_112(domain):
    for name in ("utter_risk_marked", "utter_risk_marked_self", "utter_who_reads"):
        said = text(domain, name)
        assert "gå in i chatten" in said and "{phone_emergency}" in said, name
        assert "maskade" in said and "kan ändå säga något om vem du är" in said, name
    # After "radera" the alert's kind stays; the staff's notes go with the messages
    # (actions/privacy.py), so the answer must not say they stay.
    kept = text(domain, "utter_conversation_deleted_escalation_kept")
    assert "vilken sorts risk" in kept and "anteckningar" not in kept


def test_no_answer_relies_on_a_button_or_a_window_that_sms_does_not_have(domain):
    for name, said in all_texts(domain).items():
        assert "trycka på knappen" not in said and "stänga fönstret" not in said, name


# ---------------------------------------------------------------- custody and LVU


def test_the_custody_answer_for_a_child_is_honest_about_compulsion(domain):
    said = text(domain, "utter_child_custody_minor")
    assert "frivillig placering" in said and "Frivilligt har en gräns" in said
    assert "omhänderta barnet direkt" in said and "inom en vecka" in said
    assert "våld mot barnet inleds en utredning direkt" in said
    assert "vårdnadshavarna (de som har ansvaret för barnet)" in said


@pytest.mark.parametrize("topic", ["social_services", "child_custody"])
def test_young_adults_get_the_lvu_answer_for_18_to_20(domain, topic):
    name = response_for(topic, "young_adult", domain)
    assert name == f"utter_{topic}_young_adult"
    assert "18 eller 19" in text(domain, name) and "21" in text(domain, name)


@pytest.mark.parametrize("name", ["utter_social_services_adult", "utter_child_custody_adult"])
def test_the_adult_answers_say_from_20_and_mostly_from_18(domain, name):
    assert "Från 20 år" in text(domain, name) and "18" in text(domain, name)


def test_the_general_answers_ask_for_the_three_age_groups(domain):
    for name in ("utter_social_services", "utter_child_custody"):
        assert "under 18, 18–20 år eller äldre" in text(domain, name)


def test_a_young_adults_report_answer_falls_back_to_the_adult_one(domain):
    assert response_for("how_to_report", "young_adult", domain) == "utter_how_to_report_adult"


def test_the_investigation_can_be_extended(domain):
    assert "förlängas" in text(domain, "utter_social_services_minor")


# ---------------------------------------------------------------- safety lines


@pytest.mark.parametrize(
    "name",
    [
        "utter_risk_acute",
        "utter_risk_acute_suicide",
        "utter_risk_acute_suicide_self",
        "utter_risk_acute_threat_self",
    ],
)
def test_acute_answers_say_nobody_here_can_send_help(domain, name):
    said = text(domain, name)
    assert said.startswith("Ring {phone_emergency} nu")
    assert "Ingen här kan skicka hjälp" in said and "vänta inte på svar i chatten" in said


def test_the_offer_of_a_person_comes_after_calling_112(domain):
    said = text(domain, "utter_risk_offer_human_now")
    assert said.index("Ring {phone_emergency} först") < said.index("prata med en människa")


@pytest.mark.parametrize(
    "name",
    ["utter_risk_offer_human", "utter_risk_offer_human_self", "utter_risk_marked",
     "utter_risk_marked_self"],
)  # fmt: skip
def test_without_a_handler_now_no_answer_promises_one_now(domain, name):
    """Issue 16: "Prata med en människa" followed by "Just nu finns ingen" took the promise
    back. Without a handler available the answers say when staff read, and offer no button."""
    said = text(domain, name)
    assert "när personalen är i tjänst{staff_hours}" in said
    assert "prata med en människa här" not in said
    assert not domain["responses"][name][0].get("buttons")
    assert domain["responses"][f"{name}_now"]  # the variant for a handler available now


def test_suicide_answers_are_direct_and_hopeful(domain):
    person = text(domain, "utter_risk_why_suicide")
    assert "rakt ut" in person and "går ofta över" in person and "lämna inte" in person
    assert "Ta bort eller lås in" in person and "chatta på mind.se" in person
    assert "Ta bort det hen kan skada sig med" in text(domain, "utter_risk_acute_suicide")
    own = text(domain, "utter_risk_acute_suicide_self")
    assert "du" in own.split() and "personen" not in own


def test_warning_signs_send_to_the_tip_line_and_to_112_only_when_soon(domain):
    said = text(domain, "utter_warning_signs")
    assert "tipsa polisen på {phone_police}" in said
    assert "nu eller snart: ring {phone_emergency}" in said


def test_the_child_at_risk_answer_starts_with_112_when_a_trip_is_close(domain):
    assert text(domain, "utter_risk_why_child_at_risk").startswith(
        "Är en resa utomlands nära, eller är barnet i fara nu: ring {phone_emergency}"
    )


SHARE_WORRY = [
    "utter_share_worry",
    *(f"utter_share_worry_{relation}" for relation in ("child", "grandchild", "sibling")),
    *(f"utter_share_worry_{relation}" for relation in ("partner", "friend", "relative")),
]


@pytest.mark.parametrize("name", ["utter_out_of_scope", *SHARE_WORRY])
def test_out_of_scope_and_share_worry_have_a_safety_line_and_agree(domain, name):
    said = text(domain, name)
    assert "{phone_emergency}" in said and "{phone_healthcare}" in said
    assert "vad som helst" not in said


@pytest.mark.parametrize("name", SHARE_WORRY)
def test_share_worry_does_not_assume_radicalisation(domain, name):
    assert "radikaliserad" not in text(domain, name)


def test_talking_to_the_person_is_advised_only_when_it_is_safe(domain):
    assert "om det är tryggt för dig" in text(domain, "utter_how_to_talk")


# ---------------------------------------------------------------- police, confidentiality


def test_the_police_answer_says_what_a_tip_can_lead_to(domain):
    said = text(domain, "utter_police")
    assert "kan leda till en utredning, till ingenting" in said
    assert "måste polisen anmäla sin oro till socialtjänsten" in said


def test_confidentiality_is_a_harm_test_not_a_guarantee(domain):
    said = text(domain, "utter_confidentiality")
    assert "närstående" in said and "inte en garanti" in said
    assert "avslöja" in said
    # The close relatives' exemption from testifying: in the deeper step, and the answer of
    # its own situation ("måste jag vittna?"), not in the first answer to "får hen veta?".
    assert "vittna" in text(domain, "utter_confidentiality_more")
    assert "vittna" in text(domain, "utter_situation_witness_exemption")


def test_the_leaving_answer_says_how_to_reach_help_and_that_relatives_get_it(domain):
    said = text(domain, "utter_leaving_support")
    assert "avhopparsamordning" in said and "{phone_police}" in said
    assert "anhörig kan få stöd även om personen inte är redo" in said


def test_the_handler_can_read_what_was_written(domain):
    assert "kan läsa det som redan har skrivits" in text(domain, "utter_handoff_joined")


def test_the_switchboard_is_office_hours_and_not_anonymous(domain):
    said = text(domain, "utter_municipality_switchboard")
    assert "kontorstid" in said and "inte anonym" in said


# ---------------------------------------------------------------- wording


def test_wording_fixes(domain):
    joined = "\n".join(all_texts(domain).values())
    for wrong in ("gäller reglerna för barn dem", "när den kommer", "maktlöshet är vanligt"):
        assert wrong not in joined
    assert "konfliktzon" not in joined  # one term: konfliktområde
    # Typographic quotes only.
    assert not re.search(r'"', joined)
    for term in ("förvaltningsrätten, en domstol", "socialjouren, socialtjänstens jour"):
        assert term in joined


def test_the_greeting_is_not_a_second_welcome(domain):
    assert "välkommen" not in text(domain, "utter_greet").lower()
    for channel in CHANNELS:
        assert not text(domain, f"utter_privacy_notice_{channel}").startswith("Välkommen")


# ---------------------------------------------------------------- new topics


@pytest.mark.parametrize(
    ("name", "facts"),
    [
        ("utter_gangs", ["under 15 kan inte dömas", "18 eller 19", "SiS", "avhopparsamordning"]),
        ("utter_honour", ["utreseförbud", "tillfälligt förbud", "{phone_kvinnofrid}", "jouren"]),
        ("utter_own_safety", ["{phone_police}", "{phone_kvinnofrid}", "skyddat boende"]),
        ("utter_school", ["måste anmäla", "kan inte vara anonyma", "utan att säga vem"]),
        ("utter_online", ["Prata hellre än att kontrollera", "skärmdump", "{phone_police}"]),
        ("utter_legal", ["1 juni 2023", "gjorde innan", "behöver inte vittna", "under 15"]),
    ],
)  # fmt: skip
def test_the_new_topics_answer_from_the_brief(domain, name, facts):
    said = text(domain, name)
    assert all(fact in said for fact in facts), name


def test_the_other_language_answer_is_in_english_and_swedish_with_112(domain):
    said = text(domain, "utter_other_language")
    assert "This chat is in Swedish" in said and "bara på svenska" in said
    assert said.count("{phone_emergency}") == 2 and "tolk" in said


def test_the_web_chat_note_says_what_the_browser_and_the_service_keep():
    import yaml

    from bot.settings import PROJECT_ROOT

    widget = yaml.safe_load((PROJECT_ROOT / "data/texts/widget.yml").read_text(encoding="utf-8"))
    note = widget["widget"]["shared_computer_note"]
    assert "I webbläsaren" in note and "Hos oss sparas" in note and "historiken" in note
    assert "Chatten sparas bara i den här fliken" not in note
