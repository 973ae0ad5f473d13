"""Every provider passes one conformance suite, against its emulator.

Real httpx / httpx-sse over loopback, real Redis store; each provider is loaded by its entry
point and driven through the Provider protocol as bridge/turn.py drives it. What a case cannot
mean for an API (no token, no delete, no event stream) is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge.contracts import Provider, ReplyDone, ReplyEvent, TextDelta, ThreadKey
from tests.provider_kit import (
    CASES,
    FAILURES,
    KITS,
    Bench,
    Kit,
    OpenBench,
    OpenProviders,
    Turn,
    blackhole,
    closed_port,
    consume,
    thread_key,
    user_post,
    with_kits,
)

TEXTS = (
    "Grüße aus Köln 👋🏽 — naïve café\r\nzweite Zeile",
    "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 日本語のテキスト ✓",
    "Line one\n\nLine two with `code` and ✅ done",
)
TEXT = "Still here 🧩 — exakt so, ñ ✓"
AFTER = "And working again 🚀 ✓"
LONG = "word " * 120
SLOW_DELAY = 5.5
"""Later than httpx's default 5 s read timeout."""


def thread(kit: Kit, n: int = 0) -> ThreadKey:
    """Each kit's threads in a channel of their own."""
    return thread_key(n, f"C-{kit.name}")


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test if anything reached the event loop's exception handler."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: seen.append(context))
    yield seen
    gc.collect()
    await asyncio.sleep(0)
    loop.set_exception_handler(previous)
    assert not seen, [c.get("message") for c in seen]


on_bench = with_kits(*KITS)


# 1. Three posts, one conversation, exact texts ---------------------------------------------


@on_bench
async def test_three_posts_one_conversation_exact_texts(bench: Bench) -> None:
    b, kit = bench, bench.kit
    key = thread(kit)
    kit.script(b.emu, *TEXTS)
    ids = []
    for n, expected in enumerate(TEXTS):
        kit.before_post(b.emu, n)
        turn = await b.turn(user_post(n, f"question {n}", author=f"U{n}", thread=key))
        assert turn.text == expected
        if kit.streams:
            assert turn.deltas == expected
            assert sum(isinstance(e, TextDelta) for e in turn.events) > 1
        assert not turn.started or n == 0, turn.started
        binding = await b.store.binding(key)
        assert binding is not None and binding.provider == kit.name and binding.id
        ids.append(binding.id)
    assert len(set(ids)) == 1
    binding = await b.store.binding(key)
    assert binding is not None
    server_side = kit.conversations(b.emu)
    assert server_side is None or server_side == {binding.id}
    assert await kit.held(b.emu, b.provider, binding) == 6


@on_bench
async def test_loaded_by_its_entry_point(bench: Bench) -> None:
    """The registry finds the provider under its name and builds the provider's own class."""
    assert isinstance(bench.provider, bench.kit.provider_class)
    assert isinstance(bench.provider, Provider)


# 2. Auth -------------------------------------------------------------------------------------


def needs_tokens(kit: Kit) -> None:
    if kit.no_token_auth:
        pytest.skip(f"not applicable: {kit.no_token_auth}")


@on_bench
async def test_one_token_for_fifty_concurrent_replies(bench: Bench) -> None:
    b, kit = bench, bench.kit
    needs_tokens(kit)
    turns = await asyncio.gather(*(b.turn(user_post(n, thread=thread(kit, n))) for n in range(50)))
    assert all(turn.text for turn in turns)
    assert kit.token_fetches(b.emu) == 1
    server_side = kit.conversations(b.emu)
    assert server_side is None or len(server_side) == 50


@on_bench
async def test_expired_token_is_renewed_once(bench: Bench) -> None:
    b, kit = bench, bench.kit
    needs_tokens(kit)
    kit.set_token_ttl(b.emu, kit.short_ttl)
    assert (await b.turn(user_post(0, thread=thread(kit)))).text
    await asyncio.sleep(kit.short_ttl + 0.1)
    turns = await asyncio.gather(
        *(b.turn(user_post(n, thread=thread(kit, n))) for n in range(1, 11))
    )
    assert all(turn.text for turn in turns)
    assert kit.token_fetches(b.emu) == 2
    assert kit.reply_calls(b.emu) == 11  # renewed before use: no request was refused


@on_bench
async def test_rejected_token_is_refreshed_once(bench: Bench) -> None:
    b, kit = bench, bench.kit
    needs_tokens(kit)
    keys = [thread(kit, n) for n in range(20)]
    assert all(
        t.text for t in await asyncio.gather(*(b.turn(user_post(0, thread=k)) for k in keys))
    )
    kit.revoke_tokens(b.emu)
    turns = await asyncio.gather(*(b.turn(user_post(1, thread=k)) for k in keys))
    assert all(turn.text for turn in turns)
    assert kit.token_fetches(b.emu) == 2


# 3. Faults -----------------------------------------------------------------------------------


def check_failure(kit: Kit, case: str, turn: Turn) -> None:
    failure, expect = turn.failure, FAILURES[case]
    assert failure.message.strip()
    for words in expect.words:
        assert words in failure.message, (case, failure)
    for words in expect.logged:
        assert words in (failure.detail or ""), (case, failure)
        assert words not in failure.message, (case, failure)
    if expect.retryable is not None:
        assert failure.retryable is expect.retryable, (case, failure)
    if case != "error_event":
        assert kit.label in failure.message, (case, failure)


@on_bench
@pytest.mark.parametrize("case", CASES)
async def test_fault_has_its_documented_outcome_and_the_thread_goes_on(
    bench: Bench, case: str
) -> None:
    b, kit = bench, bench.kit
    if case in kit.not_applicable:
        pytest.skip(f"not applicable: {kit.not_applicable[case]}")
    key = thread(kit)
    assert (await b.turn(user_post(0, thread=key))).text
    before = await b.store.binding(key)
    if case in kit.recovers:
        kit.script(b.emu, TEXT)
    kit.inject(b.emu, case)
    turn = await b.turn(user_post(1, "trouble?", thread=key))
    if case in kit.recovers:
        assert turn.text == TEXT
        assert TEXT.startswith(turn.deltas)
    else:
        check_failure(kit, case, turn)
    kit.script(b.emu, AFTER)
    assert (await b.turn(user_post(2, "and now?", thread=key))).text == AFTER
    assert await b.store.binding(key) == before


@on_bench
@pytest.mark.parametrize("case", ["connect_refused", "connect_timeout"])
async def test_unreachable_provider_fails_cleanly(
    bench: Bench, open_providers: OpenProviders, case: str
) -> None:
    b, kit = bench, bench.kit
    key = thread(kit)
    assert (await b.turn(user_post(0, thread=key))).text
    binding = await b.store.binding(key)
    assert binding is not None
    nowhere = closed_port() if case == "connect_refused" else blackhole()
    with nowhere as root:
        async with open_providers(kit, root, provider_connect_timeout=0.2) as broken:
            started = time.monotonic()
            turn = await consume(broken.get(kit.name), b.store, binding, user_post(1, thread=key))
            assert time.monotonic() - started < 5.0
    check_failure(kit, case, turn)
    kit.script(b.emu, AFTER)
    assert (await b.turn(user_post(2, thread=key))).text == AFTER


async def slow_first_token(kit: Kit, open_bench: OpenBench) -> None:
    async with open_bench(kit, provider_read_timeout=10.0) as b:
        key = thread(kit, 99)
        assert (await b.turn(user_post(0, thread=key))).text
        kit.script(b.emu, TEXT)
        kit.slow(b.emu, SLOW_DELAY)
        started = time.monotonic()
        turn = await b.turn(user_post(1, thread=key))
        assert turn.text == TEXT, (kit.name, turn.events)
        assert time.monotonic() - started >= SLOW_DELAY
        assert kit.reply_calls(b.emu) == 2  # waited for, not retried


@pytest.mark.slow
async def test_slow_first_token_within_the_configured_read_timeout(open_bench: OpenBench) -> None:
    """All providers at once, so the suite waits out one slow first token, not five."""
    results = await asyncio.gather(
        *(slow_first_token(kit, open_bench) for kit in KITS), return_exceptions=True
    )
    problems = {kit.name: repr(r) for kit, r in zip(KITS, results, strict=True) if r is not None}
    assert not problems


# 4. Stop, forget and reset -------------------------------------------------------------------


@on_bench
async def test_stop_mid_reply_then_the_thread_goes_on(bench: Bench) -> None:
    """The stop path of bridge/turn.py: cancel the consuming task, close, `cancel`."""
    b, kit = bench, bench.kit
    key = thread(kit)
    assert (await b.turn(user_post(0, thread=key))).text
    binding = await b.store.binding(key)
    assert binding is not None
    kit.pace(b.emu, 40.0)
    kit.script(b.emu, LONG, AFTER)
    seen: list[ReplyEvent] = []
    events = b.provider.reply(binding, user_post(1, thread=key))

    async def run() -> None:
        async for event in events:
            seen.append(event)

    task = asyncio.create_task(run())
    if kit.streams:
        await b.emu.wait_for(lambda: any(isinstance(e, TextDelta) for e in seen), 5.0)
    else:
        await b.emu.wait_for(lambda: kit.reply_calls(b.emu) == 2, 5.0)
    task.cancel()
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError), outcome
    await events.aclose()
    await b.provider.cancel(binding)
    assert not any(isinstance(e, ReplyDone) for e in seen)
    if kit.streams:
        await b.emu.wait_for(lambda: kit.stopped(b.emu), 5.0)
    kit.pace(b.emu, kit.full_speed)
    assert (await b.turn(user_post(2, thread=key))).text == AFTER


@on_bench
async def test_reset_then_next_post_starts_a_new_conversation(bench: Bench) -> None:
    b, kit = bench, bench.kit
    key = thread(kit)
    assert (await b.turn(user_post(0, thread=key))).text
    old = await b.store.binding(key)
    assert old is not None
    await b.reset(key)
    assert await b.store.binding(key) is None
    kit.script(b.emu, AFTER)
    turn = await b.turn(user_post(1, "fresh start", thread=key))
    assert turn.text == AFTER
    new = await b.store.binding(key)
    assert new is not None and new.id and new.id != old.id and new.provider == kit.name
    assert await kit.held(b.emu, b.provider, new) == 2


@on_bench
async def test_forget_removes_the_conversation_at_the_provider(bench: Bench) -> None:
    b, kit = bench, bench.kit
    if kit.no_delete:
        pytest.skip(f"not applicable: {kit.no_delete}")
    key = thread(kit)
    assert (await b.turn(user_post(0, thread=key))).text
    old = await b.store.binding(key)
    assert old is not None and old.id
    await b.reset(key)
    assert await b.store.binding(key) is None
    server_side = kit.conversations(b.emu)
    if server_side is None:
        assert await kit.held(b.emu, b.provider, old) == 0
    else:
        assert old.id not in server_side
