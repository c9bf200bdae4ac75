"""The Rasa server's cheaper hot paths (bot/rasa_hot_paths.py, issue 21) give Rasa's results."""

from __future__ import annotations

import asyncio

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


async def test_action_calls_are_encoded_as_the_same_json(monkeypatch):
    import json

    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_hot_paths import encode_action_calls_faster

    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    encode_action_calls_faster()
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
