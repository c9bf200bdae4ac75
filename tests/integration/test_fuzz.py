"""CI's share of `make fuzz` (tools/fuzz.py, issue 17): a seeded few hundred generated inputs
against the test servers; no answer of 500 or more, no timeout, no crashed server, and a
normal relative is answered afterwards. Plus the action server's own regression: what is
not an action call gets a 400 that does not echo it."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
import zlib

import pytest

from bot.staff.model import Role
from tests.support.messaging_apis import TELEGRAM_SECRET, TWILIO_TOKEN, TWILIO_WEBHOOK_URL
from tests.support.servers import TEST_JWT_SECRET, admin_token
from tools.fuzz import Targets, answers_a_relative, run_cases

pytestmark = pytest.mark.slow

SEED = 1717
CI_INPUTS = 300


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_action_server_answers_what_is_not_an_action_call_with_400_and_no_echo(bot):
    """rasa_sdk answered these with 500 and the request body (a relative's words, in a
    real tracker) in the answer."""
    marker = "Ekomarkör min son heter Adam"
    url = bot.processes.action_url + "/webhook"
    bodies = [
        json.dumps([marker]).encode(),
        json.dumps({"next_action": "action_session_start", "tracker": marker}).encode(),
        json.dumps({"next_action": marker, "version": 3, "tracker": {}}).encode(),
        b'{"next_action": "' + marker.encode() + b'"',
    ]
    for body in bodies:
        status, text = post(url, body)
        assert status == 400, (body, status, text)
        assert "Ekomarkör" not in text and "Adam" not in text
    status, text = post(url, json.dumps([marker]).encode(), {"Content-Encoding": "deflate"})
    assert status == 400 and "Adam" not in text
    bomb = zlib.compress(b" " * 50_000_000)
    assert post(url, bomb, {"Content-Encoding": "deflate"})[0] == 413


def test_a_conversation_id_the_database_cannot_take_does_not_stop_rasa(bot):
    """Rasa's SQL tracker store exited the whole server on it (any ValueError)."""
    reply = bot.request("/webhooks/rest/webhook", raw=b'{"sender": "s\\ud800", "message": "hej"}')
    assert reply.status == 400  # a clear refusal, before Rasa
    assert bot.processes.processes["rasa"].poll() is None
    assert bot.say(uuid.uuid4().hex, "hej")


def test_the_tracker_store_lets_a_database_error_through_instead_of_exiting(tmp_path):
    from rasa.shared.core.domain import Domain

    from bot.privacy.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 't.db'}")
    with pytest.raises(UnicodeEncodeError):
        asyncio.run(store.retrieve("s\ud800"))


@pytest.mark.parametrize("written", ["hej \\ud800 min son", "hej \\u0000 min son"])
def test_a_message_with_a_lone_surrogate_or_nul_is_answered(bot, written):
    """spaCy and the stores failed on them: the relative got no answer."""
    sender = uuid.uuid4().hex
    raw = f'{{"sender": "{sender}", "message": "{written}"}}'.encode()
    reply = bot.request("/webhooks/rest/webhook", raw=raw)
    assert reply.status == 200 and reply.body, reply
    assert bot.bot_responses(sender)


def test_a_rest_body_without_a_message_is_refused(bot):
    """Rasa's NLU failed on a missing text (the relative-facing failure answer went out)."""
    reply = bot.request("/webhooks/rest/webhook", {"sender": uuid.uuid4().hex})
    assert reply.status == 400, reply


@pytest.mark.parametrize("metadata", [5, "x", True])
def test_rest_metadata_that_is_not_an_object_does_not_stop_the_answer(bot, metadata):
    """Rasa's tracker failed on it, and the message was never handled."""
    sender = uuid.uuid4().hex
    payload = {"sender": sender, "message": "hej", "metadata": metadata}
    assert bot.request("/webhooks/rest/webhook", payload).status == 200
    assert bot.bot_responses(sender)


def test_rest_metadata_rasa_cannot_send_to_the_action_server_is_dropped(bot):
    """Every action call of the conversation carried it, and the action server refused them."""
    sender = uuid.uuid4().hex
    raw = f'{{"sender": "{sender}", "message": "hej", "metadata": {{"x": "\\ud800"}}}}'
    assert bot.request("/webhooks/rest/webhook", raw=raw.encode()).status == 200
    assert bot.bot_responses(sender)


async def test_a_websocket_frame_that_is_not_a_packet_closes_the_socket_without_a_500(bot):
    """The decoding error escaped python-engineio's websocket loop: Sanic logged a 500."""
    import aiohttp

    before = len(bot.logs())
    url = bot.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive(timeout=10)  # the engine.io OPEN packet
        await ws.send_str("\u7f7d")
        closed = await ws.receive(timeout=10)
    # Sanic's end of a websocket is not a clean close frame; the socket is gone either way.
    ended = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert closed.type in ended
    assert "Exception occurred while handling uri" not in bot.logs()[before:]


def test_a_websocket_handshake_without_connection_upgrade_gets_400(bot):
    """python-engineio answered it as a polling request: Sanic's 500."""
    url = f"{bot.url}/socket.io/?EIO=4&transport=websocket"
    headers = {"Upgrade": "websocket", "Connection": "close"}
    request = urllib.request.Request(url, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400


async def test_a_websocket_handshake_the_websockets_package_refuses_gets_400(bot):
    """Sanic 21.12 failed on the refusal itself (`Request` has no `_exception`): a 500."""
    import aiohttp

    url = f"{bot.url}/socket.io/?EIO=4&transport=websocket"
    headers = {
        "Upgrade": "WebSocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "999999999999",
    }
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as reply:
        assert reply.status == 400


@pytest.mark.parametrize("chat_id", [1.5, "abc", None, True])
def test_a_telegram_update_whose_chat_id_is_not_a_number_is_ignored(bot, chat_id):
    """The answer's delivery failed on int(chat id): a 500."""
    update = {
        "update_id": uuid.uuid4().int % 10**12,
        "message": {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"},
                    "text": "hej"},
    }  # fmt: skip
    reply = bot.request(
        "/webhooks/telegram/webhook",
        update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert reply.status == 200, reply


@pytest.mark.parametrize(
    "raw",
    [b'{"text": null}', b'{"text": 5}', b"[1]", b"not json", b'{"text": "\\ud800"}'],
)
def test_a_malformed_parse_request_gets_400(bot, raw):
    """Rasa answered 500 (its own 400 for a failed parse is caught and turned into 500)."""
    assert bot.request("/model/parse", raw=raw, token=admin_token()).status == 400
    assert bot.request("/model/parse", {"text": "hej"}, token=admin_token()).status == 200


def test_an_engine_io_packet_no_client_sends_gets_400_at_once(bot):
    """python-engineio waited for a poll that never came: the POST hung for a minute."""
    with urllib.request.urlopen(f"{bot.url}/socket.io/?EIO=4&transport=polling", timeout=10) as r:
        sid = json.loads(r.read().decode()[1:])["sid"]
    url = f"{bot.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert post(url, b"40", {"Content-Type": "text/plain"})[0] == 200
    started = time.monotonic()
    try:
        status = post(url, b"6", {"Content-Type": "text/plain"}, timeout=10)[0]
    except TimeoutError:
        status = None
    assert status == 400 and time.monotonic() - started < 10


def test_a_seeded_share_of_make_fuzz(bot, dashboard):
    setup_token = dashboard.accounts.create_user(f"fuzz{uuid.uuid4().hex[:8]}", Role.HANDLER)
    targets = Targets(
        rasa_url=bot.url,
        action_url=bot.processes.action_url,
        staff_url=dashboard.url,
        jwt_secret=TEST_JWT_SECRET,
        telegram_secret=TELEGRAM_SECRET,
        twilio_token=TWILIO_TOKEN,
        twilio_webhook_url=TWILIO_WEBHOOK_URL,
        setup_token=setup_token,
    )
    tally = asyncio.run(run_cases(targets, SEED, range(CI_INPUTS), concurrency=4))
    assert tally.inputs == CI_INPUTS
    assert [(number, outcome) for number, _, outcome in tally.failures] == []
    assert all(process.poll() is None for process in bot.processes.processes.values())
    assert dashboard.process.poll() is None
    assert asyncio.run(answers_a_relative(targets)) is None
    settled(bot)


def settled(bot, quiet_seconds: float = 3, at_most: float = 60) -> None:
    """Waits until the escalations the fuzzed risk messages caused are written, so that
    they do not land in a later test's before/after count."""
    deadline = time.monotonic() + at_most
    count, since = len(bot.escalations()), time.monotonic()
    while time.monotonic() - since < quiet_seconds and time.monotonic() < deadline:
        time.sleep(0.5)
        now = len(bot.escalations())
        if now != count:
            count, since = now, time.monotonic()
