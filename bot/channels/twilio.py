"""SMS and WhatsApp through Twilio: POST /webhooks/twilio/webhook, answers through
Twilio's Messages API.

Every call must carry a valid `X-Twilio-Signature` (HMAC-SHA1 with the account's auth
token over TWILIO_WEBHOOK_URL and the form fields, checked with Twilio's own
RequestValidator); anything else gets 403. The phone number becomes `sms-<keyed hash>` or
`whatsapp-<keyed hash>` and is never stored or logged. Buttons become numbered choices the
relative answers with a digit; long answers are cut into parts of at most SMS_MAX_CHARS.
The webhook answers with empty TwiML; the answers go out through the API, so a handler's
message from the dashboard takes the same way.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import aiohttp
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from twilio.request_validator import RequestValidator

from bot.channels.addresses import Address, AddressBook
from bot.channels.messaging import MessagingInput, MessagingOutput, ProviderError
from bot.channels.rendering import (
    buttons_of,
    chosen_payload,
    split_for_sms,
    with_numbered_choices,
)
from bot.pseudonym import channel_sender_id
from bot.settings import Settings

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
WHATSAPP_PREFIX = "whatsapp:"
MAX_BODY = 1600  # Twilio's limit for one message, SMS or WhatsApp
TIMEOUT_SECONDS = 15


class MessagesApi:
    """POST /2010-04-01/Accounts/<sid>/Messages.json at TWILIO_API_URL."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = aiohttp.BasicAuth(account_sid, auth_token)

    async def send(self, to: str, via: str, body: str) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, auth=self.auth) as session,
                session.post(self.url, data={"To": to, "From": via, "Body": body}) as reply,
            ):
                if reply.status >= 400:
                    details = await reply.json(content_type=None)
                    code = details.get("code") if isinstance(details, dict) else None
                    raise ProviderError(f"Twilio answered {reply.status} (code {code})")
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise ProviderError(type(error).__name__) from None


class TwilioOutput(MessagingOutput):
    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(
        self, addresses: AddressBook, api: MessagesApi, sms_max_chars: int, strict: bool = False
    ) -> None:
        super().__init__(addresses, strict)
        self.api = api
        self.sms_max_chars = sms_max_chars

    async def deliver(self, address: Address, text: str, buttons: list[dict[str, str]]) -> None:
        body = with_numbered_choices(text, buttons)
        limit = self.sms_max_chars if address.channel == "sms" else MAX_BODY
        for part in split_for_sms(body, min(limit, MAX_BODY)):
            await self.api.send(address.to, address.via, part)


class TwilioInput(MessagingInput):
    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, config: Settings) -> None:
        super().__init__(config)
        self.api = MessagesApi(
            config.twilio_api_url, config.twilio_account_sid, config.twilio_auth_token
        )
        self.validator = RequestValidator(config.twilio_auth_token)

    def output(self, strict: bool = False) -> TwilioOutput:
        return TwilioOutput(self.addresses, self.api, self.config.sms_max_chars, strict)

    @property
    def configured(self) -> bool:
        config = self.config
        return all((config.twilio_account_sid, config.twilio_auth_token, config.twilio_webhook_url))

    def blueprint(self, on_new_message) -> Blueprint:
        twilio_webhook = self.webhook_blueprint()

        @twilio_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            if not self.configured:
                return self.not_configured()
            fields = _form_fields(request)
            signature = request.headers.get(SIGNATURE_HEADER, "")
            if not signature or not self.validator.validate(
                self.config.twilio_webhook_url, fields, signature
            ):
                return response.json({"error": "invalid signature"}, status=403)
            sender, ours = fields.get("From", ""), fields.get("To", "")
            if not sender or not ours:
                return response.json({"error": "From and To are required"}, status=400)
            if await self.first_time(fields.get("MessageSid")):  # resent or replayed: once
                channel = "whatsapp" if sender.startswith(WHATSAPP_PREFIX) else "sms"
                conversation_id = channel_sender_id(channel, sender, self.config.pseudonym_key)
                address = Address(channel, sender, ours)
                body = fields.get("Body", "")
                await self.pass_on(conversation_id, address, body, on_new_message, request)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return twilio_webhook

    async def translate(self, text: str, conversation_id: str, request) -> str:
        # A digit answers the numbered choices of the bot's last answer.
        offered = await _buttons_last_offered(request, conversation_id)
        return chosen_payload(text, offered) or text


def _form_fields(request: Request) -> dict[str, str]:
    """The form fields with empty ones kept: Twilio signs them too (an empty Body)."""
    try:
        parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name: values[0] for name, values in parsed.items()}


async def _buttons_last_offered(request: Request, conversation_id: str) -> list[dict[str, str]]:
    """The buttons of the bot's answer since the relative last wrote, read from the
    tracker store: a digit means the same whichever Rasa server receives it."""
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return []
    tracker = await agent.tracker_store.retrieve(conversation_id)
    if tracker is None:
        return []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            # The same buttons, in the same order, as the numbers the relative was shown.
            return buttons_of(event.data)
    return []
