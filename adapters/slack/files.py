"""Images on Slack posts, fetched with the workspace's token: Slack keeps files private, so a
provider that accepts images gets small ones inline as `data:` URLs. Only an `image/*` answer
is inlined: without `files:read` Slack answers 200 with its HTML sign-in page.

The token is a workspace's credential, and a file object's `url_private` is whatever the event
says: a remote file's is the external URL another app gave it (files.remote.add). So the token
goes only to Slack's own file hosts (`FileHosts`), never for an external file, never across
a redirect."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from bridge.contracts import Attachment, UserPost

log = logging.getLogger(__name__)

INLINE_LIMIT = 2 * 1024 * 1024
"""Largest image inlined (bytes): the post waits in the Redis inbox with it."""
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=20)
INLINE_WITHIN = 1.5
"""Seconds all of a post's downloads may take together: the event's ack waits for them and
Slack wants it within 3 s. An image not fetched by then stays its named link."""
SLACK_FILES = "files.slack.com"
"""Where Slack serves `url_private` (https://docs.slack.dev/reference/objects/file-object)."""

Origin = tuple[str, str, int]


@dataclass(frozen=True)
class FileHosts:
    """The origins (scheme, host, port) the bot token may be sent to for a file download:
    files.slack.com, the configured API host, and that host's `files.` sibling (GovSlack's
    files.slack-gov.com), all over https; plain http only to the configured API origin when
    its URL is itself http (the emulator on loopback)."""

    origins: frozenset[Origin]

    @classmethod
    def for_api(cls, api_url: str) -> FileHosts:
        api = URL(api_url)
        host = api.host or ""
        origins = {("https", SLACK_FILES, 443)}
        if host and api.scheme in ("https", "http") and api.port is not None:
            origins |= {(api.scheme, host, api.port), ("https", f"files.{host}", 443)}
        return cls(frozenset(origins))

    def may_carry_token(self, url: str) -> bool:
        """Whether `url` is on one of Slack's file origins (no user info, nothing else)."""
        try:
            parsed = URL(url)
        except ValueError:
            return False
        if not parsed.absolute or parsed.user is not None or parsed.password is not None:
            return False
        origin = (parsed.scheme, (parsed.host or "").lower(), parsed.port or 0)
        return origin in self.origins

    def private_url(self, file: Mapping[str, Any]) -> str:
        """The file's `url_private` when the token may fetch it, else "": an external file
        (`is_external`, `mode` "external", an `external_type`) lives elsewhere, whatever its
        URL says."""
        external = file.get("is_external") or file.get("external_type")
        if external or file.get("mode") == "external":
            return ""
        url = str(file.get("url_private") or "")
        return url if self.may_carry_token(url) else ""

    def private_urls(self, files: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """File id → `url_private`, for the files the token may fetch (keyed by id: names
        repeat, and a second file of the same name must not lend the first its link)."""
        urls: dict[str, str] = {}
        for file in files:
            file_id, url = str(file.get("id") or ""), self.private_url(file)
            if file_id and url:
                urls[file_id] = url
        return urls


async def inline_images(
    client: AsyncWebClient,
    post: UserPost,
    files: Sequence[Mapping[str, Any]],
    hosts: FileHosts,
    within: float = INLINE_WITHIN,
) -> UserPost:
    """`post` with each small image's content as a data URL, for the images fetched within
    `within` seconds (fetched together). `files`: the event's file objects, one for each of
    `post.files` in the same order."""
    if not any(f.is_image for f in post.files) or not client.token:
        return post
    if len(files) != len(post.files):
        log.warning("Slack files do not match the post's; forwarded as links")
        return post
    urls = hosts.private_urls(files)
    sources = [urls.get(str(f.get("id") or ""), "") for f in files]
    return replace(post, files=await _fetch_all(client, post.files, sources, within))


async def _fetch_all(
    client: AsyncWebClient, files: Sequence[Attachment], sources: Sequence[str], within: float
) -> tuple[Attachment, ...]:
    """Each file inlined from its source ("" for none) if fetched within `within` seconds."""
    fetches = [
        asyncio.create_task(_inline(client, f, url)) for f, url in zip(files, sources, strict=True)
    ]
    _, late = await asyncio.wait(fetches, timeout=within)
    for fetch in late:
        fetch.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    if late:
        log.info("%d Slack file(s) not fetched in %.1fs; forwarded as links", len(late), within)
    return tuple(f if t in late else t.result() for f, t in zip(files, fetches, strict=True))


async def _inline(client: AsyncWebClient, file: Attachment, url: str) -> Attachment:
    """A redirect is never followed: with the token it could carry it off Slack, and without
    it a Slack file host answers only its sign-in page, so the file stays its named link."""
    if not file.is_image or not url:
        return file
    headers = {"Authorization": f"Bearer {client.token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=FETCH_TIMEOUT) as http,
            http.get(url, headers=headers, allow_redirects=False) as response,
        ):
            if response.status != 200 or not response.content_type.startswith("image/"):
                log.info(
                    "Slack file %s answered %s %s; forwarded as a link",
                    file.name,
                    response.status,
                    response.content_type,
                )
                return file
            data = await response.content.read(INLINE_LIMIT + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.info("Slack file %s could not be fetched (%s); forwarded as a link", file.name, exc)
        return file
    if len(data) > INLINE_LIMIT:
        return file
    encoded = base64.b64encode(data).decode()
    return replace(file, data_url=f"data:{file.mimetype};base64,{encoded}")
