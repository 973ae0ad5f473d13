"""The Slack emulator, proven with the unmodified slack_sdk and slack_bolt over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from emulators.base import Fault
from emulators.slack import SlackEmulator

SECRET = "test-secret"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator(signing_secret=SECRET)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(base_url=emu.api_url, token=emu.bot_token)


class Bolt:
    """A real bolt app in Socket Mode that records the events its listeners saw."""

    def __init__(self, client: AsyncWebClient, app_token: str) -> None:
        self.app = AsyncApp(client=client)
        self.seen: list[dict[str, Any]] = []
        self.handler = AsyncSocketModeHandler(self.app, app_token)

        @self.app.event("app_mention")
        async def mention(event: dict[str, Any], say: Any) -> None:
            self.seen.append(event)
            await say(markdown_text="**hi**", thread_ts=event.get("thread_ts") or event["ts"])

        @self.app.event("message")
        async def message(event: dict[str, Any]) -> None:
            self.seen.append(event)


@pytest.fixture
async def bolt(emu: SlackEmulator, client: AsyncWebClient) -> AsyncIterator[Bolt]:
    app = Bolt(client, emu.app_token)
    await app.handler.connect_async()
    await emu.wait_for_socket()
    yield app
    await app.handler.close_async()


async def test_auth_test_and_tokens(emu: SlackEmulator, client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T1", "UBOT", "BBOT")
    with pytest.raises(SlackApiError) as bad:
        await AsyncWebClient(base_url=emu.api_url, token="xoxb-wrong").auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    opened = await client.apps_connections_open(app_token=emu.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{emu.port}/")
    with pytest.raises(SlackApiError) as wrong_type:
        await client.apps_connections_open(app_token=emu.bot_token)
    assert wrong_type.value.response["error"] == "not_allowed_token_type"
    assert len(emu.calls_to("/api/auth.test")) == 2


async def test_post_update_replies_round_trip(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.echo = False
    parent = await emu.user_post("C1", "question", user="U7")
    first = await client.chat_postMessage(channel="C1", thread_ts=parent, markdown_text="**a**")
    second = await client.chat_postMessage(channel="C1", thread_ts=parent, text="b")
    assert float(first["ts"]) < float(second["ts"])
    await client.chat_update(channel="C1", ts=first["ts"], markdown_text="**a** and more")

    replies = await client.conversations_replies(channel="C1", ts=parent)
    assert [m["ts"] for m in replies["messages"]] == [parent, first["ts"], second["ts"]]
    assert replies["messages"][0]["reply_count"] == 2
    bot = emu.bot_replies("C1", parent)
    assert [m.text for m in bot] == ["**a** and more", "b"]
    assert bot[0].edits == ["**a**", "**a** and more"]
    assert bot[0].markdown_text == "**a** and more"

    post, update = client.chat_postMessage, client.chat_update
    errors: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("markdown_text_conflict", lambda: post(channel="C1", text="x", markdown_text="y")),
        ("msg_too_long", lambda: post(channel="C1", markdown_text="x" * 12_001)),
        ("cant_update_message", lambda: update(channel="C1", ts=parent, text="hijack")),
        ("message_not_found", lambda: update(channel="C1", ts="1.000001", text="x")),
    ]
    for code, call in errors:
        with pytest.raises(SlackApiError) as err:
            await call()
        assert err.value.response["error"] == code


async def test_native_stream_lifecycle(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.echo = False
    parent = await emu.user_post("C1", "q")
    stream = await client.chat_stream(
        channel="C1",
        thread_ts=parent,
        recipient_user_id="U1",
        recipient_team_id="T1",
        buffer_size=1,
    )
    await stream.append(markdown_text="Hello")
    await stream.append(markdown_text=", world")
    await stream.stop(markdown_text="!")
    reply = emu.bot_replies("C1", parent)[0]
    assert reply.text == "Hello, world!"
    assert reply.edits == ["Hello", "Hello, world", "Hello, world!"]
    with pytest.raises(SlackApiError) as err:
        await client.chat_appendStream(channel="C1", ts=reply.ts, markdown_text="late")
    assert err.value.response["error"] == "message_not_in_streaming_state"
    await client.chat_update(channel="C1", ts=reply.ts, markdown_text="final")
    assert reply.text == "final"


async def test_bolt_socket_mode_receives_mention_and_acks(emu: SlackEmulator, bolt: Bolt) -> None:
    ts = await emu.user_post("C1", "<@UBOT> hello", user="U1", wait=True)
    mentions = [e for e in bolt.seen if e["type"] == "app_mention"]
    assert [(e["ts"], e["user"], e["channel"]) for e in mentions] == [(ts, "U1", "C1")]
    user_events = [d for d in emu.deliveries if d.event.get("user") == "U1"]
    assert [(d.event["type"], d.acked) for d in user_events] == [
        ("app_mention", True),
        ("message", True),
    ]
    assert len({d.event_id for d in user_events}) == 2
    await emu.wait_for(lambda: len(emu.bot_replies("C1", ts)) == 1)
    assert emu.bot_replies("C1", ts)[0].text == "**hi**"
    acked_ids = {a.envelope_id for a in emu.socket.acks}
    assert all(d.envelope_id in acked_ids for d in user_events)


async def test_echoes_reach_the_app(emu: SlackEmulator, client: AsyncWebClient, bolt: Bolt) -> None:
    posted = await client.chat_postMessage(channel="C1", text="from the bot")
    await client.chat_update(channel="C1", ts=posted["ts"], text="edited")
    await emu.settle()
    echoes = [d for d in emu.deliveries if d.event.get("bot_id") or d.event.get("subtype")]
    assert [(d.event.get("subtype"), d.acked) for d in echoes] == [
        (None, True),
        ("message_changed", True),
    ]
    assert echoes[0].event["bot_id"] == "BBOT"
    assert echoes[1].event["message"]["text"] == "edited"
    assert echoes[1].event["previous_message"]["text"] == "from the bot"


async def test_socket_client_reconnects(emu: SlackEmulator, bolt: Bolt) -> None:
    event = {"type": "message", "user": "U2", "text": "x", "channel": "C1", "ts": "1.000001"}
    assert await emu.disconnect_sockets() == 1
    await emu.wait_for(lambda: emu.socket.connects == 2)
    assert await emu.deliver(event) is True
    assert await emu.request_refresh() == 1
    await emu.wait_for(lambda: emu.socket.connects == 3)
    assert await emu.deliver(event, retry_num=1, retry_reason="timeout") is True
    assert len(emu.calls_to("apps.connections.open")) == 3


async def test_http_mode_signature(emu: SlackEmulator) -> None:
    received: list[web.Request] = []
    bodies: list[str] = []

    async def events(request: web.Request) -> web.Response:
        received.append(request)
        bodies.append(await request.text())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    emu.http_events_url = f"http://127.0.0.1:{port}/slack/events"
    try:
        event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.000002"}
        assert await emu.deliver(event, event_id="EvGOOD", retry_num=2) == 200
        assert await emu.deliver(event, bad_signature=True) == 200
    finally:
        await runner.cleanup()
    verifier = SignatureVerifier(SECRET)
    valid = [
        verifier.is_valid(
            body, r.headers["X-Slack-Request-Timestamp"], r.headers["X-Slack-Signature"]
        )
        for r, body in zip(received, bodies, strict=True)
    ]
    assert valid == [True, False]
    assert received[0].headers["X-Slack-Retry-Num"] == "2"
    assert "X-Slack-Retry-Num" not in received[1].headers
    assert '"event_id": "EvGOOD"' in bodies[0]


async def test_rate_limit_and_faults(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.echo = False
    emu.rate_limit("chat.update", per_minute=60, burst=2)
    posted = await client.chat_postMessage(channel="C1", text="v0")
    for n in (1, 2):
        await client.chat_update(channel="C1", ts=posted["ts"], text=f"v{n}")
    other = AsyncWebClient(base_url=emu.api_url, token=emu.bot_token)
    with pytest.raises(SlackApiError) as limited:
        await other.chat_update(channel="C2", ts=posted["ts"], text="v3")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert int(limited.value.response.headers["Retry-After"]) >= 1
    assert emu.rate_limited["chat.update"] == 1

    emu.fail_next("chat.postMessage", Fault("status", 500))
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C1", text="boom")
    assert failed.value.response.status_code == 500
    assert [m.text for m in emu.messages("C1")] == ["v2"]


async def test_chat_delete_removes_the_bots_own_message_as_slack_documents(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    """chat.delete (docs.slack.dev/reference/methods/chat.delete): a bot token deletes only the
    bot's messages; the message leaves conversations.replies; errors as the reference lists."""
    emu.echo = False
    parent = await emu.user_post("C1", "question", user="U7")
    kept = await client.chat_postMessage(channel="C1", thread_ts=parent, text="kept")
    gone = await client.chat_postMessage(channel="C1", thread_ts=parent, text="gone")
    deleted = await client.chat_delete(channel="C1", ts=gone["ts"])
    assert (deleted["channel"], deleted["ts"]) == ("C1", gone["ts"])
    replies = await client.conversations_replies(channel="C1", ts=parent)
    assert [m["ts"] for m in replies["messages"]] == [parent, kept["ts"]]
    assert [m.text for m in emu.bot_replies("C1", parent)] == ["kept"]
    assert [m.ts for m in emu.deleted] == [gone["ts"]]
    for channel, ts, error in (
        ("C1", gone["ts"], "message_not_found"),
        ("C1", parent, "cant_delete_message"),
        ("C404", kept["ts"], "channel_not_found"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.chat_delete(channel=channel, ts=ts)
        assert refused.value.response["error"] == error


async def test_a_deletion_is_echoed_as_message_deleted(
    emu: SlackEmulator, client: AsyncWebClient, bolt: Bolt
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="from the bot")
    await client.chat_delete(channel="C1", ts=posted["ts"])
    await emu.settle()
    deletions = [d.event for d in emu.deliveries if d.event.get("subtype") == "message_deleted"]
    assert [(e["deleted_ts"], e["previous_message"]["text"]) for e in deletions] == [
        (posted["ts"], "from the bot")
    ]


async def test_chat_delete_is_tier_3_under_the_documented_limits(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    """Tier 3 (50+/min, the burst of five the emulator allows): the sixth at once is a 429."""
    emu.echo = False
    emu.enforce_documented_limits()
    posted = [(await client.chat_postMessage(channel=f"C{i}", text="x"))["ts"] for i in range(6)]
    for i, ts in enumerate(posted[:5]):
        await client.chat_delete(channel=f"C{i}", ts=ts)
    with pytest.raises(SlackApiError) as limited:
        await client.chat_delete(channel="C5", ts=posted[5])
    assert limited.value.response.status_code == 429
    assert emu.rate_limited["chat.delete"] == 1


async def test_a_slow_call_goes_through_late(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.fail_next("chat.postMessage", Fault("slow", delay=0.3))
    posted = await client.chat_postMessage(channel="C1", text="late")
    assert posted["ok"] and [m.text for m in emu.messages("C1")] == ["late"]
