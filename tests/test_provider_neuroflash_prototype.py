"""neuroflash prototype provider against its emulator (OAuth, workspaces, non-streaming)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr

from bridge.config import ConfigError, Settings
from bridge.contracts import (
    Conversation,
    ConversationStarted,
    Provider,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ThreadKey,
    UserPost,
)
from bridge.plugins import load_provider
from bridge.providers.neuroflash_prototype import NeuroflashPrototypeProvider
from bridge.sse import ProviderHTTPError
from bridge.store import Store
from emulators.base import Fault
from emulators.neuroflash_prototype import (
    CLIENT_ID,
    CLIENT_SECRET,
    WORKSPACE,
    NeuroflashPrototypeEmulator,
)
from tests.conftest import provider_context
from tests.provider_events import collect, told

THREAD = ThreadKey("slack", "T1", "C2", "1700000000.000200")
OTHER_WORKSPACE = "0d7c1f0e-0000-4000-8000-000000000002"
TEXTS = ("Neuroflash ist einzigartig 👋🏽 — grüße", "Ein Beispiel: naïve 👩‍👩‍👧‍👦 café", "完 ✓")


def make_post(text: str, n: int = 1, thread: ThreadKey = THREAD) -> UserPost:
    return UserPost(thread, f"m{n}", "U1", text, 1700000000.0 + n)


@pytest.fixture
async def emu() -> AsyncIterator[NeuroflashPrototypeEmulator]:
    emulator = NeuroflashPrototypeEmulator()
    emulator.workspaces.add(OTHER_WORKSPACE)
    await emulator.start()
    yield emulator
    await emulator.stop()


def settings_for(emu: NeuroflashPrototypeEmulator, **extra: Any) -> Settings:
    values = {
        "neuroflash_client_id": CLIENT_ID,
        "neuroflash_client_secret": CLIENT_SECRET,
        "neuroflash_workspace_id": WORKSPACE,
        "neuroflash_api_url": emu.api_url,
        "neuroflash_token_url": emu.token_url,
    }
    return Settings(**(values | extra))


def build(
    emu: NeuroflashPrototypeEmulator, store: Store, **extra: Any
) -> NeuroflashPrototypeProvider:
    return NeuroflashPrototypeProvider(provider_context(settings_for(emu, **extra), store))


@pytest.fixture
async def provider(
    emu: NeuroflashPrototypeEmulator, store: Store
) -> AsyncIterator[NeuroflashPrototypeProvider]:
    instance = build(emu, store)
    yield instance
    await instance.aclose()


async def opened(provider: NeuroflashPrototypeProvider, thread: ThreadKey = THREAD) -> Conversation:
    conversation_id = await provider.open(thread, {})
    return Conversation("neuroflash-prototype", conversation_id, thread)


async def test_registered_under_its_entry_point(
    emu: NeuroflashPrototypeEmulator, store: Store
) -> None:
    loaded = load_provider("neuroflash-prototype", provider_context(settings_for(emu), store))
    try:
        assert isinstance(loaded, NeuroflashPrototypeProvider) and isinstance(loaded, Provider)
    finally:
        await loaded.aclose()


async def test_three_posts_one_conversation_exact_texts(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    assert provider.streams is False
    conv = await opened(provider)
    create = emu.calls_to("/ds-prototypes/conversations", "POST")[0]
    assert create.body == {"workspace_id": WORKSPACE}
    assert create.headers["x-workspace-id"] == WORKSPACE
    emu.script(*TEXTS)
    results = [await collect(provider, conv, make_post(f"Frage {n}", n)) for n in (1, 2, 3)]
    for events, text in zip(results, TEXTS, strict=True):
        assert len(events) == 1
        done = events[0]
        assert isinstance(done, ReplyDone) and done.text == text
        assert done.finish_reason == "stop" and done.usage["total_tokens"] > 0
    sent = [c.body for c in emu.calls_to("/chat/completions")]
    assert sent == [{"messages": [{"role": "user", "content": f"Frage {n}"}]} for n in (1, 2, 3)]
    assert len(emu.conversations) == 1
    assert len(emu.conversations[str(conv.id)].messages) == 6


async def test_reply_without_an_id_opens_one(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    events = await collect(
        provider, Conversation("neuroflash-prototype", None, THREAD), make_post("hi")
    )
    assert isinstance(events[0], ConversationStarted)
    assert events[0].conversation_id in emu.conversations
    assert isinstance(events[1], ReplyDone)


async def test_token_fetched_once_for_50_concurrent_replies(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    async def one(i: int) -> list[ReplyEvent]:
        thread = replace(THREAD, thread=f"t{i}")
        return await collect(
            provider, await opened(provider, thread), make_post("hi", thread=thread)
        )

    results = await asyncio.gather(*(one(i) for i in range(50)))
    assert all(isinstance(r[-1], ReplyDone) for r in results)
    assert emu.token_calls == 1


async def test_one_refresh_after_tokens_expire(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    conv = await opened(provider)
    emu.expire_tokens()
    results = await asyncio.gather(
        *(collect(provider, conv, make_post(f"q{n}", n)) for n in range(20))
    )
    assert all(isinstance(r[-1], ReplyDone) for r in results)
    assert emu.token_calls == 2


async def test_wrong_workspace_is_explained(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator, store: Store
) -> None:
    conv = await opened(provider)
    other = build(emu, store, neuroflash_workspace_id=OTHER_WORKSPACE)
    try:
        failed = (await collect(other, conv, make_post("hi")))[-1]
        assert isinstance(failed, ReplyFailed) and not failed.retryable
        assert "does not own this conversation" in failed.message
        assert "NEUROFLASH_WORKSPACE_ID" in failed.message
        with pytest.raises(ProviderHTTPError) as raised:
            await other.forget(conv)
        assert raised.value.status == 403
    finally:
        await other.aclose()
    assert isinstance((await collect(provider, conv, make_post("hi", 2)))[-1], ReplyDone)


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        (Fault("status", status=500, body={"detail": "boom"}), True, "HTTP 500"),
        (Fault("status", status=429, headers={"Retry-After": "1"}), True, "busy"),
        (Fault("status", status=422, body={"detail": "messages too long"}), False, "too long"),
        (Fault("malformed"), True, "could not read"),
        (Fault("cut"), True, "connection"),
        (
            Fault("error_event", body={"code": "upstream", "message": "model down"}),
            True,
            "model down",
        ),
    ],
)
async def test_faults_become_clear_failures(
    provider: NeuroflashPrototypeProvider,
    emu: NeuroflashPrototypeEmulator,
    fault: Fault,
    retryable: bool,
    words: str,
) -> None:
    conv = await opened(provider)
    emu.fail_next("completion", fault)
    failed = (await collect(provider, conv, make_post("trouble?")))[-1]
    assert isinstance(failed, ReplyFailed)
    assert failed.retryable is retryable and words in told(failed)
    emu.script("fine again ✓")
    done = (await collect(provider, conv, make_post("now?", 2)))[-1]
    assert isinstance(done, ReplyDone) and done.text == "fine again ✓"


async def test_slow_answer_times_out_cleanly(
    emu: NeuroflashPrototypeEmulator, store: Store
) -> None:
    provider = build(emu, store, provider_read_timeout=0.3)
    try:
        conv = await opened(provider)
        emu.fail_next("completion", Fault("slow", delay=1.0))
        failed = (await collect(provider, conv, make_post("hi")))[-1]
        assert isinstance(failed, ReplyFailed) and "in time" in failed.message
        assert isinstance((await collect(provider, conv, make_post("hi", 2)))[-1], ReplyDone)
    finally:
        await provider.aclose()


async def test_forget_deletes_the_conversation(
    provider: NeuroflashPrototypeProvider, emu: NeuroflashPrototypeEmulator
) -> None:
    conv = await opened(provider)
    await collect(provider, conv, make_post("hi"))
    await provider.forget(conv)
    assert emu.conversations == {}
    delete = emu.calls_to("/ds-prototypes/conversations/", "DELETE")[0]
    assert delete.query == {"workspace_id": WORKSPACE}
    await provider.forget(conv)
    failed = (await collect(provider, conv, make_post("still there?", 2)))[-1]
    assert isinstance(failed, ReplyFailed) and "no longer knows" in failed.message


async def test_bad_client_secret_names_the_settings(
    emu: NeuroflashPrototypeEmulator, store: Store
) -> None:
    provider = build(emu, store, neuroflash_client_secret="wrong")
    try:
        conv = Conversation("neuroflash-prototype", "some-id", THREAD)
        failed = (await collect(provider, conv, make_post("hi")))[-1]
    finally:
        await provider.aclose()
    assert isinstance(failed, ReplyFailed) and not failed.retryable
    assert "NEUROFLASH_CLIENT_SECRET" in told(failed)


def test_missing_workspace_is_a_config_error(store: Store) -> None:
    settings = Settings(
        neuroflash_client_id="id",
        neuroflash_client_secret=SecretStr("s"),
        neuroflash_workspace_id=None,
    )
    with pytest.raises(ConfigError, match="NEUROFLASH_WORKSPACE_ID"):
        NeuroflashPrototypeProvider(provider_context(settings, store))
