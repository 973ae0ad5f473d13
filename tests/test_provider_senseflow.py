"""SenseFlow provider against its Dify-style emulator: real httpx-sse, real Redis store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bridge.config import ConfigError
from bridge.contracts import Conversation, ReplyFailed, TextDelta
from emulators.base import Fault
from emulators.senseflow import AGENT, SenseflowEmulator
from providers.senseflow import SenseflowProvider
from tests.provider_kit import (
    THREAD,
    Kit,
    SenseflowKit,
    collect,
    deltas,
    final,
    started,
    told,
    user_post,
)

TEXTS = (
    "Guten Tag 👋🏽 — Grüße",
    "Zweite Antwort: naïve 👩‍👩‍👧‍👦 café",
    "第三 ✓ fertig\n\n```py\nx = 1\n```",
)


@pytest.fixture
def kit() -> Kit:
    return SenseflowKit()


async def first_reply(provider: SenseflowProvider) -> Conversation:
    events = await collect(provider, Conversation("senseflow", None, THREAD), user_post())
    return Conversation("senseflow", started(events)[0], THREAD)


async def test_three_posts_one_conversation_exact_texts(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    emu.script(*TEXTS)
    conv = Conversation("senseflow", None, THREAD)
    finals = []
    for n, author in enumerate(("U1", "U2", "U3"), start=1):
        events = await collect(provider, conv, user_post(n, f"Frage {n}", author=author))
        if conv.id is None:
            conv = replace(conv, id=started(events)[0])
        else:
            assert started(events) == []
        finals.append(final(events))
    assert finals == list(TEXTS)
    owner = user_post(1, "x", author="U1").author_ref
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
    events = await collect(provider, Conversation("senseflow", None, THREAD), user_post())
    assert deltas(events) == "an answer the moderator dislikes"
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
        (Fault("status", status=401), False, "SENSEFLOW_API_KEY"),
    ],
)
async def test_faults_become_clear_failures(
    provider: SenseflowProvider, emu: SenseflowEmulator, fault: Fault, retryable: bool, words: str
) -> None:
    conv = await first_reply(provider)
    emu.fail_next("chat", fault)
    events = await collect(provider, conv, user_post(2, "trouble?"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed), events
    assert failed.retryable is retryable
    assert words in told(failed)
    emu.script("back to normal ✓")
    assert final(await collect(provider, conv, user_post(3, "now?"))) == "back to normal ✓"


async def test_cancel_stops_the_task_and_closes_the_stream(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = await first_reply(provider)
    emu.style.tokens_per_second = 100
    emu.script("long " * 300)
    events = provider.reply(conv, user_post(2, "tell me a lot"))
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()
    await provider.cancel(conv)
    stop = emu.calls_to("/stop")
    assert len(stop) == 1
    task = stop[0].path.split("/")[-2]
    assert stop[0].body == {"user": user_post(1, "x").author_ref}
    assert emu.tasks[task][1].is_set()
    await emu.wait_for(lambda: emu.aborted == 1, timeout=3)
    await provider.cancel(conv)
    assert len(emu.calls_to("/stop")) == 1


async def test_cancel_tolerates_an_unknown_task(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = await first_reply(provider)
    emu.style.tokens_per_second = 100
    events = provider.reply(conv, user_post(2, "again"))
    await anext(events)
    emu.tasks.clear()
    await events.aclose()
    await provider.cancel(conv)
    assert len(emu.calls_to("/stop")) == 1


async def test_forget_deletes_the_conversation(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = await first_reply(provider)
    await collect(provider, conv, user_post(2, "second", author="U2"))
    await provider.forget(conv)
    assert emu.conversations == {}
    deleted = emu.calls_to("/agent/conversations/", "DELETE")
    assert deleted[0].body == {"user": user_post(1, "x").author_ref, "model": AGENT}
    await provider.forget(conv)  # the owner is gone with the conversation: nothing to send
    assert len(emu.calls_to("/agent/conversations/", "DELETE")) == 1
    events = await collect(provider, conv, user_post(3, "still there?"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and "no longer knows" in failed.message


async def test_check_lists_the_agents_conversations(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    """Seed 004 lists conversations per `model` (the agent) and `user`."""
    assert "accepted" in await provider.check()
    (listed,) = emu.calls_to("/agent/conversations", "GET")
    assert listed.query["model"] == AGENT and listed.query["user"]


async def test_rename(provider: SenseflowProvider, emu: SenseflowEmulator) -> None:
    conv = await first_reply(provider)
    await emu.wait_for(lambda: emu.conversations[str(conv.id)].name != "New chat", timeout=5)
    assert await provider.rename(conv, "Plans for the launch 🚀")
    assert emu.conversations[str(conv.id)].name == "Plans for the launch 🚀"
    listed = await provider._client.get(
        "agent/conversations", params={"model": AGENT, "user": user_post(1, "x").author_ref}
    )
    assert listed.json()["data"][0]["name"] == "Plans for the launch 🚀"
    assert not await provider.rename(replace(conv, id="missing"), "nope")


async def test_missing_agent_is_a_config_error(make_provider: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match="SENSEFLOW_AGENT"):
        make_provider(senseflow_agent="")


async def test_first_reply_names_the_conversation_from_the_thread(
    provider: SenseflowProvider, emu: SenseflowEmulator
) -> None:
    conv = Conversation("senseflow", None, THREAD)
    events = await collect(provider, conv, user_post(1, "Plans for the product launch next week"))
    (new_id,) = started(events)
    await emu.wait_for(lambda: emu.conversations[new_id].name != "New chat", timeout=5)
    assert emu.conversations[new_id].name == "Plans for the product launch next week"
