"""The Mattermost emulator speaks the documented protocol, and the adapter's pure parts
(mentions, the thread policy, start-up refusals) behave as documented."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from adapters.mattermost import MattermostAdapter
from adapters.mattermost.api import MattermostAPI, ServerLimits
from adapters.mattermost.format import MAX_POST_SIZE, WORD_JOINER, defuse_mentions, strip_mention
from adapters.mattermost.ingest import Bot, Where, read_post
from adapters.mattermost.settings import MattermostSettings
from adapters.mattermost.surface import MattermostSurface
from bridge.config import load_settings
from bridge.contracts import ConfigError, ThreadKey, UserPost
from bridge.contracts import load_settings as plugin_settings
from bridge.metrics import Metrics
from bridge.plugins import adapter_plugins
from emulators.mattermost import MattermostEmulator
from emulators.mattermost.ratelimit import GCRA
from tests.mattermost_env import environment

BOT = Bot("b" * 26, "threadbot")


def post(message: str, **fields: object) -> dict[str, object]:
    return {"id": "p" * 26, "channel_id": "c" * 26, "user_id": "u" * 26, "message": message}


def test_gcra_headers_follow_the_server() -> None:
    limiter = GCRA(per_second=10.0, max_burst=2)
    first = limiter.check("t", now=0.0)
    assert first is not None and not first.limited
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert first.headers["X-RateLimit-Remaining"] == "2"
    for _ in range(2):
        limiter.check("t", now=0.0)
    refused = limiter.check("t", now=0.0)
    assert refused is not None and refused.limited and refused.headers["Retry-After"] == "1"
    later = limiter.check("t", now=0.1)
    assert later is not None and not later.limited


async def test_rest_and_websocket_authenticate_as_documented() -> None:
    async with MattermostEmulator() as emu:
        assert isinstance(emu, MattermostEmulator)
        async with aiohttp.ClientSession() as http:
            bad = await http.get(f"{emu.url}/api/v4/users/me", headers={"Authorization": "x"})
            assert bad.status == 401 and (await bad.json())["status_code"] == 401
            ws = await http.ws_connect(f"{emu.url}/api/v4/websocket")
            challenge = {"seq": 1, "action": "authentication_challenge"}
            await ws.send_json({**challenge, "data": {"token": emu.token}})
            assert (await ws.receive_json()) == {"status": "OK", "seq_reply": 1}
            hello = await ws.receive_json()
            assert hello["event"] == "hello" and hello["seq"] == 0
            sent = await emu.mention(emu.channel.id, "hi")
            event = await ws.receive_json()
            assert event["event"] == "posted" and event["seq"] == 1
            assert json.loads(event["data"]["post"])["id"] == sent.id
            assert json.loads(event["data"]["mentions"]) == [emu.bot.id]
            assert event["data"]["channel_type"] == "O"
            await ws.close()


async def test_limiter_answers_429_with_plain_text() -> None:
    async with MattermostEmulator() as emu:
        assert isinstance(emu, MattermostEmulator)
        emu.limit(1.0, burst=1)
        headers = {"Authorization": f"Bearer {emu.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            statuses = [(await http.get(f"{emu.url}/api/v4/users/me")).status for _ in range(3)]
            limited = await http.get(f"{emu.url}/api/v4/users/me")
            assert statuses[:2] == [200, 200] and limited.status == 429
            assert await limited.text() == "limit exceeded" and "Retry-After" in limited.headers


async def test_replies_created_in_the_same_millisecond_get_a_post_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server answers a `pending_post_id` it saw in the last 30 s with that post, in
    whatever thread: two replies' first posts made in one millisecond (two replicas, or two
    threads on one) must not share one, or the second reply writes over the first's."""
    async with MattermostEmulator() as emu:
        assert isinstance(emu, MattermostEmulator)
        roots = [await emu.mention(emu.channel.id, f"question {i}") for i in range(2)]
        async with aiohttp.ClientSession() as session:
            limits = ServerLimits.of(emu.url, emu.token, 10.0, 100)
            api = MattermostAPI(session, emu.url, emu.token, limits)
            monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
            for i, root in enumerate(roots):
                key = ThreadKey("mattermost", emu.team_id, emu.channel.id, root.id)
                asked = UserPost(key, root.id, emu.user.id, root.message, 0.0)
                surface = MattermostSurface(api, asked, [], MAX_POST_SIZE, emu.bot.id)
                (route,) = surface.routes(0, "", final=False)
                await surface.write(0, f"answer {i}", final=False, route=route)
            monkeypatch.undo()
        assert [emu.thread_text(root.id) for root in roots] == ["answer 0", "answer 1"]


async def test_a_repeated_creation_returns_the_first_post() -> None:
    """A retry after a lost answer carries the same `pending_post_id` and gets the same post."""
    async with MattermostEmulator() as emu:
        assert isinstance(emu, MattermostEmulator)
        root = await emu.mention(emu.channel.id, "question")
        headers = {"Authorization": f"Bearer {emu.token}"}
        body = {"channel_id": emu.channel.id, "root_id": root.id, "pending_post_id": "k"}
        async with aiohttp.ClientSession(headers=headers) as http:
            url = f"{emu.url}/api/v4/posts"
            first = await (await http.post(url, json={**body, "message": "one"})).json()
            again = await (await http.post(url, json={**body, "message": "two"})).json()
        assert again["id"] == first["id"] and emu.thread_text(root.id) == "one"


def test_mentions_are_defused_outside_code_only() -> None:
    j = WORD_JOINER
    text = "@here `@all` (@bob) mail x@y.z\n\n    @channel\n"
    assert defuse_mentions(text) == f"@{j}here `@all` (@{j}bob) mail x@y.z\n\n    @channel\n"
    assert strip_mention("@ThreadBot: what is up", "threadbot") == ": what is up"
    assert strip_mention("@threadbot-two hi", "threadbot") == "@threadbot-two hi"


def test_thread_policy() -> None:
    channel = Where("O", "t" * 26)
    mention = read_post(post("@threadbot hello"), channel, BOT, [])
    assert mention is not None and mention.starts_thread and mention.post.text == "hello"
    assert mention.post.thread.thread == "p" * 26
    assert read_post(post("no mention"), channel, BOT, []) is None, "a root post in no thread"
    reply = read_post({**post("more"), "root_id": "r" * 26}, channel, BOT, [])
    assert reply is not None and reply.post.thread.thread == "r" * 26
    assert not reply.starts_thread and not reply.addressed
    dm = read_post(post("hi"), Where("D", ""), BOT, [BOT.id])
    assert dm is not None and dm.starts_thread and dm.post.thread.tenant == "@direct"
    assert (
        read_post({**post("@threadbot x"), "type": "system_join_channel"}, channel, BOT, []) is None
    )
    bot_post = {**post("@threadbot x"), "props": {"from_bot": "true"}}
    assert read_post(bot_post, channel, BOT, []) is None
    assert read_post({**post("x"), "user_id": BOT.id}, channel, BOT, []) is None


async def test_refused_token_is_one_line_naming_it(redis_url: str, prefix: str) -> None:
    async with MattermostEmulator() as emu:
        assert isinstance(emu, MattermostEmulator)
        settings = plugin_settings(MattermostSettings, url=emu.url, token="wrong", _env_file=None)
        adapter = MattermostAdapter(settings)

        class NoCore:
            meter = Metrics()
            budget = None

        with pytest.raises(ConfigError, match=r"^MATTERMOST_TOKEN was refused"):
            await adapter.start(NoCore())  # type: ignore[arg-type]


def test_bad_settings_name_the_variable() -> None:
    url = {"MATTERMOST_URL": "mm.example", "MATTERMOST_TOKEN": "t"}
    rate = {"MATTERMOST_URL": "https://mm", "MATTERMOST_REQUESTS_PER_SECOND": "0"}
    for values, variable in ((url, "MATTERMOST_URL"), (rate, "MATTERMOST_REQUESTS_PER_SECOND")):
        with environment(values), pytest.raises(ConfigError, match=rf"^{variable} is invalid"):
            adapter_plugins([])
    with environment({"MATTERMOST_TOKEN": "t"}), pytest.raises(ConfigError, match="URL is not"):
        MattermostAdapter(plugin_settings(MattermostSettings, _env_file=None))


async def test_doctor_checks_url_token_permissions_and_socket() -> None:
    from bridge.doctor import diagnose
    from bridge.doctor.report import OK, Report

    async with MattermostEmulator() as emu:
        assert isinstance(emu, MattermostEmulator)
        with environment({"MATTERMOST_URL": emu.url, "MATTERMOST_TOKEN": emu.token}):
            report = Report()
            await diagnose(load_settings(_env_file=None, bridge_provider=None), report)
        rows = {r.part: r for r in report.rows if r.part.startswith("mattermost")}
        assert [rows[p].status for p in sorted(rows)] == [OK] * 4, report.table()
        assert "messengers: mattermost" in report.table()
        with environment({"MATTERMOST_URL": emu.url, "MATTERMOST_TOKEN": "nope"}):
            report = Report()
            await diagnose(load_settings(_env_file=None, bridge_provider=None), report)
        (row,) = [r for r in report.rows if r.part == "mattermost token"]
        assert row.status == "FAIL" and "MATTERMOST_TOKEN" in row.fix
