"""SenseFlow provider against its Dify-style emulator: real httpx-sse, real Redis store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from pydantic import SecretStr

from bridge.config import ConfigError, Settings
from bridge.contracts import (
    Conversation,
    Provider,
    ReplyFailed,
    TextDelta,
    ThreadKey,
    UserPost,
)
from bridge.plugins import load_provider
from bridge.providers.senseflow import SenseflowProvider
from bridge.store import Store
from emulators.base import Fault
from emulators.senseflow import AGENT, API_KEY, SenseflowEmulator
from tests.conftest import provider_context
from tests.provider_events import collect, final, started, told

THREAD = ThreadKey("discord", "G1", "C1", "998877")
TEXTS = (
    "Guten Tag 👋🏽 — Grüße",
    "Zweite Antwort: naïve 👩‍👩‍👧‍👦 café",
    "第三 ✓ fertig\n\n```py\nx = 1\n```",
)


def make_post(text: str, author: str = "U1", n: int = 1) -> UserPost:
    return UserPost(THREAD, f"m{n}", author, text, 1700000000.0 + n)


@pytest.fixture
async def emu() -> AsyncIterator[SenseflowEmulator]:
    emulator = SenseflowEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


def settings_for(emu: SenseflowEmulator, **extra: Any) -> Settings:
    values = {
        "senseflow_api_key": API_KEY,
        "senseflow_agent": AGENT,
        "senseflow_api_url": emu.api_url,
    }
    return Settings(**(values | extra))


@pytest.fixture
async def provider(emu: SenseflowEmulator, store: Store) -> AsyncIterator[SenseflowProvider]:
    instance = SenseflowProvider(provider_context(settings_for(emu), store))
    yield instance
    await instance.aclose()


async def first_reply(provider: SenseflowProvider) -> Conversation:
    events = await collect(provider, Conversation("senseflow", None, THREAD), make_post("hi"))
    return Conversation("senseflow", started(events)[0], THREAD)


async def test_three_posts_one_conversation_exact_texts(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    emu.script(*TEXTS)
    conv = Conversation("senseflow", None, THREAD)
    finals = []
    for n, author in enumerate(("U1", "U2", "U3"), start=1):
        events = await collect(provider, conv, make_post(f"Frage {n}", author=author, n=n))
        if conv.id is None:
            conv = replace(conv, id=started(events)[0])
        else:
            assert started(events) == []
        finals.append(final(events))
    assert finals == list(TEXTS)
    owner = make_post("x", author="U1").author_ref
    bodies = [c.body for c in emu.calls_to("/chat-messages", "POST")]
    assert bodies[0] == {
        "model": AGENT,
        "query": "Frage 1",
        "inputs": {},
        "response_mode": "streaming",
        "conversation_id": "",
        "user": owner,
    }
    assert [(b["conversation_id"], b["user"]) for b in bodies[1:]] == [(conv.id, owner)] * 2
    assert list(emu.conversations) == [conv.id]
    assert len(emu.conversations[str(conv.id)].messages) == 6


async def test_message_replace_sets_the_final_text(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    emu.script("an answer the moderator dislikes")
    emu.replace_next("Sorry, I can't answer that. 🙅")
    events = await collect(provider, Conversation("senseflow", None, THREAD), make_post("hi"))
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert deltas == "an answer the moderator dislikes"
    assert final(events) == "Sorry, I can't answer that. 🙅"


@pytest.mark.parametrize(
    ("fault", "retryable", "words"),
    [
        (
            Fault("error_event", status=400, body={"code": "invalid_param", "message": "bad"}),
            False,
            "bad",
        ),
        (
            Fault("error_event", status=500, body={"code": "internal_server_error"}, after=3),
            True,
            "error",
        ),
        (
            Fault("status", status=503, body={"code": "unavailable", "message": "down"}),
            True,
            "HTTP 503",
        ),
        (Fault("status", status=401), False, "SENSEFLOW_API_KEY"),
        (Fault("cut", after=4), True, "stopped sending"),
        (Fault("disconnect", after=1), True, "connection"),
    ],
)
async def test_faults_become_clear_failures(
    provider: SenseflowProvider, emu: SenseflowEmulator, fault: Fault, retryable: bool, words: str
) -> None:
    conv = await first_reply(provider)
    emu.fail_next("chat", fault)
    events = await collect(provider, conv, make_post("trouble?", n=2))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed), events
    assert failed.retryable is retryable
    assert words in told(failed)
    emu.script("back to normal ✓")
    assert final(await collect(provider, conv, make_post("now?", n=3))) == "back to normal ✓"


async def test_malformed_event_and_pings_are_skipped(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    emu.fail_next("chat", Fault("malformed", after=2))
    emu.script("still exact 🧩")
    events = await collect(provider, Conversation("senseflow", None, THREAD), make_post("hi"))
    assert final(events) == "still exact 🧩"


async def test_cancel_stops_the_task_and_closes_the_stream(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = await first_reply(provider)
    emu.style.tokens_per_second = 100
    emu.script("long " * 300)
    events = provider.reply(conv, make_post("tell me a lot", n=2))
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()  # type: ignore[attr-defined]
    await provider.cancel(conv)
    stop = emu.calls_to("/stop")
    assert len(stop) == 1
    task = stop[0].path.split("/")[-2]
    assert stop[0].body == {"user": make_post("x").author_ref}
    assert emu.tasks[task][1].is_set()
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)
    await provider.cancel(conv)
    assert len(emu.calls_to("/stop")) == 1


async def test_cancel_tolerates_an_unknown_task(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = await first_reply(provider)
    emu.style.tokens_per_second = 100
    events = provider.reply(conv, make_post("again", n=2))
    await anext(events)
    emu.tasks.clear()
    await events.aclose()  # type: ignore[attr-defined]
    await provider.cancel(conv)
    assert len(emu.calls_to("/stop")) == 1


async def test_forget_deletes_the_conversation(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = await first_reply(provider)
    await collect(provider, conv, make_post("second", author="U2", n=2))
    await provider.forget(conv)
    assert emu.conversations == {}
    deleted = emu.calls_to("/agent/conversations/", "DELETE")
    assert deleted[0].body == {"user": make_post("x").author_ref, "model": AGENT}
    await provider.forget(conv)
    events = await collect(provider, conv, make_post("still there?", n=3))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and "no longer knows" in failed.message


async def test_rename(provider: SenseflowProvider, emu: SenseflowEmulator) -> None:
    conv = await first_reply(provider)
    await emu.wait_for(lambda: emu.conversations[str(conv.id)].name != "New chat", timeout=5)
    assert await provider.rename(conv, "Plans for the launch 🚀")
    assert emu.conversations[str(conv.id)].name == "Plans for the launch 🚀"
    listed = await provider._client.get(
        "agent/conversations", params={"model": AGENT, "user": make_post("x").author_ref}
    )
    assert listed.json()["data"][0]["name"] == "Plans for the launch 🚀"
    assert not await provider.rename(replace(conv, id="missing"), "nope")


def test_missing_agent_is_a_config_error(store: Store) -> None:
    settings = Settings(senseflow_api_key=SecretStr("k"), senseflow_agent="")
    with pytest.raises(ConfigError, match="SENSEFLOW_AGENT"):
        SenseflowProvider(provider_context(settings, store))


async def test_registered_under_its_entry_point(emu: SenseflowEmulator, store: Store) -> None:
    provider = load_provider("senseflow", provider_context(settings_for(emu), store))
    try:
        assert isinstance(provider, SenseflowProvider) and isinstance(provider, Provider)
    finally:
        await provider.aclose()


async def test_first_reply_names_the_conversation_from_the_thread(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = Conversation("senseflow", None, THREAD)
    events = await collect(provider, conv, make_post("Plans for the product launch next week"))
    (new_id,) = started(events)
    await emu.wait_for(lambda: emu.conversations[new_id].name != "New chat", timeout=5)
    assert emu.conversations[new_id].name == "Plans for the product launch next week"
