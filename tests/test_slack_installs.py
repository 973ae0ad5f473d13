"""Slack OAuth installs: Enterprise Grid workspaces, malformed states, install-link floods and
key rotation that survives a record no key decrypts.

Real slack-bolt over HTTP, real Redis, the Slack emulator; `rotate-slack-keys` runs as the real
command in a child process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet, MultiFernet
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from slack_sdk.oauth.installation_store import Installation

from adapters.slack.installations import cipher
from adapters.slack.oauth_state import SignedStateStore, state_key, well_formed
from tests.test_slack_distribution import (
    INSTALLS,
    KEY,
    distributed_bridge,
    install,
    installs,
    keys,
    posted_tokens,
)

GRID = ("TG", "xoxb-team-g", "UBOTG", "BBOTG")


async def test_an_enterprise_grid_workspace_is_served_and_forgotten_on_uninstall(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with distributed_bridge(redis_url, prefix) as env:
        team, token, bot_user, bot_id = GRID
        env.slack.add_team(team, token, bot_user, bot_id, enterprise_id="EG")
        assert await install(env, team) == 200
        env.neuroflash.script("Hello from the org.")
        root = await env.slack.user_post("CG", f"<@{bot_user}> hello", team_id=team)
        await env.neuroflash.wait_for(
            lambda: env.reply_text(team, "CG", root) == "Hello from the org.", 20
        )
        assert posted_tokens(env, "CG") == {token}

        await env.slack.uninstall(team)
        assert await keys(redis, INSTALLS.format(prefix=prefix)) == []
        store = installs(redis, prefix, cipher(KEY))
        for enterprise in ("EG", None):
            assert await store.async_find_bot(enterprise_id=enterprise, team_id=team) is None


async def test_a_non_ascii_state_is_a_bad_request(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = "0123456789." + "é" * 32
    async with (
        distributed_bridge(redis_url, prefix, slack_state_secret="s3cret") as env,
        aiohttp.ClientSession() as http,
    ):
        caplog.set_level(logging.INFO)
        caplog.clear()
        answer = await http.get(
            f"{env.bridge_url}/slack/oauth_redirect",
            params={"code": "c0de", "state": state},
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        assert answer.status == 400
        assert "install" in (await answer.text()).lower()
    during = [r for r in caplog.records if "state" in r.getMessage().lower()]
    assert len(during) == 1, [r.getMessage() for r in during]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert env.slack.calls_to("/api/oauth.v2.access") == []


async def test_install_link_hits_write_nothing_and_install_still_works(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    async with distributed_bridge(redis_url, prefix) as env, aiohttp.ClientSession() as http:
        before = set(await keys(redis, f"{prefix}*"))
        for _ in range(200):
            hit = await http.get(f"{env.bridge_url}/slack/install", allow_redirects=False)
            assert hit.status == 302
        assert set(await keys(redis, f"{prefix}*")) == before
        assert await install(env, "TA") == 200
        assert await install(env, "TA", tamper=True) >= 400
        assert len(await keys(redis, INSTALLS.format(prefix=prefix))) == 1


# rotate-slack-keys ------------------------------------------------------------------------


async def rotate_command(
    redis_url: str, prefix: str, keys_setting: str, cwd: Path
) -> tuple[int, str]:
    """Run `threadbridge rotate-slack-keys` in a child process; (exit status, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "SLACK_", "REDIS_"))}
    env |= {"REDIS_URL": redis_url, "BRIDGE_REDIS_PREFIX": prefix}
    env["BRIDGE_ENCRYPTION_KEY"] = keys_setting
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge.cli",
        "rotate-slack-keys",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode()


def installation(team: str) -> Installation:
    return Installation(user_id="U1", team_id=team, bot_token=f"xoxb-{team}", bot_user_id="UB")


async def test_rotation_skips_and_names_a_record_no_key_decrypts(
    redis: Redis, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))
    for team in ("TR1", "TR2", "TR3"):
        await installs(redis, prefix, cipher(old)).async_save(installation(team))
    await installs(redis, prefix, cipher(lost)).async_save(installation("TLOST"))
    lost_raw = await redis.get(f"{prefix}plugin:slack:TLOST:installation")

    status, out = await rotate_command(redis_url, prefix, f"{new},{old}", tmp_path)

    assert status != 0, out
    assert "TLOST" in out and "Traceback" not in out, out
    assert "3" in out and "1 skipped" in out, out
    only_new = installs(redis, prefix, cipher(new))
    for team in ("TR1", "TR2", "TR3"):
        bot = await only_new.async_find_bot(enterprise_id=None, team_id=team)
        assert bot is not None and bot.bot_token == f"xoxb-{team}"
    assert await redis.get(f"{prefix}plugin:slack:TLOST:installation") == lost_raw


class _SavedMeanwhile(MultiFernet):
    """Re-encrypts like MultiFernet, but the first time a reinstall's record lands in Redis
    while the rotation holds the record it read (between its read and its write)."""

    def __init__(self, keys: list[Fernet], redis_url: str, key: str, fresh: bytes) -> None:
        super().__init__(keys)
        self._write = (redis_url, key, fresh)
        self.interleaved = False

    def rotate(self, msg: bytes | str) -> bytes:
        if not self.interleaved:
            self.interleaved = True
            url, key, fresh = self._write
            with SyncRedis.from_url(url) as other_replica:
                other_replica.set(key, fresh)
        return super().rotate(msg)


async def test_rotation_never_overwrites_a_record_saved_meanwhile(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    await installs(redis, prefix, cipher(old)).async_save(installation("TR1"))
    reinstalled = installation("TR1")
    reinstalled.bot_token = "xoxb-reinstalled"
    scratch = f"{prefix}scratch:"
    await installs(redis, scratch, cipher(new)).async_save(reinstalled)
    fresh = await redis.get(f"{scratch}plugin:slack:TR1:installation")
    assert fresh is not None
    both = [Fernet(new.encode()), Fernet(old.encode())]
    racing = _SavedMeanwhile(both, redis_url, f"{prefix}plugin:slack:TR1:installation", fresh)

    outcome = await installs(redis, prefix, racing).rotate()

    assert racing.interleaved and outcome.skipped == []
    only_new = installs(redis, prefix, cipher(new))
    bot = await only_new.async_find_bot(enterprise_id=None, team_id="TR1")
    assert bot is not None and bot.bot_token == "xoxb-reinstalled"


# the install state ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_state_verifies_itself_until_it_expires() -> None:
    clock = Clock()
    store = SignedStateStore(b"key", ttl=600, clock=clock)
    state = await store.async_issue()
    assert well_formed(state) and state.isascii()
    assert await store.async_consume(state)
    clock.now += 600
    assert await store.async_consume(state)
    clock.now += 1
    assert not await store.async_consume(state)


@pytest.mark.parametrize(
    "forge",
    [
        lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"),
        lambda s: str(int(s.split(".")[0]) + 3600) + s[s.index(".") :],
        lambda s: s.rpartition(".")[0] + "." + "é" * 64,
        lambda s: s + "\n",
        lambda s: "",
    ],
    ids=["mac", "expiry", "non-ascii", "trailing-newline", "empty"],
)
async def test_a_forged_state_is_refused(forge: Callable[[str], str]) -> None:
    store = SignedStateStore(b"key")
    assert not await store.async_consume(forge(await store.async_issue()))


async def test_a_state_from_another_key_is_refused() -> None:
    other = await SignedStateStore(state_key("", "another-client-secret")).async_issue()
    assert not await SignedStateStore(state_key("", "client-secret")).async_consume(other)
    assert state_key("", "client-secret") != b"client-secret"
    assert state_key("s3cret", "client-secret") == b"s3cret"
