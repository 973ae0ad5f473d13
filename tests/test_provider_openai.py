"""OpenAI-compatible provider against its emulator: real httpx-sse, history in real Redis."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bridge.config import ConfigError
from bridge.contracts import Conversation, ReplyDone, ReplyFailed, TextDelta
from bridge.store import Store
from emulators.base import Fault
from emulators.openai_compat import OpenAIEmulator
from providers.openai_compat.provider import OpenAICompatProvider, fit_history
from tests.provider_kit import THREAD, Kit, OpenAIKit, collect, final, told, user_post

TEXTS = ("Erste 👋🏽 Antwort — grüße", "Second: naïve 👩‍👩‍👧‍👦 café", "第三 ✓")


@pytest.fixture
def kit() -> Kit:
    return OpenAIKit()


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
    finals = [final(await collect(provider, conv, user_post(n, f"q{n}"))) for n in (1, 2, 3)]
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


async def test_history_is_trimmed_to_the_budget(
    make_provider: Callable[..., Any], emu: OpenAIEmulator, store: Store
) -> None:
    provider = make_provider(openai_history_tokens=100)
    conv = Conversation("openai", "c1", THREAD)
    emu.script(*(f"{n}" * 120 for n in range(5)))
    for n in range(5):
        assert isinstance((await collect(provider, conv, user_post(n, f"q{n}")))[-1], ReplyDone)
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
    await collect(provider, conv, user_post(1, "first"))
    emu.fail_next("chat", fault)
    events = await collect(provider, conv, user_post(2, "second"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed), events
    assert failed.retryable is retryable and words in told(failed)
    assert len(await stored(store)) == 2
    emu.script("recovered ✓")
    assert final(await collect(provider, conv, user_post(3, "third"))) == "recovered ✓"
    assert [m["content"] for m in await stored(store)][2:] == ["third", "recovered ✓"]


async def test_api_key_is_sent_as_bearer(
    make_provider: Callable[..., Any], emu: OpenAIEmulator
) -> None:
    emu.api_key = "sk-local"
    good, bad = make_provider(openai_api_key="sk-local"), make_provider()
    conv = Conversation("openai", "c1", THREAD)
    assert isinstance((await collect(good, conv, user_post()))[-1], ReplyDone)
    failed = (await collect(bad, conv, user_post(2)))[-1]
    assert isinstance(failed, ReplyFailed) and "OPENAI_API_KEY" in told(failed)


async def test_forget_drops_the_history(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    conv = Conversation("openai", "c1", THREAD)
    await collect(provider, conv, user_post(1, "remember me"))
    await provider.forget(conv)
    assert await stored(store) == []
    await collect(provider, conv, user_post(2, "who am I?"))
    assert emu.sent[-1] == [{"role": "user", "content": "who am I?"}]


async def test_closing_the_reply_closes_the_stream_and_keeps_no_turn(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    emu.style.tokens_per_second = 100
    emu.script("word " * 300)
    events = provider.reply(Conversation("openai", "c1", THREAD), user_post(1, "long"))
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)
    assert await stored(store) == []


async def test_missing_model_is_a_config_error(make_provider: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="OPENAI_MODEL"):
        make_provider(openai_model=None)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        make_provider(openai_base_url=None)
