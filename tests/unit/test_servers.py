"""bot/servers.py: what both servers set up around Rasa and rasa_sdk."""

from __future__ import annotations

import asyncio
import gc
import os

from bot.servers import keep_what_is_loaded_out_of_garbage_collection, use_one_thread_per_model_call


class App:
    """The part of a Sanic app the set-up uses: its listeners."""

    def __init__(self) -> None:
        self.listeners: dict[str, list] = {}

    def register_listener(self, listener, event: str) -> None:
        self.listeners.setdefault(event, []).append(listener)


def test_what_is_loaded_when_the_server_has_started_is_kept_out_of_garbage_collection():
    app = App()
    keep_what_is_loaded_out_of_garbage_collection(app)
    [freeze] = app.listeners["after_server_start"]
    loaded = [{"model": list(range(10))} for _ in range(1000)]
    try:
        asyncio.run(freeze(app, None))
        assert gc.get_freeze_count() >= len(loaded)
    finally:
        gc.unfreeze()


def test_tensorflow_runs_on_one_thread_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "4")
    use_one_thread_per_model_call()
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "4"
