"""The OpenAI-compatible provider sets reasoning apart, against its emulator (real httpx-sse,
history in real Redis): a `reasoning_content` or `reasoning` field, or `<think>` in the content
cut across SSE chunks, becomes `ReasoningDelta`s; the answer alone is yielded as text, kept in
the history and sent back."""

from __future__ import annotations

import json

import httpx
import pytest

from bridge.contracts import Conversation, ReasoningDelta, ReplyDone, TextDelta
from bridge.store import Store
from emulators.openai_compat import OpenAIEmulator
from providers.openai_compat.provider import HISTORY, OpenAICompatProvider
from tests.provider_kit import THREAD, Kit, OpenAIKit, collect, deltas, final, user_post

REASONING = "The user greets me.\nI should greet back, briefly."
ANSWERS = ("Hello 👋🏽 — grüße!", "Second answer.")


@pytest.fixture
def kit() -> Kit:
    return OpenAIKit()


def reasoning_of(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", None])
async def test_reasoning_is_set_apart_and_never_sent_back(
    field: str | None, provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    emu.reasoning_field = field
    emu.style.chunk_chars = 3
    emu.script(*ANSWERS)
    emu.think(REASONING, "More thoughts <think> inside.")
    conv = Conversation("openai", "c1", THREAD)
    first = await collect(provider, conv, user_post(1, "hi"))
    second = await collect(provider, conv, user_post(2, "again"))
    for events, answer in zip((first, second), ANSWERS, strict=True):
        assert final(events) == answer
        assert deltas(events) == answer
        assert isinstance(events[-1], ReplyDone)
    assert reasoning_of(first).strip() == REASONING
    assert reasoning_of(second).strip() == "More thoughts <think> inside."
    first_reasoning = next(i for i, e in enumerate(first) if isinstance(e, ReasoningDelta))
    first_text = next(i for i, e in enumerate(first) if isinstance(e, TextDelta))
    assert first_reasoning < first_text
    assert emu.sent[1] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": ANSWERS[0]},
        {"role": "user", "content": "again"},
    ]
    stored = json.loads(await store.thread_state.get(THREAD, HISTORY) or "[]")
    assert [m["content"] for m in stored] == ["hi", ANSWERS[0], "again", ANSWERS[1]]


async def test_think_tags_cut_into_single_characters(
    provider: OpenAICompatProvider, emu: OpenAIEmulator
) -> None:
    emu.reasoning_field = None
    emu.style.chunk_chars = 1
    emu.script("Use `<think>` literally.")
    emu.think("plan")
    events = await collect(provider, Conversation("openai", "c1", THREAD), user_post(1))
    assert final(events) == deltas(events) == "Use `<think>` literally."
    assert reasoning_of(events).strip() == "plan"


async def test_unclosed_reasoning_leaves_an_empty_answer(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    emu.reasoning_field = None
    emu.script("<think>I ran out of tokens before the answer")
    events = await collect(provider, Conversation("openai", "c1", THREAD), user_post(1))
    assert final(events) == ""
    assert reasoning_of(events) == "I ran out of tokens before the answer"
    stored = json.loads(await store.thread_state.get(THREAD, HISTORY) or "[]")
    assert stored[-1] == {"role": "assistant", "content": ""}


async def test_an_answer_stored_with_its_think_block_goes_back_without_it(
    provider: OpenAICompatProvider, emu: OpenAIEmulator, store: Store
) -> None:
    old = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>r</think>A"}]
    await store.thread_state.set(THREAD, HISTORY, json.dumps(old))
    emu.script("B")
    await collect(provider, Conversation("openai", "c1", THREAD), user_post(2, "q2"))
    assert emu.sent[0][1] == {"role": "assistant", "content": "A"}


async def test_the_emulator_refuses_reasoning_content_in_input(emu: OpenAIEmulator) -> None:
    """As DeepSeek's API does: the history the bridge sends must never carry it."""
    async with httpx.AsyncClient() as client:
        body = {
            "model": "m",
            "messages": [{"role": "assistant", "content": "A", "reasoning_content": "r"}],
        }
        response = await client.post(f"{emu.base_url}/chat/completions", json=body)
    assert response.status_code == 400
