"""The neuroflash provider against its emulator, over real httpx / httpx-sse on loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx
import pytest

from bridge.config import ConfigError
from bridge.contracts import (
    Conversation,
    Provider,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    TextDelta,
    ThreadKey,
)
from bridge.contracts.toolkit.sse import ProviderHTTPError
from emulators.base import Fault
from emulators.neuroflash import VARIANTS, NeuroflashEmulator
from emulators.neuroflash.state import split_tokens
from emulators.neuroflash.wire import Wire, pieces
from providers.neuroflash import NeuroflashProvider
from tests.provider_kit import THREAD, Kit, NeuroflashKit, collect, deltas, told, user_post

EMOJI = "Team 👩‍👩‍👧‍👦 ships 🏳️‍🌈 and 👍🏽!\r\nZweite Zeile: Grüße ✅"

MakeProvider = Callable[..., NeuroflashProvider]


@pytest.fixture
def kit() -> Kit:
    return NeuroflashKit()


async def start(provider: NeuroflashProvider, thread: ThreadKey = THREAD) -> Conversation:
    conversation_id = await provider.open(thread, {})
    return Conversation("neuroflash", conversation_id, thread)


def done(events: list[ReplyEvent]) -> ReplyDone:
    assert isinstance(events[-1], ReplyDone), events[-1]
    assert not any(isinstance(e, ReplyDone | ReplyFailed) for e in events[:-1])
    return events[-1]


def failed(events: list[ReplyEvent]) -> ReplyFailed:
    assert isinstance(events[-1], ReplyFailed), events[-1]
    return events[-1]


def stream_calls(emu: NeuroflashEmulator) -> int:
    return len(emu.calls_to("/message-streams", "POST"))


async def test_three_posts_share_one_conversation_with_exact_texts(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider(neuroflash_personality="witty", neuroflash_context_size=4000)
    assert isinstance(provider, Provider)
    conversation = await start(provider)
    emu.script("First ✨", EMOJI, "Third 🇩🇪 done")
    texts = []
    for n in range(3):
        events = await collect(provider, conversation, user_post(n, f"question {n}"))
        assert deltas(events) == done(events).text
        texts.append(done(events).text)
    assert texts == ["First ✨", EMOJI, "Third 🇩🇪 done"]
    assert list(emu.conversations) == [conversation.id]
    assert emu.conversations[str(conversation.id)].steering == {"personality": "witty"}
    history = emu.history(str(conversation.id))
    assert [m["source"] for m in history] == ["user", "assistant"] * 3
    body = emu.calls_to("/message-streams", "POST")[0].body
    assert body["id"] == user_post(0).message_uuid
    assert body["contextSize"] == 4000
    assert body["text"] == "question 0"


@pytest.mark.parametrize("variant", VARIANTS)
async def test_every_event_variant_gives_the_exact_text(
    emu: NeuroflashEmulator, make_provider: MakeProvider, variant: str
) -> None:
    emu.variant = variant
    provider = make_provider()
    conversation = await start(provider)
    emu.script(EMOJI)
    events = await collect(provider, conversation, user_post(1))
    final = done(events)
    assert final.text == EMOJI
    assert deltas(events) == EMOJI
    assert final.message_id == emu.conversations[str(conversation.id)].messages[-1].id
    default = done(await collect(provider, conversation, user_post(2, "Wie geht's? 🤔")))
    assert default.text == emu.history(str(conversation.id))[-1]["text"]
    assert "👨‍👩‍👧‍👦" in (default.text or "")


async def test_one_token_for_fifty_concurrent_replies_and_one_refresh_after_revoke(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    threads = [ThreadKey("slack", "T1", f"C{n}", "1.0") for n in range(50)]
    conversations = await asyncio.gather(*(start(provider, t) for t in threads))
    results = await asyncio.gather(
        *(collect(provider, c, user_post(1, thread=c.thread)) for c in conversations)
    )
    assert all(done(events).text for events in results)
    assert emu.token_requests == 1
    emu.revoke_tokens()
    results = await asyncio.gather(
        *(collect(provider, c, user_post(2, thread=c.thread)) for c in conversations[:20])
    )
    assert all(done(events).text for events in results)
    assert emu.token_requests == 2
    assert emu.llm_runs == 70


async def test_token_is_renewed_before_it_expires(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    emu.token_ttl = 1.0
    provider = make_provider()
    conversation = await start(provider)
    await asyncio.sleep(1.0)
    done(await collect(provider, conversation, user_post(1)))
    assert emu.token_requests == 2
    assert emu.unauthorized == 0


async def test_same_post_twice_replays_without_a_new_generation(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    first = done(await collect(provider, conversation, user_post(7, "Tell me a joke")))
    again = await collect(make_provider(), conversation, user_post(7, "Tell me a joke"))
    assert done(again) == first
    assert deltas(again) == first.text
    assert emu.llm_runs == 1


async def test_locked_conversation_is_waited_out(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    locked = Fault("status", status=409, body={"code": "conversationLocked", "message": "busy"})
    emu.fail_next("stream", locked, times=2)
    assert done(await collect(provider, conversation, user_post(1))).text
    assert stream_calls(emu) == 3


async def test_a_running_stream_delays_the_next_until_it_ends(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    emu.tokens_per_second = 60
    provider = make_provider()
    conversation = await start(provider)
    emu.script("one two three four five six seven", "second answer")
    first, second = await asyncio.gather(
        collect(provider, conversation, user_post(1)),
        collect(make_provider(), conversation, user_post(2)),
    )
    assert done(first).text == "one two three four five six seven"
    assert done(second).text == "second answer"
    assert stream_calls(emu) > 2


async def test_create_failure_raises_for_the_core_to_report(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    emu.fail_next("create", Fault("status", status=500, body={"message": "database down"}))
    with pytest.raises(ProviderHTTPError, match="database down") as info:
        await make_provider().open(THREAD, {})
    assert info.value.status == 500
    assert len(emu.calls_to("/conversations", "POST")) == 1


async def test_server_errors_on_opening_the_stream_are_retried(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    emu.fail_next("stream", Fault("status", status=503), times=2)
    assert done(await collect(provider, conversation, user_post(1))).text
    assert stream_calls(emu) == 3
    assert emu.llm_runs == 1


async def test_rate_limit_honours_retry_after(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    emu.fail_next("stream", Fault("status", status=429, headers={"Retry-After": "0.4"}))
    assert done(await collect(provider, conversation, user_post(1))).text
    first, second = emu.calls_to("/message-streams", "POST")
    assert second.at - first.at >= 0.4


async def test_client_errors_fail_at_once_with_the_reason(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    emu.fail_next("stream", Fault("status", status=400, body={"message": "text too long"}))
    failure = failed(await collect(provider, conversation, user_post(1)))
    assert "text too long" in told(failure)
    assert "text too long" not in failure.message
    assert not failure.retryable
    assert stream_calls(emu) == 1
    gone = Conversation("neuroflash", "no-such-id", THREAD)
    assert "no longer knows" in failed(await collect(provider, gone, user_post(2))).message


async def test_cut_stream_is_reconciled_from_the_history(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    emu.script(EMOJI)
    emu.fail_next("stream", Fault("cut", after=4))
    events = await collect(provider, conversation, user_post(1))
    assert done(events).text == EMOJI
    assert 0 < len(deltas(events)) < len(EMOJI)
    assert emu.llm_runs == 1


async def test_reconciling_walks_the_pages_to_our_message(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    state = emu.conversations[str(conversation.id)]
    for n in range(130):
        state.add_user(f"old-{n}", "q", "2026-01-01T00:00:00")
        state.add_reply(f"old-{n}", "a")
    emu.script("the answer we want")
    emu.fail_next("stream", Fault("cut", after=1))
    assert done(await collect(provider, conversation, user_post(1))).text == "the answer we want"
    pages = [c.query["page"] for c in emu.calls_to("/messages", "GET")]
    assert pages == ["1", "3"]


async def test_cut_stream_with_no_stored_answer_fails_retryably(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider()
    conversation = await start(provider)
    emu.fail_next("stream", Fault("cut", after=2))
    emu.fail_next("messages", Fault("status", status=502), times=3)
    failure = failed(await collect(provider, conversation, user_post(1)))
    assert failure.message.startswith("The answer was cut off")
    assert failure.retryable


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("code", "retryable"), [("modelOverloaded", True), ("contentFilter", False)]
)
async def test_error_event_ends_the_reply(
    emu: NeuroflashEmulator, make_provider: MakeProvider, code: str, retryable: bool, variant: str
) -> None:
    emu.variant = variant
    provider = make_provider()
    conversation = await start(provider)
    body = {"message": "The model gave up", "code": code}
    emu.fail_next("stream", Fault("error_event", after=3, body=body))
    events = await collect(provider, conversation, user_post(1))
    failure = failed(events)
    assert (failure.message, failure.retryable, failure.code) == (
        "neuroflash could not finish the answer.",
        retryable,
        code,
    )
    assert "The model gave up" in told(failure)
    assert len([e for e in events if isinstance(e, TextDelta)]) == 3


@pytest.mark.parametrize("variant", VARIANTS)
async def test_malformed_event_is_skipped(
    emu: NeuroflashEmulator,
    make_provider: MakeProvider,
    variant: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu.variant = variant
    provider = make_provider()
    conversation = await start(provider)
    emu.script(EMOJI)
    emu.fail_next("stream", Fault("malformed", after=2))
    with caplog.at_level(logging.WARNING, logger="providers.neuroflash"):
        events = await collect(provider, conversation, user_post(1))
    assert done(events).text == EMOJI
    assert deltas(events) == EMOJI
    assert "malformed event" in caplog.text


async def test_cancel_stops_the_stream_and_keeps_the_partial_answer(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    emu.tokens_per_second = 20
    provider = make_provider()
    conversation = await start(provider)
    await provider.cancel(conversation)
    events: list[ReplyEvent] = []
    async for event in provider.reply(conversation, user_post(1)):
        events.append(event)
        if len(events) == 2:
            await provider.cancel(conversation)
    partial = done(events).text or ""
    assert partial == emu.history(str(conversation.id))[-1]["text"]
    assert 0 < len(partial) < 40
    assert deltas(events) == partial


@pytest.mark.parametrize("how", ["aclose", "cancel"])
async def test_leaving_a_reply_closes_its_connection(
    emu: NeuroflashEmulator, make_provider: MakeProvider, how: str
) -> None:
    emu.tokens_per_second = 20
    provider = make_provider()
    conversation = await start(provider)
    reply = provider.reply(conversation, user_post(1))
    assert isinstance(await anext(reply), TextDelta)
    if how == "cancel":
        waiting = asyncio.ensure_future(anext(reply))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    await reply.aclose()
    await emu.wait_for(lambda: emu.disconnects == 1, timeout=3)
    await emu.wait_for(lambda: emu.conversations[str(conversation.id)].stream is None)
    emu.tokens_per_second = 0
    replay = done(await collect(provider, conversation, user_post(1)))
    assert replay.text == emu.history(str(conversation.id))[-1]["text"]
    assert emu.llm_runs == 1


async def test_missing_settings_are_named(make_provider: MakeProvider) -> None:
    with pytest.raises(ConfigError, match="NEUROFLASH_CLIENT_SECRET"):
        make_provider(neuroflash_client_secret=None, neuroflash_workspace_id=None)


async def test_workspace_is_the_first_listed_when_not_configured(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    """Seed 001, step 2: `_embedded.workspaces[0].id` of GET …/workspace-service/v1/workspaces."""
    provider = make_provider(neuroflash_workspace_id=None)
    conversation = await start(provider)
    emu.script("found it")
    assert done(await collect(provider, conversation, user_post(1))).text == "found it"
    assert "ws-test" in await provider.check()
    assert len(emu.calls_to("/workspace-service/v1/workspaces")) == 1  # asked once
    assert emu.calls_to("/conversations", "POST")[0].path.startswith("/api/v1/workspaces/ws-test/")


async def test_wrong_workspace_and_bad_secret_are_refused(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    with pytest.raises(ProviderHTTPError) as info:
        await make_provider(neuroflash_workspace_id="someone-else").open(THREAD, {})
    assert info.value.status == 403
    with pytest.raises(ProviderHTTPError) as info:
        await make_provider(neuroflash_client_secret="wrong").open(THREAD, {})
    assert info.value.status == 401
    conversation = await start(make_provider())
    bad = make_provider(neuroflash_client_secret="wrong")
    failure = failed(await collect(bad, conversation, user_post(1)))
    assert "NEUROFLASH_CLIENT_SECRET" in told(failure)


async def test_thread_steering_overrides_settings(
    emu: NeuroflashEmulator, make_provider: MakeProvider
) -> None:
    provider = make_provider(neuroflash_brand_voice_id="bv-1", neuroflash_model_name="gpt-4")
    conversation_id = await provider.open(THREAD, {"brandVoiceId": "bv-2", "personalityId": "3"})
    steering = emu.conversations[str(conversation_id)].steering
    assert steering == {"brandVoiceId": "bv-2", "personalityId": 3, "modelName": "gpt-4"}


async def test_emulator_api_contract(emu: NeuroflashEmulator) -> None:
    async with httpx.AsyncClient(base_url=emu.url) as client:
        form = {"grant_type": "client_credentials", "client_id": "nf-client"}
        denied = await client.post("/oauth/v2/token", data={**form, "client_secret": "x"})
        assert denied.status_code == 401
        token = await client.post("/oauth/v2/token", data={**form, "client_secret": "nf-secret"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        base = f"/api/v1/workspaces/{emu.workspace_id}/conversations"
        send: Callable[..., Awaitable[httpx.Response]] = client.request
        ids = [(await send("POST", base, headers=headers, json={})).json()["id"] for _ in range(3)]
        listing = (await send("GET", base, headers=headers, params={"size": 2})).json()
        assert listing["page"] == {"size": 2, "totalElements": 3, "totalPages": 2, "currentPage": 1}
        assert [c["id"] for c in listing["data"]] == ids[::-1][:2]
        assert (await send("GET", base, headers=headers, params={"size": 101})).status_code == 400
        assert (await send("GET", base, headers=headers, params={"page": 0})).status_code == 400
        one = f"{base}/{ids[0]}"
        assert (
            await send("PATCH", one, headers=headers, json={"modelName": "x"})
        ).status_code == 400
        patched = await send("PATCH", one, headers=headers, json={"brandVoiceId": None})
        assert patched.status_code == 200
        assert (await send("DELETE", f"{one}/message-streams", headers=headers)).status_code == 200
        assert (await send("GET", f"{base}/nope/messages", headers=headers)).status_code == 404
        message = {"id": "m-1", "text": "hi", "createdAt": "2026-05-01T09:00:00"}
        first = await send("POST", f"{one}/messages", headers=headers, json=message)
        again = await send("POST", f"{one}/messages", headers=headers, json=message)
        assert first.json() == again.json()
        assert first.json()["source"] == "assistant"
        assert emu.llm_runs == 1
        other = f"/api/v1/workspaces/other/conversations/{ids[0]}/messages"
        assert (await send("GET", other, headers=headers)).status_code == 403
        emu.revoke_tokens()
        assert (await send("GET", f"{one}/messages", headers=headers)).status_code == 401


def test_emulator_cuts_inside_characters_and_line_endings() -> None:
    tokens = split_tokens(EMOJI)
    assert "".join(tokens) == EMOJI
    assert any(t.endswith("\u200d") for t in tokens)
    assert any(t.endswith("\r") for t in tokens)
    raw = pieces(Wire("type-key").delta("👍🏽"))
    assert any(p.endswith(b"\r") for p in raw)
    with pytest.raises(UnicodeDecodeError):
        [p.decode() for p in raw]
    assert b"".join(raw).decode().endswith("\r\n\r\n")
