"""Bounded work per message (issue 17): a message over the limit is answered politely
and never handed to Rasa (no NLU, no redaction, no storage)."""

from __future__ import annotations

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.input_limits import bounded, too_long_answer


async def test_a_message_over_the_limit_is_answered_and_goes_no_further():
    handed_on: list[str] = []

    async def rasa(message: UserMessage) -> None:
        handed_on.append(message.text)

    output = CollectingOutputChannel()
    handle = bounded(rasa, max_chars=100)
    await handle(UserMessage("a" * 101, output, "conversation-1"))
    assert handed_on == []
    assert [message["text"] for message in output.messages] == [too_long_answer(100)]
    assert "100 tecken" in too_long_answer(100) and "112" in too_long_answer(100)


async def test_a_message_within_the_limit_is_handed_on_unchanged():
    handed_on: list[str] = []

    async def rasa(message: UserMessage) -> None:
        handed_on.append(message.text)

    output = CollectingOutputChannel()
    await bounded(rasa, max_chars=100)(UserMessage("a" * 100, output, "conversation-1"))
    assert handed_on == ["a" * 100] and output.messages == []


async def test_a_message_rasa_cannot_handle_is_still_answered_with_the_emergency_number():
    async def failing_rasa(message: UserMessage) -> None:
        raise ConnectionError("the tracker store is down")

    output = CollectingOutputChannel()
    await bounded(failing_rasa, max_chars=100)(UserMessage("hjälp", output, "conversation-1"))
    [answer] = output.messages
    assert answer["text"].startswith("Jag kan inte svara just nu") and "112" in answer["text"]


def test_runs_without_spaces_get_breathing_spaces_and_lose_nothing():
    from bot.channels.input_limits import LONGEST_WORD, with_breathing_spaces

    emoji = "😀" * 4000
    broken = with_breathing_spaces(f"hej {emoji} då")
    assert broken.replace(" ", "") == f"hej{emoji}då"
    assert max(len(word) for word in broken.split()) == LONGEST_WORD
    ordinary = "min bror har skaffat ett vapen, https://example.com/a/b?c=d"
    assert with_breathing_spaces(ordinary) == ordinary


async def test_a_long_run_reaches_rasa_broken_into_words():
    from bot.channels.input_limits import LONGEST_WORD

    handed_on: list[str] = []

    async def rasa(message: UserMessage) -> None:
        handed_on.append(message.text)

    await bounded(rasa, max_chars=4000)(
        UserMessage("!" * 1000, CollectingOutputChannel(), "conversation-1")
    )
    assert max(len(word) for word in handed_on[0].split()) == LONGEST_WORD
