"""The web chat on the demo municipality page, loaded through HAProxy in front of two Rasa
servers (tests/support/cluster.py): when the Rasa server that holds the relative's socket
is killed (SIGKILL), the widget reconnects through the load balancer to the other server
and the conversation goes on, the same one, with nothing lost."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.test_widget import Chat
from tests.support.cluster import two_servers
from tests.support.messaging_apis import start_messaging_apis
from tests.support.servers import admin_token


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    apis, servers = start_messaging_apis()
    try:
        with two_servers(tmp_path_factory.mktemp("cluster"), apis, with_demo=True) as running:
            yield running
    finally:
        for server in servers:
            server.shutdown()


class ClusterSite:
    """What Chat needs of a site: the demo page, and the bot as the browser reaches it."""

    def __init__(self, cluster) -> None:
        self.demo_url = cluster.demo_url
        self.bot = type("PublicBot", (), {"url": cluster.public_url})()


def user_texts(cluster, session_id: str) -> list[str]:
    request = urllib.request.Request(
        f"{cluster.internal_url}/conversations/{session_id}/tracker",
        headers={"Authorization": f"Bearer {admin_token()}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        events = json.loads(response.read())["events"]
    return [event["text"] for event in events if event["event"] == "user"]


def serving_node(context, cluster) -> int:
    """The Rasa server HAProxy sent this browser to (its vv_server cookie: r1 or r2)."""
    [cookie] = [c for c in context.cookies(cluster.public_url) if c["name"] == "vv_server"]
    return int(cookie["value"].removeprefix("r"))


def test_the_chat_goes_on_through_the_other_server_when_its_server_is_killed(
    cluster, page, context
):
    chat = Chat(page, ClusterSite(cluster)).open()
    chat.turn("hej")
    session_id = chat.session_id()
    node = serving_node(context, cluster)

    cluster.kill("rasa", node)
    expect(chat.locator(".vv-status")).to_have_attribute("data-state", "reconnecting")
    chat.wait_connected(timeout=90_000)  # to the other server, through HAProxy
    assert chat.session_id() == session_id
    assert chat.turn("vad gör socialtjänsten")
    assert user_texts(cluster, session_id)[-2:] == ["hej", "vad gör socialtjänsten"]
