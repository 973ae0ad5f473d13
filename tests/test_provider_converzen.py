"""converzen provider against its emulator: real httpx-sse over loopback, real Redis store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bridge.config import ConfigError, Settings
from bridge.contracts import (
    Conversation,
    Provider,
    ReplyDone,
    ReplyFailed,
    TextDelta,
    ThreadKey,
    UserPost,
)
from bridge.plugins import load_provider
from bridge.providers.converzen import ConverzenProvider, persona_selector
from bridge.store import Store
from emulators.base import Fault
from emulators.converzen import TEST_KEY, ConverzenEmulator
from tests.conftest import provider_context
from tests.provider_events import collect, final, started, told

THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")
TEXTS = ("Hallo 👋🏽 — grüße aus Köln", "Zweitens: naïve café 👩‍👩‍👧‍👦 ok", "三つ目の答え ✓ done")


def make_post(text: str, author: str = "U1", thread: ThreadKey = THREAD, n: int = 1) -> UserPost:
    return UserPost(thread, f"m{n}", author, text, 1700000000.0 + n)


@pytest.fixture
async def emu() -> AsyncIterator[ConverzenEmulator]:
    emulator = ConverzenEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


def settings_for(emu: ConverzenEmulator, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "converzen_api_key": TEST_KEY,
        "converzen_api_url": emu.api_url,
        "converzen_persona": "47:next",
    }
    return Settings(**(values | extra))


@pytest.fixture
async def provider(emu: ConverzenEmulator, store: Store) -> AsyncIterator[ConverzenProvider]:
    instance = ConverzenProvider(provider_context(settings_for(emu), store))
    instance.rate_limit_delays = (0.01, 0.02)
    yield instance
    await instance.aclose()


async def first_reply(provider: ConverzenProvider, text: str = "hi") -> Conversation:
    events = await collect(provider, Conversation("converzen", None, THREAD), make_post(text))
    return Conversation("converzen", started(events)[0], THREAD)


async def test_three_posts_one_session_exact_texts(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.script(*TEXTS)
    conv = Conversation("converzen", None, THREAD)
    finals = []
    for n, text in enumerate(("erste Frage", "zweite Frage", "dritte Frage"), start=1):
        events = await collect(provider, conv, make_post(text, author=f"U{n % 2}", n=n))
        assert not any(isinstance(e, ReplyFailed) for e in events), events
        if conv.id is None:
            conv = replace(conv, id=started(events)[0])
        else:
            assert started(events) == []
        finals.append(final(events))
    assert finals == list(TEXTS)
    assert len(emu.calls_to("/completion/stream")) == 1
    continuations = emu.calls_to("/continuation/stream")
    assert [c.body for c in continuations] == [
        {"message": "zweite Frage", "session": conv.id},
        {"message": "dritte Frage", "session": conv.id},
    ]
    assert len(emu.sessions[str(conv.id)].messages) == 6
    token_bodies = [c.body for c in emu.calls_to("/get_token")]
    assert token_bodies[0]["persona"] == {"persona_id": 47, "version_type": "next"}
    assert {b["user_id"] for b in token_bodies} == {
        make_post("x", author="U1").author_ref,
        make_post("x", author="U0").author_ref,
    }


async def test_token_fetched_once_for_50_concurrent_replies(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    threads = [replace(THREAD, thread=f"t{i}") for i in range(50)]
    results = await asyncio.gather(
        *(
            collect(provider, Conversation("converzen", None, t), make_post("hi", thread=t))
            for t in threads
        )
    )
    assert all(isinstance(r[-1], ReplyDone) for r in results)
    assert emu.token_calls == 1
    assert len(emu.sessions) == 50


async def test_one_refresh_after_tokens_expire(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    emu.expire_tokens()
    results = await asyncio.gather(
        *(collect(provider, conv, make_post(f"q{n}", n=n)) for n in range(20))
    )
    assert all(isinstance(r[-1], ReplyDone) for r in results)
    assert emu.token_calls == 2
    statuses = [c for c in emu.calls_to("/continuation/stream")]
    assert len(statuses) >= 21


async def test_token_renewed_before_it_expires(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.token_ttl = 1.0
    conv = await first_reply(provider)
    await asyncio.sleep(1.1)
    assert isinstance((await collect(provider, conv, make_post("later", n=2)))[-1], ReplyDone)
    assert emu.token_calls == 2
    assert len(emu.calls_to("/stream")) == 2  # no request was refused on the way


async def test_registered_under_its_entry_point(emu: ConverzenEmulator, store: Store) -> None:
    provider = load_provider("converzen", provider_context(settings_for(emu), store))
    try:
        assert isinstance(provider, ConverzenProvider) and isinstance(provider, Provider)
    finally:
        await provider.aclose()


async def test_auth_failed_event_refreshes_once(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    emu.fail_next("continuation", Fault("error_event", body={"code": "auth_failed"}))
    events = await collect(provider, conv, make_post("again", n=2))
    assert final(events) == emu.replies[-1]
    assert len(emu.replies) == 3  # the first reply, the rejected attempt, the retry
    assert emu.token_calls == 2


async def test_expired_session_starts_fresh_one(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    emu.expire_session(str(conv.id))
    emu.script("fresh start 🌱")
    events = await collect(provider, conv, make_post("still there?", n=2))
    new_ids = started(events)
    assert len(new_ids) == 1 and new_ids[0] != conv.id
    assert final(events) == "fresh start 🌱"
    assert emu.calls_to("/completion/stream")[-1].body == {"message": "still there?"}


async def test_session_expiring_mid_answer_fails_then_recovers(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    conv = await first_reply(provider)
    fault = Fault("error_event", body={"code": "session_expired"}, after=3)
    emu.fail_next("continuation", fault)
    events = await collect(provider, conv, make_post("long one", n=2))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed)
    assert failed.code == "session_expired" and failed.retryable
    assert "fresh" in failed.message
    emu.expire_session(str(conv.id))
    events = await collect(provider, conv, make_post("next", n=3))
    assert isinstance(events[-1], ReplyDone) and len(started(events)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("error_event", body={"code": "rate_limited"}),
        Fault("status", status=429, body={"detail": "slow down"}),
    ],
)
async def test_rate_limited_waits_and_retries(
    provider: ConverzenProvider, emu: ConverzenEmulator, fault: Fault
) -> None:
    emu.fail_next("completion", fault)
    emu.script("patience pays ⏳", "patience pays ⏳")
    events = await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
    assert final(events) == "patience pays ⏳"
    assert len(emu.calls_to("/stream")) == 2  # a session created before the error is continued


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        (Fault("error_event", body={"code": "content_filtered"}, after=2), False, "content filter"),
        (Fault("error_event", body={"code": "unavailable"}), True, "unavailable"),
        (Fault("error_event", body={"code": "internal"}, after=4), True, "internal error"),
        (Fault("error_event", body={"code": "rate_limited"}, after=2), True, "rate limiting"),
        (Fault("status", status=503), True, "HTTP 503"),
        (Fault("status", status=400, body={"detail": "bad persona"}), False, "bad persona"),
        (Fault("cut", after=5), True, "stopped sending"),
        (Fault("disconnect", after=2), True, "connection"),
    ],
)
async def test_faults_become_clear_failures(
    provider: ConverzenProvider,
    emu: ConverzenEmulator,
    fault: Fault,
    retryable: bool,
    words: str,
) -> None:
    conv = await first_reply(provider)
    emu.fail_next("continuation", fault)
    events = await collect(provider, conv, make_post("trouble?", n=2))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed), events
    assert failed.retryable is retryable
    assert words in told(failed)
    emu.script("works again ✓")
    assert final(await collect(provider, conv, make_post("and now?", n=3))) == "works again ✓"


async def test_content_filter_message(provider: ConverzenProvider, emu: ConverzenEmulator) -> None:
    emu.fail_next("completion", Fault("error_event", body={"code": "content_filtered"}))
    events = await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed)
    assert (failed.message, failed.retryable, failed.code) == (
        "The provider's content filter blocked this answer.",
        False,
        "content_filtered",
    )


async def test_malformed_event_is_skipped(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.fail_next("completion", Fault("malformed", after=2))
    emu.script("intact 🧩 text")
    events = await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
    assert final(events) == "intact 🧩 text"


async def test_slow_first_token_times_out_cleanly(emu: ConverzenEmulator, store: Store) -> None:
    settings = settings_for(emu, provider_read_timeout=0.3)
    provider = ConverzenProvider(provider_context(settings, store))
    try:
        emu.fail_next("completion", Fault("slow", delay=1.0))
        events = await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
        failed = events[-1]
        assert isinstance(failed, ReplyFailed) and failed.retryable
        assert "in time" in failed.message
        emu.fail_next("completion", Fault("slow", delay=0.1))
        emu.script("late but fine")
        events = await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
        assert final(events) == "late but fine"
    finally:
        await provider.aclose()


async def test_closing_the_reply_closes_the_stream(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.style.tokens_per_second = 100
    emu.script("word " * 200)
    events = provider.reply(Conversation("converzen", None, THREAD), make_post("long"))
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()  # type: ignore[attr-defined]
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)


async def test_cancelling_mid_stream_propagates_and_closes_the_stream(
    provider: ConverzenProvider, emu: ConverzenEmulator
) -> None:
    emu.style.tokens_per_second = 100
    emu.script("word " * 200)
    events = provider.reply(Conversation("converzen", None, THREAD), make_post("long"))
    while not isinstance(await anext(events), TextDelta):
        pass
    pending = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await events.aclose()  # type: ignore[attr-defined]
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)


async def test_bad_api_key_names_the_setting(emu: ConverzenEmulator, store: Store) -> None:
    provider = ConverzenProvider(
        provider_context(settings_for(emu, converzen_api_key="nope"), store)
    )
    try:
        events = await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
    finally:
        await provider.aclose()
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and not failed.retryable
    assert "CONVERZEN_API_KEY" in told(failed)


def test_missing_api_key_is_a_config_error(store: Store) -> None:
    with pytest.raises(ConfigError, match="CONVERZEN_API_KEY"):
        ConverzenProvider(provider_context(Settings(converzen_api_key=None), store))


def test_persona_selector() -> None:
    assert persona_selector("") is None
    assert persona_selector("47:next") == {"persona_id": 47, "version_type": "next"}
    assert persona_selector("my-alias") == {"alias": "my-alias"}


async def test_alias_and_default_persona_reach_get_token(
    emu: ConverzenEmulator, store: Store
) -> None:
    for persona, expected in (("my-alias", {"alias": "my-alias"}), ("", None)):
        settings = settings_for(emu, converzen_persona=persona)
        provider = ConverzenProvider(provider_context(settings, store))
        try:
            await collect(provider, Conversation("converzen", None, THREAD), make_post("hi"))
        finally:
            await provider.aclose()
        assert emu.calls_to("/get_token")[-1].body.get("persona") == expected
