"""Providers keep per-thread values through `ThreadState`, one hash per thread whose
retention is the core's (thread TTL, refreshed by posts, dropped by /fresh and forget), and
never reach Redis themselves."""

from __future__ import annotations

import ast
from pathlib import Path

from bridge import keys
from bridge.contracts import Conversation, ThreadKey, ThreadState
from bridge.store import Store

THREAD = ThreadKey("slack", "T1", "C1", "1700000000.000100")
OTHER = ThreadKey("slack", "T1", "C1", "1700000000.000200")
PROVIDERS = Path(__file__).resolve().parent.parent / "providers"


async def test_values_live_in_one_hash_per_thread(store: Store) -> None:
    state: ThreadState = store.thread_state
    await state.set(THREAD, "openai:history", "[]")
    await state.set(THREAD, "senseflow:user", "U1 ✓")
    assert await state.get(THREAD, "senseflow:user") == "U1 ✓"
    assert await state.get(OTHER, "senseflow:user") is None
    key = store.thread_key(THREAD, keys.STATE)
    assert set(await store.redis.hkeys(key)) == {b"openai:history", b"senseflow:user"}
    await state.delete(THREAD, "openai:history")
    assert await state.get(THREAD, "openai:history") is None
    assert await state.get(THREAD, "senseflow:user") == "U1 ✓"


async def test_writes_and_posts_keep_it_a_thread_ttl(store: Store) -> None:
    key = store.thread_key(THREAD, keys.STATE)
    await store.thread_state.set(THREAD, "openai:history", "[]")
    assert store.thread_ttl - 5 < await store.redis.ttl(key) <= store.thread_ttl
    await store.redis.expire(key, 100)
    await store.touch_thread(THREAD)
    assert await store.redis.ttl(key) > store.thread_ttl - 5


async def test_fresh_and_forget_drop_it_unbind_leaves_it_to_the_provider(store: Store) -> None:
    state = store.thread_state
    await store.bind(Conversation("openai", "c1", THREAD, {}))
    await state.set(THREAD, "openai:history", "[]")
    await store.unbind(THREAD)
    assert await state.get(THREAD, "openai:history") == "[]"
    await store.start_over(THREAD)
    assert await state.get(THREAD, "openai:history") is None
    await state.set(THREAD, "senseflow:user", "U1")
    await store.forget_thread(THREAD)
    assert not await store.redis.exists(store.thread_key(THREAD, keys.STATE))


def test_providers_never_reach_redis() -> None:
    forbidden = ("redis", "bridge.store", "bridge.keys")
    found = []
    for path in PROVIDERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            else:
                continue
            found += [(path.name, n) for n in names if n.split(".")[0] == "redis" or n in forbidden]
    assert found == []
