"""OpenAI-compatible provider against its emulator: real httpx-sse, history in real Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
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
from bridge.providers.openai_compat import OpenAICompatProvider, fit_history
from bridge.store import Store
from emulators.base import Fault
from emulators.openai_compat import OpenAIEmulator
from tests.conftest import provider_context
from tests.provider_events import collect, final, told

THREAD = ThreadKey("slack", "T9", "C9", "1700000000.000900")
TEXTS = ("Erste 👋🏽 Antwort — grüße", "Second: naïve 👩‍👩‍👧‍👦 café", "第三 ✓")


def make_post(text: str, n: int = 1) -> UserPost:
    return UserPost(THREAD, f"m{n}", "U1", text, 1700000000.0 + n)


@pytest.fixture
async def emu() -> AsyncIterator[OpenAIEmulator]:
    emulator = OpenAIEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


def build(emu: OpenAIEmulator, store: Store, **extra: Any) -> OpenAICompatProvider:
    values = {"openai_base_url": emu.base_url, "openai_model": "llama3"} | extra
    return OpenAICompatProvider(provider_context(Settings(**values), store))


@pytest.fixture
async def provider(emu: OpenAIEmulator, store: Store) -> AsyncIterator[OpenAICompatProvider]:
    instance = build(emu, store)
    yield instance
    await instance.aclose()


async def stored(store: Store) -> list[dict[str, str]]:
    raw = await store.thread_state.get(THREAD, "openai:history")
    return json.loads(raw) if raw else []


async def test_three_posts_keep_history_and_exact_texts(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    conv_id = await provider.open(THREAD, {"personality": "You are terse."})
    assert conv_id and conv_id != await provider.open(THREAD, {})
    conv = Conversation("openai", conv_id, THREAD, {"personality": "You are terse."})
    emu.script(*TEXTS)
    finals = [final(await collect(provider, conv, make_post(f"q{n}", n))) for n in (1, 2, 3)]
    assert finals == list(TEXTS)
    system = {"role": "system", "content": "You are terse."}
    assert emu.sent[0] == [system, {"role": "user", "content": "q1"}]
    assert emu.sent[2] == [
        system,
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": TEXTS[0]},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": TEXTS[1]},
        {"role": "user", "content": "q3"},
    ]
    assert emu.calls_to("/chat/completions")[0].body["model"] == "llama3"
    assert emu.calls_to("/chat/completions")[0].body["stream"] is True
    assert len(await stored(store)) == 6


async def test_history_is_trimmed_to_the_budget(emu: OpenAIEmulator, store: Store) -> None:
    provider = build(emu, store, openai_history_tokens=100)
    conv = Conversation("openai", "c1", THREAD)
    emu.script(*(f"{n}" * 120 for n in range(5)))
    try:
        for n in range(5):
            assert isinstance((await collect(provider, conv, make_post(f"q{n}", n)))[-1], ReplyDone)
    finally:
        await provider.aclose()
    last = emu.sent[-1]
    assert [m["content"][:2] for m in last] == ["q2", "22", "q3", "33", "q4"]
    assert sum(len(m["content"]) // 4 + 4 for m in last) <= 100
    assert [m["content"][:2] for m in await stored(store)] == ["q2", "22", "q3", "33", "q4", "44"]


def test_fit_history_drops_whole_oldest_turns() -> None:
    history = [
        {"role": "user", "content": "a" * 40},
        {"role": "assistant", "content": "b" * 40},
        {"role": "user", "content": "c" * 40},
        {"role": "assistant", "content": "d" * 4},
    ]
    fixed = [{"role": "user", "content": "new"}]
    assert fit_history(fixed, history, 1000) == 4
    assert fit_history(fixed, history, 4 + 5 + 14 + 14) == 2
    assert fit_history(fixed, history, 4 + 5 + 14 + 14 + 13) == 2
    assert fit_history(fixed, history, 4 + 5 + 14 + 14 + 14) == 4
    assert fit_history(fixed, history, 4) == 0


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        (
            Fault(
                "error_event", body={"code": "server_error", "message": "GPU fell over"}, after=3
            ),
            True,
            "GPU fell over",
        ),
        (
            Fault("error_event", body={"code": "context_length_exceeded"}),
            False,
            "could not answer",
        ),
        (Fault("status", status=500, body={"error": {"message": "boom"}}), True, "HTTP 500"),
        (Fault("status", status=400, body={"error": {"message": "bad model"}}), False, "bad model"),
        (Fault("cut", after=4), True, "stopped sending"),
        (Fault("disconnect", after=2), True, "connection"),
    ],
)
async def test_faults_become_clear_failures_and_leave_history_alone(
    provider: OpenAICompatProvider,
    emu: OpenAIEmulator,
    store: Store,
    fault: Fault,
    retryable: bool,
    words: str,
) -> None:
    conv = Conversation("openai", "c1", THREAD)
    await collect(provider, conv, make_post("first", 1))
    emu.fail_next("chat", fault)
    events = await collect(provider, conv, make_post("second", 2))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed), events
    assert failed.retryable is retryable and words in told(failed)
    assert len(await stored(store)) == 2
    emu.script("recovered ✓")
    assert final(await collect(provider, conv, make_post("third", 3))) == "recovered ✓"
    assert [m["content"] for m in await stored(store)][2:] == ["third", "recovered ✓"]


async def test_malformed_event_is_skipped(
    provider: OpenAICompatProvider, emu: OpenAIEmulator
) -> None:
    emu.fail_next("chat", Fault("malformed", after=1))
    emu.script("whole 🧩 text")
    events = await collect(provider, Conversation("openai", "c1", THREAD), make_post("hi"))
    assert final(events) == "whole 🧩 text"


async def test_api_key_is_sent_as_bearer(store: Store) -> None:
    emu = OpenAIEmulator(api_key="sk-local")
    await emu.start()
    good, bad = build(emu, store, openai_api_key="sk-local"), build(emu, store)
    try:
        conv = Conversation("openai", "c1", THREAD)
        assert isinstance((await collect(good, conv, make_post("hi")))[-1], ReplyDone)
        failed = (await collect(bad, conv, make_post("hi", 2)))[-1]
        assert isinstance(failed, ReplyFailed) and "OPENAI_API_KEY" in told(failed)
    finally:
        await good.aclose()
        await bad.aclose()
        await emu.stop()


async def test_forget_drops_the_history(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    conv = Conversation("openai", "c1", THREAD)
    await collect(provider, conv, make_post("remember me", 1))
    await provider.forget(conv)
    assert await stored(store) == []
    await collect(provider, conv, make_post("who am I?", 2))
    assert emu.sent[-1] == [{"role": "user", "content": "who am I?"}]


async def test_closing_the_reply_closes_the_stream_and_keeps_no_turn(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    emu.style.tokens_per_second = 100
    emu.script("word " * 300)
    events = provider.reply(Conversation("openai", "c1", THREAD), make_post("long"))
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()  # type: ignore[attr-defined]
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)
    assert await stored(store) == []


def test_missing_model_is_a_config_error(store: Store) -> None:
    with pytest.raises(ConfigError, match="OPENAI_MODEL"):
        settings = Settings(openai_base_url="http://x/v1", openai_model=None)
        OpenAICompatProvider(provider_context(settings, store))
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        settings = Settings(openai_base_url=None, openai_model="m")
        OpenAICompatProvider(provider_context(settings, store))


async def test_registered_under_its_entry_point(emu: OpenAIEmulator, store: Store) -> None:
    provider = load_provider(
        "openai", provider_context(Settings(openai_base_url=emu.base_url, openai_model="m"), store)
    )
    try:
        assert isinstance(provider, OpenAICompatProvider) and isinstance(provider, Provider)
    finally:
        await provider.aclose()
