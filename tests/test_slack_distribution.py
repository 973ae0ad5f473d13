"""One deployment serves many Slack workspaces installed through OAuth v2.

Real slack-bolt (OAuth flow, authorize, signed HTTP events), real Redis; Slack and neuroflash
are the emulators. The "browser" is an aiohttp client that carries the state cookie by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis.asyncio import Redis

from adapters.slack.installations import RedisInstallationStore, cipher
from bridge.keys import Keys
from bridge.plugin_state import RedisPluginState
from bridge.runtime import Runtime
from emulators.neuroflash import NeuroflashEmulator
from emulators.slack import SlackEmulator
from emulators.slack.args import call_args, call_token
from tests.harness import bridge_runtime

KEY = Fernet.generate_key().decode()
TEAMS = {"TA": ("xoxb-team-a", "UBOTA", "BBOTA"), "TB": ("xoxb-team-b", "UBOTB", "BBOTB")}


@dataclass
class Env:
    slack: SlackEmulator
    neuroflash: NeuroflashEmulator
    runtime: Runtime

    @property
    def bridge_url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.http_port}"

    def reply_text(self, team: str, channel: str, root: str) -> str:
        return "".join(m.text for m in self.slack.bot_replies(channel, root, team_id=team))


@asynccontextmanager
async def distributed_bridge(
    redis_url: str, prefix: str, *, socket_mode: bool = False, **overrides: Any
) -> AsyncIterator[Env]:
    async with AsyncExitStack() as stack:
        neuroflash = NeuroflashEmulator(
            client_id="cid", client_secret="csecret", workspace_id="ws-1", tokens_per_second=400
        )
        await neuroflash.start()
        stack.push_async_callback(neuroflash.stop)
        slack = SlackEmulator()
        for team, (token, user, bot) in TEAMS.items():
            slack.add_team(team, token, user, bot)
        await slack.start()
        stack.push_async_callback(slack.stop)
        runtime = bridge_runtime(
            redis_url,
            prefix,
            neuroflash_api_url=f"{neuroflash.url}/api",
            neuroflash_token_url=f"{neuroflash.url}/oauth/v2/token",
            slack_client_id=slack.client_id,
            slack_client_secret=slack.client_secret,
            slack_signing_secret=slack.signing_secret,
            slack_api_url=slack.api_url,
            slack_oauth_authorize_url=slack.authorize_url,
            slack_app_token=slack.app_token if socket_mode else None,
            bridge_encryption_key=KEY,
            **overrides,
        )
        stack.push_async_callback(runtime.stop, 3.0)
        await runtime.start()
        base = f"http://127.0.0.1:{runtime.http_port}"
        if not socket_mode:
            slack.http_events_url = f"{base}/slack/events"
        slack.oauth_redirect_url = f"{base}/slack/oauth_redirect"
        yield Env(slack, neuroflash, runtime)


async def install(env: Env, team: str, *, tamper: bool = False) -> int:
    """Play the browser: install link → Slack's consent (approved) → the bridge's redirect."""
    async with aiohttp.ClientSession() as http:
        start = await http.get(f"{env.bridge_url}/slack/install", allow_redirects=False)
        assert start.status == 302
        cookie = start.headers["Set-Cookie"].split(";")[0]
        consent = await http.get(f"{start.headers['Location']}&team={team}", allow_redirects=False)
        assert consent.status == 302
        back = consent.headers["Location"]
        if tamper:
            back = back.replace("state=", "state=x")
        done = await http.get(back, allow_redirects=False, headers={"Cookie": cookie})
        return done.status


def posted_tokens(env: Env, channel: str) -> set[str | None]:
    """The tokens the bridge used for chat.* calls in `channel`."""
    calls = env.slack.calls_to("/api/chat.")
    return {call_token(c, call_args(c)) for c in calls if call_args(c).get("channel") == channel}


INSTALLS = "{prefix}plugin:slack:*:installation"
"""Where the Slack adapter's installations are (its plugin state's value `installation`)."""


def installs(redis: Redis, prefix: str, fernet: MultiFernet) -> RedisInstallationStore:
    """The Slack adapter's installation store on the plugin state a bridge with `prefix` has."""
    return RedisInstallationStore(RedisPluginState(redis, Keys(prefix), "slack"), fernet)


async def keys(redis: Redis, pattern: str) -> list[bytes]:
    return [k async for k in redis.scan_iter(match=pattern, count=500)]


async def converse(env: Env, team: str, channel: str, reply: str) -> str:
    env.neuroflash.script(reply)
    bot_user = TEAMS[team][1]
    root = await env.slack.user_post(channel, f"<@{bot_user}> hello", team_id=team)
    await env.neuroflash.wait_for(lambda: env.reply_text(team, channel, root) == reply, 20)
    return root


@pytest.mark.parametrize("socket_mode", [False, True], ids=["http", "socket"])
async def test_two_workspaces_install_answer_and_uninstall(
    redis_url: str, prefix: str, redis: Redis, socket_mode: bool
) -> None:
    async with distributed_bridge(redis_url, prefix, socket_mode=socket_mode) as env:
        assert await install(env, "TA") == 200
        assert await install(env, "TB") == 200
        await converse(env, "TA", "CA", "Hello A.")
        await converse(env, "TB", "CB", "Hello B.")
        assert posted_tokens(env, "CA") == {"xoxb-team-a"}
        assert posted_tokens(env, "CB") == {"xoxb-team-b"}
        assert await keys(redis, f"{prefix}*slack:TA:*")

        await env.slack.uninstall("TA")
        assert await keys(redis, f"{prefix}plugin:slack:TA:installation") == []
        assert await keys(redis, f"{prefix}*slack:TA*") == []

        await converse(env, "TB", "CB", "Still here.")
        assert await keys(redis, f"{prefix}plugin:slack:TB:installation")


async def test_tokens_at_rest_need_the_key(redis_url: str, prefix: str, redis: Redis) -> None:
    async with distributed_bridge(redis_url, prefix) as env:
        assert await install(env, "TB") == 200
        (key,) = await keys(redis, INSTALLS.format(prefix=prefix))
        raw = await redis.get(key)
        assert raw is not None and b"xoxb-team-b" not in raw
        with pytest.raises(InvalidToken):
            Fernet(Fernet.generate_key()).decrypt(raw)
        assert b"xoxb-team-b" in Fernet(KEY.encode()).decrypt(raw)

        user_only = {"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"]}}
        assert await env.slack.deliver(user_only, team_id="TB") == 200
        assert await redis.get(key) == raw


async def test_install_with_a_forged_state_is_refused(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with distributed_bridge(redis_url, prefix) as env:
        assert await install(env, "TA", tamper=True) >= 400
        assert await keys(redis, INSTALLS.format(prefix=prefix)) == []
        assert env.slack.calls_to("/api/oauth.v2.access") == []


async def test_key_rotation_re_encrypts_with_the_new_key(redis: Redis, prefix: str) -> None:
    from slack_sdk.oauth.installation_store import Installation

    old, new = KEY, Fernet.generate_key().decode()
    await installs(redis, prefix, cipher(old)).async_save(
        Installation(user_id="U1", team_id="TR", bot_token="xoxb-rotate", bot_user_id="UB")
    )
    both = installs(redis, prefix, cipher(f"{new},{old}"))
    assert (await both.rotate()).rotated == 1
    only_new = installs(redis, prefix, cipher(new))
    bot = await only_new.async_find_bot(enterprise_id=None, team_id="TR")
    assert bot is not None and bot.bot_token == "xoxb-rotate"
    only_old = installs(redis, prefix, cipher(old))
    assert await only_old.async_find_bot(enterprise_id=None, team_id="TR") is None


def test_distribution_needs_the_encryption_key() -> None:
    from adapters.slack import SlackAdapter
    from adapters.slack.settings import SlackSettings
    from bridge.contracts import ConfigError, load_settings

    base = {
        "_env_file": None,
        "client_id": "cid",
        "client_secret": "secret",
        "signing_secret": "s",
    }
    with pytest.raises(ConfigError, match=r"^BRIDGE_ENCRYPTION_KEY is not set"):
        SlackAdapter(load_settings(SlackSettings, **base))
    with pytest.raises(ConfigError, match=r"^BRIDGE_ENCRYPTION_KEY is invalid"):
        SlackAdapter(load_settings(SlackSettings, **base, BRIDGE_ENCRYPTION_KEY="not-a-key"))
    with pytest.raises(ConfigError, match=r"^SLACK_CLIENT_SECRET is not set"):
        SlackAdapter(load_settings(SlackSettings, **(base | {"client_secret": None})))
