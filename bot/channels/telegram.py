"""Telegram: POST /webhooks/telegram/webhook, answers through the Bot API.

Rasa's own Telegram channel does not check who calls its webhook. Here every call must
carry the secret token Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (set with
setWebhook: `make telegram-webhook`); anything else gets 401 and reaches no one. Only
private chats are answered. The chat id becomes `telegram-<keyed hash>`; buttons become
inline keyboard buttons whose callback data is the payload. While a handler in the
conversation types, the relative sees Telegram's "typing…" (sendChatAction; the dashboard
asks through bot/channels/staff_typing.py).

    python -m bot.channels.telegram set-webhook   # getMe, then setWebhook with the secret
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sys
from typing import Any

import aiohttp
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels import staff_typing
from bot.channels.addresses import Address, AddressBook
from bot.channels.messaging import MessagingInput, MessagingOutput, ProviderError
from bot.conversation import START_PAYLOAD
from bot.pseudonym import channel_sender_id
from bot.settings import Settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096  # Telegram's limit for one message
MAX_CALLBACK_DATA = 64  # bytes
TIMEOUT_SECONDS = 15


class BotApi:
    """The few Bot API methods used, at a configurable base URL (TELEGRAM_API_URL)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    async def call(self, method: str, payload: dict[str, Any], retries: int = 2) -> Any:
        url = f"{self.base_url}/bot{self.token}/{method}"
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, json=payload) as reply,
            ):
                body = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise ProviderError(f"{method}: {type(error).__name__}") from None
        if isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        code = body.get("error_code") if isinstance(body, dict) else reply.status
        retry_after = ((body or {}).get("parameters") or {}).get("retry_after")
        if code == 429 and retries > 0 and isinstance(retry_after, int) and retry_after <= 30:
            await asyncio.sleep(retry_after)  # Telegram asks to slow down
            return await self.call(method, payload, retries - 1)
        raise ProviderError(f"{method}: Telegram answered {code}")


def inline_keyboard(buttons: list[dict[str, str]]) -> dict[str, Any]:
    rows = [
        [{"text": button["title"], "callback_data": button["payload"]}]
        for button in buttons
        if len(button["payload"].encode()) <= MAX_CALLBACK_DATA
    ]
    return {"inline_keyboard": rows}


class TelegramOutput(MessagingOutput):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, addresses: AddressBook, api: BotApi, strict: bool = False) -> None:
        super().__init__(addresses, strict)
        self.api = api

    async def deliver(self, address: Address, text: str, buttons: list[dict[str, str]]) -> None:
        chunks = [text[start : start + MAX_TEXT] for start in range(0, len(text), MAX_TEXT)] or [""]
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {"chat_id": int(address.to), "text": chunk or "…"}
            if buttons and index == len(chunks) - 1:
                payload["reply_markup"] = inline_keyboard(buttons)
            await self.api.call("sendMessage", payload)


def is_chat_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class TelegramInput(MessagingInput):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, config: Settings) -> None:
        super().__init__(config)
        self.api = BotApi(config.telegram_api_url, config.telegram_bot_token)

    def output(self, strict: bool = False) -> TelegramOutput:
        return TelegramOutput(self.addresses, self.api, strict)

    @property
    def configured(self) -> bool:
        return bool(self.config.telegram_bot_token and self.config.telegram_secret_token)

    async def show_staff_typing(self, conversation_id: str) -> bool:
        """Telegram's "typing…" in the relative's chat, if it is a Telegram conversation
        whose address this server can find (bot/channels/addresses.py)."""
        if not self.configured or not conversation_id.startswith(f"{self.name()}-"):
            return False
        address = await self.addresses.lookup(conversation_id)
        if address is None or address.channel != self.name():
            return False
        # No retry: a typing indicator that comes late is worse than none.
        await self.api.call(
            "sendChatAction", {"chat_id": int(address.to), "action": "typing"}, retries=0
        )
        return True

    def blueprint(self, on_new_message) -> Blueprint:
        telegram_webhook = self.webhook_blueprint()
        staff_typing.register(self.name(), self.show_staff_typing)

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            if not self.configured:
                return self.not_configured()
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.config.telegram_secret_token.encode()):
                return response.json({"error": "unauthorized"}, status=401)
            try:
                update = request.json
            except Exception:  # Sanic raises its own error for a body that is not JSON
                update = None
            if not isinstance(update, dict):
                return response.json({"error": "the body must be a Telegram Update"}, status=400)
            if not await self.first_time(update.get("update_id")):
                return response.json({"ok": True})  # resent or replayed: answered once
            await self._handle(update, on_new_message)
            return response.json({"ok": True})

        return telegram_webhook

    async def _handle(self, update: dict[str, Any], on_new_message) -> None:
        callback = update.get("callback_query")
        message = update.get("message")
        if isinstance(callback, dict):
            message = callback.get("message") or {}
            text = callback.get("data")
            await self._acknowledge(callback.get("id"))
        elif isinstance(message, dict):
            text = message.get("text")
        else:
            return  # edited messages, channel posts, ...: nothing to answer
        chat = message.get("chat") if isinstance(message, dict) else None
        if not isinstance(chat, dict) or chat.get("type") != "private":
            return  # groups and channels are not for this
        if not is_chat_id(chat.get("id")):
            return  # Telegram's chat ids are integers: anything else is not from Telegram
        conversation_id = channel_sender_id("telegram", str(chat["id"]), self.config.pseudonym_key)
        address = Address("telegram", str(chat["id"]))
        await self.pass_on(conversation_id, address, text, on_new_message)

    async def translate(self, text: str, conversation_id: str, request) -> str:
        # Telegram's first message: the privacy notice first.
        return START_PAYLOAD if text.strip() == "/start" else text

    async def _acknowledge(self, callback_id: Any) -> None:
        """Telegram shows a spinner on the button until the press is answered."""
        if not isinstance(callback_id, str):
            return
        try:
            await self.api.call("answerCallbackQuery", {"callback_query_id": callback_id})
        except ProviderError as error:
            logger.warning("telegram: button press not acknowledged (%s)", error)


async def set_webhook(config: Settings) -> str:
    """Registers TELEGRAM_WEBHOOK_URL with the secret token; returns the bot's username."""
    if not (config.telegram_bot_token and config.telegram_secret_token):
        raise SystemExit("Set TELEGRAM_BOT_TOKEN and TELEGRAM_SECRET_TOKEN in .env first.")
    if not config.telegram_webhook_url.startswith("https://"):
        raise SystemExit("TELEGRAM_WEBHOOK_URL must be the public https:// address.")
    api = BotApi(config.telegram_api_url, config.telegram_bot_token)
    me = await api.call("getMe", {})
    await api.call(
        "setWebhook",
        {
            "url": config.telegram_webhook_url,
            "secret_token": config.telegram_secret_token,
            "allowed_updates": ["message", "callback_query"],
            "drop_pending_updates": True,
        },
    )
    return me.get("username", "")


if __name__ == "__main__":
    if sys.argv[1:] != ["set-webhook"]:
        print("usage: python -m bot.channels.telegram set-webhook", file=sys.stderr)
        raise SystemExit(2)
    settings = Settings.from_environment()
    username = asyncio.run(set_webhook(settings))
    print(f"Webhook set for @{username}: {settings.telegram_webhook_url}")
