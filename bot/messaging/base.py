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

import logging
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel

from bot.messaging.addresses import Address, AddressBook
from bot.messaging.rendering import buttons_of, message_text

logger = logging.getLogger(__name__)


class ProviderError(RuntimeError):
    """The provider refused or could not be reached; never carries text or addresses."""


class MessagingOutput(OutputChannel):
    def __init__(self, addresses: AddressBook) -> None:
        self.addresses = addresses

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text, buttons = message_text(message), buttons_of(message)
        if not text and not buttons:
            return  # images, attachments and custom data have no place here
        address = self.addresses.lookup(recipient_id)
        if address is None:
            logger.warning(
                "%s: no address for the conversation (it is kept in memory only); "
                "the message was not sent",
                self.name(),
            )
            return
        try:
            await self.deliver(address, text, buttons)
        except ProviderError as error:
            logger.error("%s: message not delivered (%s)", self.name(), error)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def deliver(self, address: Address, text: str, buttons: list[dict[str, str]]) -> None:
        raise NotImplementedError


class MessagingInput(InputChannel):
    """An input channel whose output channel can be made again from its address book, so
    Rasa's `output_channel=latest` (the dashboard's handoff) reaches the relative."""

    addresses: AddressBook

    def output(self) -> MessagingOutput:
        raise NotImplementedError

    def get_output_channel(self) -> OutputChannel | None:
        return self.output()
