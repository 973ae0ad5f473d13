"""Unit tests of `bridge.lease` against real Redis (keys under the test's random prefix).

tests/test_dispatch_unit.py already covers one holder at a time, release freeing the lease, a
takeover noticed on renewal and the done counter's fence; these cover the rest. The sleeps here
let a TTL run out on purpose: time passing is what they test.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bridge.contracts import ThreadKey
from bridge.keys import Keys
from bridge.lease import Lease, LeaseLost
from bridge.store import Store
from tests.procs import redis_server, wait_until

THREAD = ThreadKey("discord", "G1", "C1", "42")


def lease_key(store: Store) -> str:
    return store.thread_key(THREAD, "lease")


async def test_acquiring_stores_the_token_with_the_ttl(store: Store) -> None:
    lease = Lease(store, THREAD, 5.0)
    assert await lease.try_acquire()
    try:
        assert await store.redis.get(lease_key(store)) == lease.token.encode()
        assert 4000 < await store.redis.pttl(lease_key(store)) <= 5000
        assert lease.valid
        lease.check()
    finally:
        await lease.release()
    assert await store.redis.exists(lease_key(store)) == 0


async def test_each_lease_has_its_own_token(store: Store) -> None:
    """The token is the fencing identity: a second lease object never passes for the first."""
    first, second = Lease(store, THREAD, 5.0), Lease(store, THREAD, 5.0)
    assert first.token != second.token
    assert not second.valid
    with pytest.raises(LeaseLost):
        second.check()


async def test_renewal_keeps_the_lease_past_its_ttl(store: Store) -> None:
    lease = Lease(store, THREAD, 0.9)
    assert await lease.try_acquire()
    try:
        await asyncio.sleep(2.0)
        lease.check()
        assert await store.redis.get(lease_key(store)) == lease.token.encode()
        assert await store.redis.pttl(lease_key(store)) > 0
    finally:
        await lease.release()


async def test_only_the_token_holder_renews_or_releases(store: Store) -> None:
    assert await store.acquire_lease(THREAD, "mine", 5.0)
    assert not await store.acquire_lease(THREAD, "theirs", 5.0)
    assert not await store.renew_lease(THREAD, "theirs", 60.0)
    assert await store.redis.pttl(lease_key(store)) <= 5000
    await store.release_lease(THREAD, "theirs")
    assert await store.redis.get(lease_key(store)) == b"mine"
    assert await store.renew_lease(THREAD, "mine", 60.0)
    assert await store.redis.pttl(lease_key(store)) > 5000
    await store.release_lease(THREAD, "mine")
    assert await store.acquire_lease(THREAD, "theirs", 5.0)


async def test_a_lapsed_lease_can_be_taken_and_is_not_renewed_back(store: Store) -> None:
    """A holder that paused past its TTL finds the lease gone at its next renewal."""
    assert await store.acquire_lease(THREAD, "paused", 0.2)
    await asyncio.sleep(0.3)
    assert await store.acquire_lease(THREAD, "next", 5.0)
    assert not await store.renew_lease(THREAD, "paused", 5.0)
    assert await store.redis.get(lease_key(store)) == b"next"


async def test_a_deleted_lease_is_lost_on_renewal(store: Store) -> None:
    lease = Lease(store, THREAD, 1.5)
    assert await lease.try_acquire()
    try:
        await store.redis.delete(lease_key(store))
        await wait_until(lambda: not lease.valid, 5, "the renewal noticing the lease is gone")
        with pytest.raises(LeaseLost, match="42"):
            lease.check()
        assert await store.redis.exists(lease_key(store)) == 0
    finally:
        await lease.release()


async def test_release_never_deletes_a_lease_taken_meanwhile(store: Store) -> None:
    """Taken over before the renewal noticed: the holder still thinks it is valid, and its
    release must leave the new holder's key alone (the delete compares tokens)."""
    lease = Lease(store, THREAD, 5.0)
    assert await lease.try_acquire()
    await store.redis.set(lease_key(store), "new-holder", px=5000)
    assert lease.valid
    await lease.release()
    assert not lease.valid
    assert await store.redis.get(lease_key(store)) == b"new-holder"


async def test_without_redis_the_fence_closes_before_the_key_expires(
    tmp_path: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Failed renewals neither end the lease at once nor extend it: it stays valid until 90% of
    the TTL after the last success, so the holder stops writing before anyone can take over."""
    ttl = 1.5
    async with redis_server(tmp_path) as server:
        client = Redis.from_url(server.url, retry=Retry(NoBackoff(), 0))
        try:
            lease = Lease(Store(client, Keys(prefix)), THREAD, ttl)
            began = time.monotonic()
            assert await lease.try_acquire()
            await server.stop(crash=True)
            with caplog.at_level(logging.WARNING, logger="bridge.lease"):
                await wait_until(lambda: not lease.valid, 2 * ttl, "the lease lapsing")
                lapsed = time.monotonic() - began
                with pytest.raises(LeaseLost):
                    lease.check()
                await lease.release()
        finally:
            await client.aclose()
    assert ttl * 0.9 <= lapsed < ttl
    assert caplog.text.count(f"lease renewal on {THREAD} failed") >= 2


async def test_prefixes_keep_deployments_apart(redis: Redis, prefix: str) -> None:
    """Two deployments sharing a Redis lease the same thread independently."""
    ours, theirs = Store(redis, Keys(prefix)), Store(redis, Keys(f"{prefix}other:"))
    first, second = Lease(ours, THREAD, 5.0), Lease(theirs, THREAD, 5.0)
    assert await first.try_acquire()
    try:
        assert await second.try_acquire()
        await second.release()
    finally:
        await first.release()
