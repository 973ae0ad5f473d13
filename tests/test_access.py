"""Only who may. Allow/deny lists, admin-only channel commands that accept only
configured providers, a per-user post rate, and foreign workspaces dropped.

A refused post gets one short reply and never reaches the provider: each test ends with a
barrier (an allowed post answered) and then checks the provider emulator's call log.
"""

from __future__ import annotations

from typing import Any

from bridge.access import AccessPolicy, Lists, id_set
from bridge.contracts import ThreadKey
from bridge.ingest import ADMIN_ONLY, REFUSED
from tests.harness import Env, discord_bridge, slack_bridge

CHANNEL = "C1"
MANAGE_CHANNELS = 1 << 4


def stream_texts(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


def texts(env: Env, root: str, channel: str = CHANNEL) -> list[str]:
    return [m.text for m in env.slack.bot_replies(channel, root)]


def reactions(env: Env, ts: str, channel: str = CHANNEL) -> set[str]:
    message = env.slack.workspace.find(channel, ts)
    assert message is not None
    return set(message.reactions)


def test_lists_allow_everyone_when_empty_and_deny_wins() -> None:
    thread = ThreadKey("slack", "T1", "C1", "1.0")
    assert AccessPolicy().allows(thread, "U1")
    policy = AccessPolicy(
        tenants=Lists(allow=id_set("T1, T2")),
        channels=Lists(deny=id_set("C9")),
        users=Lists(allow=id_set("U1,U2"), deny=id_set("U2")),
    )
    assert policy.allows(thread, "U1")
    assert not policy.allows(thread, "U2")
    assert not policy.allows(thread, "U3")
    assert not policy.allows(ThreadKey("slack", "T3", "C1", "1.0"), "U1")
    assert not policy.allows(ThreadKey("slack", "T1", "C9", "1.0"), "U1")


async def test_denied_user_and_channel_are_refused(redis_url: str, prefix: str) -> None:
    settings: dict[str, Any] = {"bridge_deny_users": "U2", "bridge_allow_channels": "C1"}
    async with slack_bridge(redis_url, prefix, **settings) as env:
        env.neuroflash.script("For U1.")
        denied = await env.slack.user_post(CHANNEL, "<@UBOT> secret from U2", user="U2")
        elsewhere = await env.slack.user_post("C2", "<@UBOT> secret in C2", user="U1")
        await env.wait(lambda: texts(env, denied) == [REFUSED])
        await env.wait(lambda: texts(env, elsewhere, "C2") == [REFUSED])
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hello from U1")
        await env.wait_reply(CHANNEL, root, "For U1.")
        assert stream_texts(env) == ["hello from U1"]
        assert len(env.neuroflash.conversations) == 1
        assert texts(env, denied) == [REFUSED]


async def test_denied_user_in_an_open_thread(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_deny_users="U2") as env:
        env.neuroflash.script("One.", "Two.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> one")
        await env.wait_reply(CHANNEL, root, "One.")
        await env.slack.user_post(CHANNEL, "let me in", user="U2", thread_ts=root)
        await env.wait(lambda: texts(env, root) == ["One.", REFUSED])
        await env.slack.user_post(CHANNEL, "two", thread_ts=root)
        await env.wait(lambda: texts(env, root) == ["One.", REFUSED, "Two."])
        assert stream_texts(env) == ["one", "two"]


async def test_tenant_allow_list(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_allow_tenants="T9") as env:
        ts = await env.slack.user_post(CHANNEL, "<@UBOT> not this workspace")
        await env.wait(lambda: texts(env, ts) == [REFUSED])
        assert stream_texts(env) == []


async def test_foreign_workspace_events_are_dropped(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script("Home team.")
        ts = env.slack.workspace.next_ts()
        event = {
            "type": "app_mention",
            "user": "U1",
            "text": "<@UBOT> from another org",
            "ts": ts,
            "channel": CHANNEL,
            "channel_type": "channel",
        }
        assert await env.slack.deliver(event, team_id="TOTHER") is True
        root = await env.slack.user_post(CHANNEL, "<@UBOT> home")
        await env.wait_reply(CHANNEL, root, "Home team.")
        assert stream_texts(env) == ["home"]
        assert texts(env, ts) == []


async def test_channel_commands_are_for_admins(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_admin_users="U7") as env:
        env.slack.admins.add("UADMIN")
        env.neuroflash.script("Hi.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hi")
        await env.wait_reply(CHANNEL, root, "Hi.")
        store = env.runtime.store
        assert store is not None
        scope = f"slack:T1:{CHANNEL}"

        async def command(text: str, user: str) -> tuple[set[str], list[str]]:
            before = len(texts(env, root))
            ts = await env.slack.user_post(CHANNEL, text, user=user, thread_ts=root)
            await env.wait(lambda: bool(reactions(env, ts)))
            if "x" in reactions(env, ts):
                await env.wait(lambda: len(texts(env, root)) > before)
            return reactions(env, ts), texts(env, root)[before:]

        assert await command("policy interrupt", "U1") == ({"x"}, [ADMIN_ONLY])
        assert await command("provider neuroflash", "U1") == ({"x"}, [ADMIN_ONLY])
        assert await store.channel_settings(scope) == {}
        assert (await command("policy merge", "UADMIN"))[0] == {"white_check_mark"}
        refused, said = await command("provider openai", "UADMIN")
        assert refused == {"x"} and "openai" in said[0] and "not configured" in said[0]
        assert (await command("provider neuroflash", "U7"))[0] == {"white_check_mark"}
        assert await store.channel_settings(scope) == {
            "busy_policy": "merge",
            "provider": "neuroflash",
        }
        assert len(env.slack.calls_to("users.info")) == 2  # U1 and UADMIN, each cached


async def test_per_user_rate(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_user_posts_per_minute=2) as env:
        env.neuroflash.script("A.", "B.", "Other user.")
        roots = []
        for n in range(4):
            roots.append(await env.slack.user_post(CHANNEL, f"<@UBOT> post {n}", wait=True))
        await env.wait(lambda: len(texts(env, roots[2])) == 1)
        assert "2 messages a minute" in texts(env, roots[2])[0]
        other = await env.slack.user_post(CHANNEL, "<@UBOT> from U2", user="U2")
        await env.wait_reply(CHANNEL, other, "Other user.")
        await env.wait(lambda: texts(env, roots[0]) + texts(env, roots[1]) == ["A.", "B."])
        assert sorted(stream_texts(env)) == ["from U2", "post 0", "post 1"]
        assert texts(env, roots[3]) == []


async def test_discord_admin_is_manage_channels(redis_url: str, prefix: str) -> None:
    async with discord_bridge(redis_url, prefix) as env:
        emu = env.discord
        env.neuroflash.script("Hi.")
        post = await emu.user_message(emu.channel.id, "hi", mentions_bot=True)
        await env.wait(lambda: env.discord_text(post.id) == "Hi.")
        store = env.runtime.store
        assert store is not None
        scope = f"discord:{emu.guild.id}:{emu.channel.id}"
        refused = await emu.user_message(post.id, "policy interrupt")
        await env.wait(lambda: "❌" in emu.message(refused.id).reactions)
        await env.wait(lambda: ADMIN_ONLY in env.discord_text(post.id))
        assert await store.channel_settings(scope) == {}
        emu.grant_role(emu.user, MANAGE_CHANNELS)
        allowed = await emu.user_message(post.id, "policy merge")
        await env.wait(lambda: "✅" in emu.message(allowed.id).reactions)
        assert await store.channel_settings(scope) == {"busy_policy": "merge"}
        owner = await emu.user_message(post.id, "policy queue", author=emu.owner)
        await env.wait(lambda: "✅" in emu.message(owner.id).reactions)
        assert await store.channel_settings(scope) == {"busy_policy": "queue"}


def test_provider_command_never_echoes_markup() -> None:
    from bridge.commands import parse_command
    from bridge.contracts import Command

    assert parse_command("provider neuroflash-prototype") == Command(
        "provider", "neuroflash-prototype"
    )
    assert parse_command("provider <!channel>") is None
    assert parse_command("provider <@U123>") is None
