"""The floor on Teams: the least code that answers a channel mention the way the bridge does.

An aiohttp server at `/api/messages` checks each activity's JWT (PyJWT, keys from the
metadata's `jwks_uri`, fetched once), takes a client-credentials token, posts a placeholder into
the mention's thread and edits it (PUT) with the accumulated text; one process-wide pacer keeps
the channel inside its sustained 60 writes per 30 s (interim edits skip a busy slot, finals
wait). No Redis, no inbox, no leases.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
from aiohttp import web
from yarl import URL

from bench.floor import READY, Neuroflash, Pacer, spawn

WRITE_INTERVAL = 0.52
"""60 writes per 30 s in one channel, with a little room for transit."""
AT = re.compile(r"<at>[^<]*</at>")


class TeamsFloor:
    def __init__(self, provider: Neuroflash, session: aiohttp.ClientSession) -> None:
        self.provider = provider
        self.session = session
        self.pacer = Pacer(WRITE_INTERVAL)
        self.keys: dict[str, jwt.PyJWK] = {}
        self.token = ""
        self.tasks: set[asyncio.Task[None]] = set()

    async def setup(self) -> None:
        async with self.session.get(os.environ["TEAMS_OPENID_METADATA_URL"]) as meta:
            jwks_uri = (await meta.json())["jwks_uri"]
        async with self.session.get(jwks_uri) as keys:
            for key in (await keys.json())["keys"]:
                fields = {k: v for k, v in key.items() if k != "endorsements"}
                self.keys[key["kid"]] = jwt.PyJWK(fields, algorithm="RS256")
        form = {
            "grant_type": "client_credentials",
            "client_id": os.environ["TEAMS_APP_ID"],
            "client_secret": os.environ["TEAMS_APP_PASSWORD"],
            "scope": "https://api.botframework.com/.default",
        }
        async with self.session.post(os.environ["TEAMS_TOKEN_URL"], data=form) as answer:
            self.token = (await answer.json())["access_token"]

    async def handle(self, request: web.Request) -> web.Response:
        activity = await request.json()
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            key = self.keys[jwt.get_unverified_header(token)["kid"]]
            claims = jwt.decode(
                token, key, ["RS256"], audience=os.environ["TEAMS_APP_ID"], leeway=300
            )
        except (KeyError, jwt.InvalidTokenError):
            return web.Response(status=403)
        if claims.get("serviceurl") != activity.get("serviceUrl"):
            return web.Response(status=403)
        if activity.get("type") == "message" and "<at>" in str(activity.get("text")):
            spawn(self.tasks, self.answer(activity))
        return web.Response(status=200)

    async def answer(self, activity: dict[str, Any]) -> None:
        base = str(activity["conversation"]["id"]).split(";")[0]
        thread = f"{base};messageid={activity['id']}"
        url = f"{activity['serviceUrl'].rstrip('/')}/v3/conversations/{quote(thread, safe='')}"
        headers = {"Authorization": f"Bearer {self.token}"}
        await self.pacer.wait()
        body = {"type": "message", "text": "…"}
        async with self.session.post(
            URL(f"{url}/activities", encoded=True), json=body, headers=headers
        ) as posted:
            message = (await posted.json())["id"]

        async def show(reply: str, final: bool) -> bool:
            if final:
                await self.pacer.wait()
            elif not self.pacer.take():
                return False
            body = {"type": "message", "text": reply, "textFormat": "markdown"}
            target = URL(f"{url}/activities/{message}", encoded=True)
            async with self.session.put(target, json=body, headers=headers) as response:
                response.raise_for_status()
            return True

        await self.provider.answer(AT.sub("", str(activity.get("text"))).strip(), show)


async def run_teams(provider: Neuroflash, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        floor = TeamsFloor(provider, session)
        await floor.setup()
        app = web.Application()
        app.router.add_post("/api/messages", floor.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(os.environ["BRIDGE_HTTP_PORT"])).start()
        print(READY, flush=True)
        await stop.wait()
        for task in list(floor.tasks):
            task.cancel()
        await asyncio.gather(*floor.tasks, return_exceptions=True)
        await runner.cleanup()
