"""The bot's messaging endpoint, `POST /api/messages` on BRIDGE_HTTP_PORT.

Order: size cap, a JSON object, then the bearer token (`adapters.teams.auth`) before anything
of the activity is acted on; a refused one is answered 401/403 and counted, nothing more.
An authenticated activity is recorded durably (the inbox) and acknowledged at once, 200 (an
`invoke` with its invoke response); while Redis is out of reach the answer is 503, so Teams
may deliver it again, and its id dedupes a redelivery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from adapters.teams.auth import ActivityAuth, Refused
from adapters.teams.ingest import TeamsIngest

log = logging.getLogger(__name__)

PATH = "/api/messages"
MAX_BODY_BYTES = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def messages_handler(
    auth: ActivityAuth, ingest: TeamsIngest, refused: Callable[[int], None]
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.Response(status=413)
        try:
            activity = json.loads(await request.read())
        except (ValueError, web.HTTPRequestEntityTooLarge, RecursionError):
            return web.Response(status=400)
        if not isinstance(activity, dict):
            return web.Response(status=400)
        try:
            await auth.verify(request.headers.get("Authorization", ""), activity)
        except Refused as exc:
            log.info("Teams activity refused with %d: %s", exc.status, exc)
            refused(exc.status)
            return web.Response(status=exc.status)
        try:
            answer: Any = await ingest.handle(activity)
        except RedisError:
            return web.Response(status=503)
        if answer is None:
            return web.Response(status=200)
        return web.json_response(answer)

    return handle
