"""The workspace's bot token goes only to Slack's own file hosts.

A file object names its `url_private`, and Slack documents that a remote file's `url_private`
is the external URL another app gave it (`files.remote.add`); a message can also carry any
file object a forged or relayed event makes up. The token is sent only to files.slack.com or
the configured Slack API host, over https (http only when the configured API URL is itself
http, as the emulator on loopback is), never for external files, never across a redirect.
A foreign file host on another loopback address records every request it gets.
Real slack-bolt / slack_sdk / aiohttp, real Redis.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp import web

from adapters.slack.files import FileHosts
from emulators.base import Emulator
from tests.test_attachments import CHANNEL, PNG, last_user_content, with_openai

OTHER_PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


class ForeignHost(Emulator):
    """A web server that is not Slack: it answers every GET with an image and records it."""

    name = "foreign"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(body=PNG, content_type="image/png")


@pytest.fixture
async def foreign() -> Any:
    host = ForeignHost(host="127.0.0.2")
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


def image_parts(content: Any) -> list[str]:
    return [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


async def test_a_foreign_file_host_gets_no_request(
    redis_url: str, prefix: str, foreign: ForeignHost
) -> None:
    """A file whose `url_private` names another host is not fetched at all (so no token goes
    there); the real Slack image on the same post is still inlined."""
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("One picture.")
        real = env.slack.add_file("real.png", "image/png", PNG)
        planted = {**env.slack.add_file("planted.png", "image/png", PNG)}
        planted["url_private"] = f"{foreign.url}/planted.png"
        root = await env.slack.user_post(CHANNEL, "<@UBOT> look", files=[real, planted])
        await env.wait_reply(CHANNEL, root, "One picture.")
        assert foreign.calls == []
        assert image_parts(last_user_content(openai)) == [data_url(PNG)]


async def test_same_named_files_keep_their_own_images(redis_url: str, prefix: str) -> None:
    """Two files named alike are two files: each is inlined with its own content."""
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("Two pictures.")
        first = env.slack.add_file("chart.png", "image/png", PNG)
        second = env.slack.add_file("chart.png", "image/png", OTHER_PNG)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> compare", files=[first, second])
        await env.wait_reply(CHANNEL, root, "Two pictures.")
        assert image_parts(last_user_content(openai)) == [data_url(PNG), data_url(OTHER_PNG)]


async def test_a_remote_file_is_not_fetched(
    redis_url: str, prefix: str, foreign: ForeignHost
) -> None:
    """A remote file's `url_private` is the external URL: it gets no request, no token."""
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("A link.")
        remote = env.slack.add_remote_file("remote.png", "image/png", f"{foreign.url}/r.png")
        root = await env.slack.user_post(CHANNEL, "<@UBOT> see", files=[remote])
        await env.wait_reply(CHANNEL, root, "A link.")
        assert foreign.calls == []
        content = last_user_content(openai)
        assert isinstance(content, str) and f"[remote.png]({remote['permalink']})" in content


@pytest.mark.parametrize("marker", [{"is_external": True}, {"mode": "external"}])
async def test_an_external_file_on_a_slack_host_is_not_fetched(
    redis_url: str, prefix: str, marker: dict[str, Any]
) -> None:
    """Either sign of an external file is enough, wherever its URL points."""
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("Seen.")
        external = {**env.slack.add_file("ext.png", "image/png", PNG), **marker}
        root = await env.slack.user_post(CHANNEL, "<@UBOT> see", files=[external])
        await env.wait_reply(CHANNEL, root, "Seen.")
        assert env.slack.calls_to("/files-pri/") == []
        assert isinstance(last_user_content(openai), str)


async def test_a_redirect_to_a_foreign_host_is_not_followed(
    redis_url: str, prefix: str, foreign: ForeignHost
) -> None:
    """Slack's file host answers with a redirect elsewhere: the token went to Slack only, the
    other host gets no request, and the image stays its named link."""
    async with with_openai(redis_url, prefix) as (env, openai):
        openai.script("A link again.")
        image = env.slack.add_file("chart.png", "image/png", PNG)
        env.slack.file_redirects[image["id"]] = f"{foreign.url}/stolen.png"
        root = await env.slack.user_post(CHANNEL, "<@UBOT> look", files=[image])
        await env.wait_reply(CHANNEL, root, "A link again.")
        fetched = env.slack.calls_to("/files-pri/")
        assert {c.headers["Authorization"] for c in fetched} == {"Bearer xoxb-test"}
        assert foreign.calls == []
        content = last_user_content(openai)
        assert isinstance(content, str) and f"[chart.png]({image['permalink']})" in content


PRODUCTION = FileHosts.for_api("https://slack.com/api/")
EMULATED = FileHosts.for_api("http://127.0.0.1:4100/api/")


@pytest.mark.parametrize(
    ("hosts", "url", "allowed"),
    [
        (PRODUCTION, "https://files.slack.com/files-pri/T1-F1/a.png", True),
        (PRODUCTION, "https://slack.com/files-pri/T1-F1/a.png", True),
        (PRODUCTION, "http://files.slack.com/files-pri/T1-F1/a.png", False),
        (PRODUCTION, "https://files.slack.com:8443/files-pri/T1-F1/a.png", False),
        (PRODUCTION, "https://files.slack.com.evil.example/a.png", False),
        (PRODUCTION, "https://evil.example/files.slack.com/a.png", False),
        (PRODUCTION, "https://files.slack.com@evil.example/a.png", False),
        (PRODUCTION, "https://user:pw@files.slack.com/a.png", False),
        (PRODUCTION, "ftp://files.slack.com/a.png", False),
        (PRODUCTION, "/files-pri/T1-F1/a.png", False),
        (PRODUCTION, "", False),
        (FileHosts.for_api("https://slack-gov.com/api/"), "https://files.slack-gov.com/a", True),
        (EMULATED, "http://127.0.0.1:4100/files-pri/F1/a.png", True),
        (EMULATED, "http://127.0.0.1:4101/files-pri/F1/a.png", False),
        (EMULATED, "http://127.0.0.2:4100/files-pri/F1/a.png", False),
        (EMULATED, "https://files.slack.com/files-pri/T1-F1/a.png", True),
        (EMULATED, "http://files.slack.com/files-pri/T1-F1/a.png", False),
    ],
)
def test_which_urls_may_carry_the_token(hosts: FileHosts, url: str, allowed: bool) -> None:
    assert hosts.may_carry_token(url) is allowed


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({}, True),
        ({"mode": "hosted", "is_external": False}, True),
        ({"is_external": True}, False),
        ({"mode": "external"}, False),
        ({"external_type": "gdrive"}, False),
    ],
)
def test_which_file_objects_are_fetched(fields: dict[str, Any], allowed: bool) -> None:
    file = {"id": "F1", "url_private": "https://files.slack.com/files-pri/T1-F1/a.png", **fields}
    assert (PRODUCTION.private_url(file) != "") is allowed
