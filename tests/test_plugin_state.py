"""A plugin's per-tenant values (`bridge.contracts.PluginState`) on a real Redis: what each call
does, tenants read back exactly whatever their ids hold, and forgetting a tenant deletes its
values and no other tenant's, platform's or deployment's."""

from __future__ import annotations

from redis.asyncio import Redis

from bridge.keys import Keys
from bridge.plugin_state import RedisPluginState
from bridge.store import Store


def state(store: Store, platform: str = "slack") -> RedisPluginState:
    return RedisPluginState(store.redis, store.keys, platform)


async def test_values_are_kept_per_tenant_and_name(store: Store) -> None:
    slack = state(store)
    await slack.set("T1", "installation", "one")
    await slack.set("T2", "installation", "two")
    assert await slack.get("T1", "installation") == "one"
    assert await slack.get("T2", "installation") == "two"
    assert await slack.get("T1", "other") is None
    assert await state(store, "discord").get("T1", "installation") is None
    assert await store.redis.get(f"{store.keys.prefix}plugin:slack:T1:installation") == b"one"
    await slack.delete("T1", "installation", "other")
    assert await slack.get("T1", "installation") is None
    assert await slack.get("T2", "installation") == "two"


async def test_a_ttl_bounds_a_value_and_getset_hands_back_the_old_one(store: Store) -> None:
    discord = state(store, "discord")
    assert await discord.getset("77", "commands", "h1", ttl=600) is None
    assert await discord.getset("77", "commands", "h2", ttl=600) == "h1"
    ttl = await store.redis.ttl(store.keys.plugin("discord", "77", "commands"))
    assert 590 < ttl <= 600
    await discord.set("77", "kept", "v")
    assert await store.redis.ttl(store.keys.plugin("discord", "77", "kept")) == -1


async def test_replace_writes_only_over_the_value_it_read(store: Store) -> None:
    slack = state(store)
    await slack.set("T1", "installation", "old", ttl=600)
    assert not await slack.replace("T1", "installation", "stale", "new")
    assert await slack.replace("T1", "installation", "old", "new")
    assert await slack.get("T1", "installation") == "new"
    assert await store.redis.ttl(store.keys.plugin("slack", "T1", "installation")) > 590
    assert not await slack.replace("T9", "installation", "old", "new")
    assert await slack.get("T9", "installation") is None


async def test_tenants_reads_back_every_tenant_exactly_and_only_this_deployments(
    redis: Redis, prefix: str
) -> None:
    outer, inner = Store(redis, Keys(f"{prefix}tb:")), Store(redis, Keys(f"{prefix}tb:staging:"))
    odd = ["T1", "E:1", "{T2}", "50%*", "T*?[x]"]
    for tenant in odd:
        await state(outer).set(tenant, "installation", tenant)
    await state(outer).set("T3", "other", "x")
    await state(outer, "discord").set("G1", "installation", "x")
    await state(inner).set("T4", "installation", "x")
    found = [t async for t in state(outer).tenants("installation")]
    assert sorted(found) == sorted(odd)
    for tenant in found:
        assert await state(outer).get(tenant, "installation") == tenant


async def test_forgetting_a_tenant_deletes_its_values_and_nobody_elses(
    redis: Redis, prefix: str
) -> None:
    outer, inner = Store(redis, Keys(f"{prefix}tb:")), Store(redis, Keys(f"{prefix}tb:staging:"))
    for store in (outer, inner):
        await state(store).set("T1", "installation", "x")
        await state(store).set("T1", "commands", "x", ttl=600)
        await state(store).set("T10", "installation", "x")
        await state(store, "discord").set("T1", "installation", "x")
    await outer.forget_tenant("slack", "T1")
    assert await state(outer).get("T1", "installation") is None
    assert await state(outer).get("T1", "commands") is None
    assert await state(outer).get("T10", "installation") == "x"
    assert await state(outer, "discord").get("T1", "installation") == "x"
    assert await state(inner).get("T1", "installation") == "x"
