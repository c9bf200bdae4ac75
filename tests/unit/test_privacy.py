"""Deleting a conversation (action_delete_conversation) and what the tracker store keeps."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import ActionExecuted, UserUttered

from actions.privacy import ActionCheckDeleteRequest, ActionDeleteConversation, is_deletion_request
from bot.privacy.tracker_store import DELETE_ACTION, deletion_requested, redacted_event
from tests.conftest import response_names
from tests.support.fakes import UnreachableStore

KEY = "unit-test-key"

# What deleting does to a real escalation store: tests/integration/test_actions_on_the_store.py.


async def test_a_database_failure_still_deletes_and_answers(
    configure, dispatcher, make_tracker, domain
):
    configure(UnreachableStore, pseudonym_key=KEY)
    tracker = make_tracker("radera mitt samtal", "delete_conversation")
    await ActionDeleteConversation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_conversation_deleted_web"]


def test_user_events_are_stored_redacted_without_metadata():
    event = UserUttered(
        "jag heter Maria, 070-123 45 67",
        {"name": "share_worry"},
        entities=[{"entity": "name", "value": "Maria"}],
        parse_data={"text": "jag heter Maria, 070-123 45 67", "metadata": {"ip": "1.2.3.4"}},
        metadata={"ip": "1.2.3.4"},
    ).as_dict()
    stored = redacted_event(event)
    assert stored["text"] == "jag heter [namn], [telefon]"
    assert stored["parse_data"]["text"] == "jag heter [namn], [telefon]"
    assert stored["parse_data"]["entities"][0]["value"] == "[namn]"
    assert stored["metadata"] == {} and "metadata" not in stored["parse_data"]
    assert event["text"] == "jag heter Maria, 070-123 45 67"  # the original is untouched


def test_the_parse_text_is_redacted_also_when_it_differs_from_the_message():
    event = UserUttered("Maria ringde", {"name": "x"}, parse_data={"text": "Ahmed ringde"})
    stored = redacted_event(event.as_dict())
    assert (stored["text"], stored["parse_data"]["text"]) == ("[namn] ringde", "[namn] ringde")


def test_answers_are_remembered_redacted_and_a_handlers_messages_are_not_remembered():
    """The domain's answers repeat on every turn and are redacted once (issue 21); what a
    handler writes (no response name) is redacted each time and never kept in memory."""
    from rasa.shared.core.events import BotUttered

    from bot.bootstrap import services

    remembered = services().redactor.redact_answer
    answer = BotUttered("Ring Maria på 070-123 45 67.", metadata={"utter_action": "utter_x"})
    handler = BotUttered("Hej, jag heter Ahmed, nå mig på 070-765 43 21.", metadata={})
    before = remembered.cache_info()
    assert redacted_event(answer.as_dict())["text"] == "Ring [namn] på [telefon]."
    assert redacted_event(answer.as_dict())["text"] == "Ring [namn] på [telefon]."
    after = remembered.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    assert "[telefon]" in redacted_event(handler.as_dict())["text"]
    assert remembered.cache_info().currsize == after.currsize


def test_text_slots_are_redacted_and_other_values_kept():
    slot = {"event": "slot", "name": "x", "value": ["Maria", 3, None]}
    assert redacted_event(slot)["value"] == ["[namn]", 3, None]
    assert redacted_event({"event": "slot", "name": "y", "value": 0.5})["value"] == 0.5


def test_deletion_is_requested_by_the_delete_action_only():
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker("x", [])
    tracker.update(UserUttered("radera", {"name": "delete_conversation"}))
    assert not deletion_requested(tracker)
    tracker.update(ActionExecuted(DELETE_ACTION))
    assert deletion_requested(tracker)


def test_log_lines_are_masked_by_the_filter(caplog, redactor):
    import logging

    from bot.privacy.log_filter import RedactingFilter

    logger = logging.getLogger("vagvisaren.test")
    caplog.handler.addFilter(RedactingFilter(redactor))
    with caplog.at_level(logging.INFO):
        logger.error("failed for %s", "ring 070-123 45 67")
    assert "070-123" not in caplog.text and "[telefon]" in caplog.text


def test_tracebacks_and_loggers_with_their_own_handlers_are_masked(redactor):
    """Issue 17: only the message was masked; an exception's text in the traceback was
    written as it was, and loggers with handlers of their own (Sanic's) had no filter."""
    import io
    import logging

    from bot.privacy import log_filter

    stream = io.StringIO()
    logger = logging.getLogger("vagvisaren.test.own_handler")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream))
    log_filter.install(redactor)
    try:
        raise ValueError("kunde inte spara: ring 070-123 45 67, personnummer 19121212-1212")
    except ValueError:
        logger.exception("failed")
        logger.error("again", stack_info=True)
    written = stream.getvalue()
    assert "Traceback" in written and "ValueError" in written
    assert "070-123" not in written and "19121212" not in written
    assert "[telefon]" in written


def _delete_examples() -> list[str]:
    from tests.support.nlu_data import training_examples

    return [text for intent, text in training_examples() if intent == "delete_conversation"]


def test_deletion_asked_for_in_words_is_recognised():
    examples = _delete_examples()
    recognised = [example for example in examples if is_deletion_request(example)]
    # A typo the words miss gets the question with a button instead, so near all is enough.
    assert len(recognised) >= 0.95 * len(examples)
    assert is_deletion_request("/delete_conversation")


@pytest.mark.parametrize(
    "text", ["<select><option><img src=x onerror=alert(1)></option></select>", "hej", "ok"]
)
async def test_a_message_not_asking_for_deletion_gets_a_question_not_a_deletion(
    text, dispatcher, make_tracker, domain
):
    events = await ActionCheckDeleteRequest().run(
        dispatcher, make_tracker(text, "delete_conversation"), domain
    )
    assert events == []
    assert response_names(dispatcher) == ["utter_ask_delete_confirm"]
    button = dispatcher.messages[0]
    assert domain["responses"]["utter_ask_delete_confirm"][0]["buttons"][0]["payload"] == (
        "/delete_conversation"
    )
    assert button["response"] == "utter_ask_delete_confirm"


async def test_a_request_in_words_goes_on_to_the_deletion(dispatcher, make_tracker, domain):
    events = await ActionCheckDeleteRequest().run(
        dispatcher, make_tracker("radera mitt samtal", "delete_conversation"), domain
    )
    assert events == [{"event": "followup", "timestamp": None, "name": DELETE_ACTION}]
    assert dispatcher.messages == []


def messaging_tracker(make_tracker, text: str, before: list[tuple[str, str]], channel="sms"):
    """The latest message `text` on a messaging channel, after `before`: (kind, text or
    response name) pairs, oldest first."""
    tracker = make_tracker(text, "delete_conversation", sender_id=f"{channel}-0123456789abcdef")
    earlier = [
        {"event": "user", "text": said}
        if kind == "user"
        else {"event": "bot", "metadata": {"utter_action": said}}
        for kind, said in before
    ]
    tracker.events = [*earlier, *tracker.events]
    return tracker


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "telegram"])
@pytest.mark.parametrize("text", ["radera mitt samtal", "/delete_conversation"])
async def test_on_a_messaging_channel_a_request_alone_gets_the_question(
    channel, text, dispatcher, make_tracker, domain
):
    """Issue 17: a captured and replayed webhook call ("radera mitt samtal", or the
    confirmation's button) deleted the relative's conversation again."""
    tracker = messaging_tracker(
        make_tracker, text, [("user", "hej"), ("bot", "utter_greet")], channel
    )
    events = await ActionCheckDeleteRequest().run(dispatcher, tracker, domain)
    assert events == []
    assert response_names(dispatcher) == ["utter_ask_delete_confirm"]


@pytest.mark.parametrize("text", ["/delete_conversation", "radera det"])
async def test_on_a_messaging_channel_the_answer_to_the_question_deletes(
    text, dispatcher, make_tracker, domain
):
    before = [("user", "radera mitt samtal"), ("bot", "utter_ask_delete_confirm")]
    tracker = messaging_tracker(make_tracker, text, before)
    events = await ActionCheckDeleteRequest().run(dispatcher, tracker, domain)
    assert events == [{"event": "followup", "timestamp": None, "name": DELETE_ACTION}]
    assert dispatcher.messages == []


async def test_a_confirmation_after_the_conversation_moved_on_does_not_delete(
    dispatcher, make_tracker, domain
):
    before = [
        ("user", "radera mitt samtal"),
        ("bot", "utter_ask_delete_confirm"),
        ("user", "vad gör socialtjänsten?"),
        ("bot", "utter_social_services"),
    ]
    tracker = messaging_tracker(make_tracker, "/delete_conversation", before)
    assert await ActionCheckDeleteRequest().run(dispatcher, tracker, domain) == []
    assert response_names(dispatcher) == ["utter_ask_delete_confirm"]
