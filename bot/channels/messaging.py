"""What the Telegram and Twilio channels share.

Usage: a channel subclasses `MessagingInput` (name, blueprint, `output`) and
`MessagingOutput`, whose one job is `deliver(address, text, buttons)`:

    class MyOutput(MessagingOutput):
        async def deliver(self, address, text, buttons): ...  # call the provider's API

The output looks up the relative's address (addresses.py) for the pseudonymous recipient id
Rasa gives it, and sends every kind of answer as text plus buttons: a handler's message
(marked `{"custom": {"sender": "staff"}}`) with the staff label in front.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.abuse_limits import paced, process_limits
from bot.channels.addresses import Address, AddressBook, address_book
from bot.channels.deliveries import DeliveryLog
from bot.channels.input_limits import bounded
from bot.channels.rendering import buttons_of, message_text, texts
from bot.conversation import NOT_DELIVERED, UNREACHABLE, responses_of
from bot.settings import Settings

logger = logging.getLogger(__name__)

# actions/privacy.py's answer once a conversation is deleted (utter_conversation_deleted_sms,
# ..._telegram, ..._escalation_kept): the relative's address is forgotten after the turn.
DELETED_RESPONSE = "utter_conversation_deleted"


class ProviderError(RuntimeError):
    """The provider refused or could not be reached; never carries text or addresses."""


class RelativeUnreachable(ProviderError):
    """No address for the conversation in the address book (it expired, the relative
    deleted the conversation, or the server restarted, or Redis was down, since the
    relative last wrote)."""


class MessagingOutput(OutputChannel):
    """`strict`: for messages Rasa's API sends (a handler's, from the dashboard), a message
    that cannot be delivered raises, so the API call fails and the handler is told. In a
    webhook call it is logged instead: failing the call would make the provider resend."""

    def __init__(self, addresses: AddressBook, strict: bool = False) -> None:
        self.addresses = addresses
        self.strict = strict
        # Set when this turn told the relative their conversation is deleted.
        self.deleted = False

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if any(name.startswith(DELETED_RESPONSE) for name in responses_of(message)):
            self.deleted = True
        text, buttons = message_text(message), buttons_of(message)
        if not text and not buttons:
            return  # images, attachments and custom data have no place here
        address = await self.addresses.lookup(recipient_id)
        if address is None:
            logger.warning("%s: no address for the conversation", self.name())
            if self.strict:
                raise RelativeUnreachable(UNREACHABLE)
            return
        try:
            await self.deliver(address, text, buttons)
        except ProviderError as error:
            logger.error("%s: message not delivered (%s)", self.name(), error)
            if self.strict:
                raise ProviderError(NOT_DELIVERED) from None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def deliver(self, address: Address, text: str, buttons: list[dict[str, str]]) -> None:
        raise NotImplementedError


class MessagingInput(InputChannel):
    """An input channel configured from bot.settings (credentials.yml only names it),
    whose output channel can be made again from its address book, so Rasa's
    `output_channel=latest` (the dashboard's handoff) reaches the relative.

    A subclass gives `configured`, `output()` and the webhook route; `webhook_blueprint()`
    makes its blueprint with the health route, and `pass_on()` hands a message to Rasa."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        # In Redis when REDIS_URL is set, so that every server can answer (addresses.py).
        self.addresses = address_book(config)
        self.deliveries = DeliveryLog(
            config.escalation_database_url, config.pseudonym_key, config.messaging_delivery_days
        )

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> MessagingInput:
        # Rasa builds the channel from credentials.yml: it is configured from this
        # process's settings (bot/bootstrap.py), which hold the provider's secrets.
        from bot.bootstrap import services

        return cls(services().settings)

    @property
    def configured(self) -> bool:
        raise NotImplementedError

    def output(self, strict: bool = False) -> MessagingOutput:
        raise NotImplementedError

    def get_output_channel(self) -> OutputChannel | None:
        return self.output(strict=True)  # Rasa's API: the dashboard's handoff

    def webhook_blueprint(self) -> Blueprint:
        blueprint = Blueprint(f"{self.name()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok" if self.configured else "not configured"})

        return blueprint

    def not_configured(self) -> HTTPResponse:
        return response.json({"error": f"{self.name()} is not configured"}, status=404)

    async def first_time(self, delivery_id: Any) -> bool:
        """Whether this webhook delivery is new: a provider's resend, or a captured call
        replayed, also after a restart or on another server, is answered once
        (bot/channels/deliveries.py)."""
        return await asyncio.to_thread(self.deliveries.first_time, self.name(), delivery_id)

    async def pass_on(
        self, conversation_id: str, address: Address, text: Any, on_new_message, request=None
    ) -> None:
        """Remembers where to answer, and gives the text to Rasa; a message without text
        (a picture, a sticker) gets a polite request for words instead. A turn that
        deleted the conversation forgets the address at once."""
        await self.addresses.remember(conversation_id, address)
        output = self.output()
        if not isinstance(text, str) or not text.strip():
            await output.send_response(conversation_id, {"text": texts()["text_only"]})
            return
        text = await self.translate(text, conversation_id, request)
        handle = paced(
            bounded(on_new_message, self.config.max_message_chars),
            process_limits().per_conversation,
        )
        await handle(UserMessage(text, output, conversation_id, input_channel=self.name()))
        if output.deleted:
            await self.addresses.forget(conversation_id)

    async def translate(self, text: str, conversation_id: str, request) -> str:
        """What the channel's text means to the bot (a Telegram command, a chosen number)."""
        return text
