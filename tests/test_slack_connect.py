"""Slack Connect guests: a person of another workspace posting in a channel shared with ours.

Slack marks their events with `user_team` (the author's own workspace). The tenant allow/deny
lists judge that workspace as well as ours, so a denied or unlisted organisation cannot reach
the bridge through a shared channel. Real slack-bolt and Redis; Slack and neuroflash emulated.
"""

from __future__ import annotations

from bridge.access import AccessPolicy, Lists, id_set
from bridge.contracts import ThreadKey
from bridge.ingest import REFUSED
from tests.harness import Env, slack_bridge

CHANNEL = "C1"
GUEST_TEAM = "TGUEST"


def stream_texts(env: Env) -> list[str]:
    return [c.body["text"] for c in env.neuroflash.calls_to("message-streams", "POST")]


def texts(env: Env, root: str) -> list[str]:
    return [m.text for m in env.slack.bot_replies(CHANNEL, root)]


def test_the_author_team_is_judged_by_the_tenant_lists() -> None:
    thread = ThreadKey("slack", "T1", CHANNEL, "1.0")
    denied = AccessPolicy(tenants=Lists(deny=id_set(GUEST_TEAM)))
    assert denied.allows(thread, "U1")
    assert not denied.allows(thread, "U1", GUEST_TEAM)
    allowed = AccessPolicy(tenants=Lists(allow=id_set("T1")))
    assert not allowed.allows(thread, "U1", GUEST_TEAM)
    assert AccessPolicy(tenants=Lists(allow=id_set(f"T1,{GUEST_TEAM}"))).allows(
        thread, "U1", GUEST_TEAM
    )
    assert AccessPolicy().allows(thread, "U1", GUEST_TEAM)


async def refused_guest(env: Env) -> None:
    """A guest of `GUEST_TEAM` mentions the bot and is refused; a home member is answered."""
    env.neuroflash.script("For the home team.")
    guest = await env.slack.user_post(
        CHANNEL, "<@UBOT> let me in", user="UGUEST", user_team=GUEST_TEAM
    )
    await env.wait(lambda: texts(env, guest) == [REFUSED])
    home = await env.slack.user_post(CHANNEL, "<@UBOT> hello from home")
    await env.wait_reply(CHANNEL, home, "For the home team.")
    assert stream_texts(env) == ["hello from home"]
    assert len(env.neuroflash.conversations) == 1


async def test_a_guest_of_a_denied_workspace_is_refused(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix, bridge_deny_tenants=GUEST_TEAM) as env:
        await refused_guest(env)


async def test_a_guest_of_a_workspace_off_the_allow_list_is_refused(
    redis_url: str, prefix: str
) -> None:
    async with slack_bridge(redis_url, prefix, bridge_allow_tenants="T1") as env:
        await refused_guest(env)


async def test_a_guest_in_an_open_thread_is_refused(redis_url: str, prefix: str) -> None:
    """The thread was opened by a home member; the guest's later reply in it is refused too."""
    async with slack_bridge(redis_url, prefix, bridge_allow_tenants="T1") as env:
        env.neuroflash.script("One.", "Two.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> one")
        await env.wait_reply(CHANNEL, root, "One.")
        await env.slack.user_post(
            CHANNEL, "me too", user="UGUEST", thread_ts=root, user_team=GUEST_TEAM
        )
        await env.wait(lambda: texts(env, root) == ["One.", REFUSED])
        await env.slack.user_post(CHANNEL, "two", thread_ts=root)
        await env.wait(lambda: texts(env, root) == ["One.", REFUSED, "Two."])
        assert stream_texts(env) == ["one", "two"]


async def test_a_guest_of_an_allowed_workspace_is_answered(redis_url: str, prefix: str) -> None:
    """Positive control: with the guest's workspace on the allow list the guest is answered."""
    async with slack_bridge(redis_url, prefix, bridge_allow_tenants=f"T1,{GUEST_TEAM}") as env:
        env.neuroflash.script("Welcome.")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> hi", user="UGUEST", user_team=GUEST_TEAM)
        await env.wait_reply(CHANNEL, root, "Welcome.")
        assert stream_texts(env) == ["hi"]
