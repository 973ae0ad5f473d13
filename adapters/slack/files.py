"""Images on Slack posts, fetched with the workspace's token: Slack keeps files private, so a
provider that accepts images gets small ones inline as `data:` URLs. Only an `image/*` answer
is inlined: without `files:read` Slack answers 200 with its HTML sign-in page."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import replace

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bridge.contracts import Attachment, UserPost

log = logging.getLogger(__name__)

INLINE_LIMIT = 2 * 1024 * 1024
"""Largest image inlined (bytes): the post waits in the Redis inbox with it."""
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=20)
INLINE_WITHIN = 1.5
"""Seconds all of a post's downloads may take together: the event's ack waits for them and
Slack wants it within 3 s. An image not fetched by then stays its named link."""


async def inline_images(
    client: AsyncWebClient, post: UserPost, urls: dict[str, str], within: float = INLINE_WITHIN
) -> UserPost:
    """`post` with each small image's content as a data URL (`urls`: name → url_private),
    for the images fetched within `within` seconds (fetched together)."""
    if not any(f.is_image for f in post.files) or not client.token:
        return post
    fetches = [asyncio.create_task(_inline(client, f, urls.get(f.name, ""))) for f in post.files]
    _, late = await asyncio.wait(fetches, timeout=within)
    for fetch in late:
        fetch.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    if late:
        log.info("%d Slack file(s) not fetched in %.1fs; forwarded as links", len(late), within)
    files = [f if t in late else t.result() for f, t in zip(post.files, fetches, strict=True)]
    return replace(post, files=tuple(files))


async def _inline(client: AsyncWebClient, file: Attachment, url: str) -> Attachment:
    if not file.is_image or not url:
        return file
    headers = {"Authorization": f"Bearer {client.token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=FETCH_TIMEOUT) as http,
            http.get(url, headers=headers) as response,
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
