"""The Rasa server's cheaper hot paths (bot/rasa_hot_paths.py, issue 21) give Rasa's results."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.settings import Settings

MESSAGES = [
    "hej",
    "min son är 16 och har börjat umgås med nazister, jag vet inte vad jag ska göra",
    "vad händer om soc kopplas in? och får han veta att det var jag som ringde?",
    "kan de ta honom ifrån oss",
    "vilka nummer kan jag ringa",
    "xqzv blorp fnaskig",
    "my brother wants to go to syria",
    "tack för hjälpen",
]


def parse_all(agent) -> list[dict]:
    async def parse() -> list[dict]:
        return [await agent.parse_message(text) for text in MESSAGES]

    return asyncio.run(parse())


@pytest.fixture
def kept_sessions(monkeypatch):
    """Rasa's endpoints with bot.rasa_hot_paths' sessions, undone after the test."""
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_hot_paths import encode_action_calls_faster

    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.setattr(EndpointConfig, "request", EndpointConfig.request)
    encode_action_calls_faster()


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    return Agent.load(str(Settings.from_environment().model_path))


def test_graphs_run_in_a_fixed_order_give_the_same_parses_and_predictions(agent, monkeypatch):
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_hot_paths import run_graphs_in_a_fixed_order

    tracker = DialogueStateTracker.from_events("hot-paths", [], agent.domain.slots)
    by_dask = parse_all(agent)
    # The first prediction on a new tracker takes its follow-up action: predict after it.
    agent.processor.predict_next_with_tracker(tracker)
    predicted_by_dask = agent.processor.predict_next_with_tracker(tracker)

    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run)  # undone afterwards
    run_graphs_in_a_fixed_order()
    assert DaskGraphRunner.run.__module__ == "bot.rasa_hot_paths"
    assert parse_all(agent) == by_dask
    assert agent.processor.predict_next_with_tracker(tracker) == predicted_by_dask


def test_event_classes_are_looked_up_as_rasa_does(monkeypatch):
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    from bot.rasa_hot_paths import look_up_event_classes_once

    rasa_s = {cls.type_name: Event.resolve_by_type(cls.type_name) for cls in all_subclasses(Event)}
    monkeypatch.setattr(Event, "resolve_by_type", Event.resolve_by_type)
    look_up_event_classes_once()
    assert {name: Event.resolve_by_type(name) for name in rasa_s} == rasa_s
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")


async def test_action_calls_are_encoded_as_the_same_json(kept_sessions):
    import json

    from rasa.utils.endpoints import EndpointConfig

    call = {
        "next_action": "action_answer_topic",
        "tracker": {
            "sender_id": "web-1",
            "events": [
                {"event": "user", "text": "får han veta / \u202e 😀 \ud800", "timestamp": 1.5e9},
                {"event": "slot", "name": "age", "value": [1, 2.5, None, True]},
            ],
        },
    }
    async with EndpointConfig("http://127.0.0.1:9").session() as session:
        encode = session._json_serialize
        assert json.loads(encode(call)) == call
        with pytest.raises(TypeError):
            encode({"not json": object()})
        assert encode(float("nan")) == json.dumps(float("nan"))


def test_the_domain_is_encoded_once_into_each_call():
    import json

    from bot.rasa_hot_paths import CallEncoder

    encode = CallEncoder()
    domain = {"responses": {"utter_greet": [{"text": "Hej! 😀 / \u00e5"}]}, "slots": {}}
    call = {"next_action": "action_answer_topic", "tracker": {"sender_id": "1"}, "domain": domain}
    assert json.loads(encode(call)) == call
    first = encode._domain
    assert json.loads(encode({**call, "next_action": "x"}))["next_action"] == "x"
    assert encode._domain is first  # the same domain object: not encoded again
    changed = {**domain, "slots": {"age": {}}}
    assert json.loads(encode({**call, "domain": changed}))["domain"] == changed
    assert json.loads(encode({"domain": domain})) == {"domain": domain}


@contextlib.asynccontextmanager
async def action_server(webhook):
    """A stand-in action server on loopback: yields the endpoint Rasa would call."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    finally:
        await runner.cleanup()


async def test_action_calls_keep_their_connection_open(kept_sessions):
    """Two calls through one endpoint use one connection; a session per event loop."""
    from aiohttp import web

    peers = []

    async def webhook(request):
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "echo": await request.json()})

    async with action_server(webhook) as endpoint:
        first = await endpoint.request(json={"next_action": "a", "domain": {"x": 1}}, method="post")
        second = await endpoint.request(json={"next_action": "b"}, method="post")
        assert first["echo"] == {"next_action": "a", "domain": {"x": 1}}
        assert second["echo"] == {"next_action": "b"}
        assert len(peers) == 2 and peers[0] == peers[1]
        await endpoint.__dict__["_kept_session"].close()


async def test_a_call_on_a_connection_the_server_closed_is_sent_again(kept_sessions):
    """An action server restarting closes the kept connections: the call goes again on a
    new one instead of failing the relative's turn. The sessions close with the server."""
    from aiohttp import web

    from bot.rasa_hot_paths import close_kept_sessions

    received = []

    async def webhook(request):
        received.append(await request.json())
        if len(received) == 1:
            request.transport.close()  # as a server going down mid-call
        return web.json_response({"events": []})

    async with action_server(webhook) as endpoint:
        assert await endpoint.request(json={"next_action": "a"}, method="post") == {"events": []}
        assert received == [{"next_action": "a"}, {"next_action": "a"}]
        session = endpoint.__dict__["_kept_session"]
        await close_kept_sessions()
        assert session.closed


def test_diets_graph_called_directly_gives_the_same_parses(agent, monkeypatch):
    from rasa.utils.tensorflow.models import RasaModel

    from bot.rasa_hot_paths import _fits, call_the_prediction_graph_directly

    through_tf_function = parse_all(agent)  # also traces the graph
    calls = []
    monkeypatch.setattr(RasaModel, "_rasa_predict", RasaModel._rasa_predict)  # undone afterwards
    call_the_prediction_graph_directly()
    direct = RasaModel._rasa_predict

    def counted(self, batch_in):
        outputs = direct(self, batch_in)
        _, specs = self.__dict__["_traced_prediction"]
        calls.append(_fits(batch_in, specs))  # the direct call is taken when the batch fits
        return outputs

    monkeypatch.setattr(RasaModel, "_rasa_predict", counted)
    assert parse_all(agent) == through_tf_function
    assert len(calls) == len(MESSAGES) and all(calls)  # every message took the direct call


def test_features_joined_without_deep_copies_give_the_same_parses(agent, monkeypatch):
    from rasa.shared.nlu.training_data.message import Message

    from bot.rasa_hot_paths import combine_features_without_deep_copies

    with_deep_copies = parse_all(agent)
    monkeypatch.setattr(Message, "_combine_features", Message._combine_features)
    combine_features_without_deep_copies()
    assert Message._combine_features.__module__ == "bot.rasa_hot_paths"
    assert parse_all(agent) == with_deep_copies
    assert parse_all(agent) == with_deep_copies  # nothing of a message's features changed
