"""The floor: the least code that does the bridge's visible work, for comparison.

Per mention it opens a neuroflash conversation, streams the answer with httpx-sse, and edits
the messenger message with the accumulated text at most once per second (and once more with
the final text), through the same client libraries the bridge uses (discord.py, slack_sdk;
aiohttp for Mattermost).
One process-wide pacer keeps it inside the platform's shared limit (Discord's global requests
per bot, Slack's chat.update per workspace), as the bridge's budget does; without it, 100
threads on Discord meet 429s until discord.py gives up. No Redis, no inbox, no leases, no
splitting rules beyond cutting pages at the length limit.
Run as `python -m bench.floor`, configured by the same environment variables as the bridge
plus BENCH_PLATFORM; it prints `floor is up` when connected.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import discord
import httpx
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from httpx_sse import aconnect_sse
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

READY = "floor is up"
EDIT_INTERVAL = 1.0
DISCORD_PAGE = 2000
MENTION = re.compile(r"<@!?[\w]+(\|[^>]*)?>")
Show = Callable[[str, bool], Awaitable[bool]]
"""Shows the reply so far (final or not); False when the pacer had no slot for it."""


def spawn(tasks: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(_done(tasks))


def _done(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def report(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            print(f"floor: reply failed: {task.exception()!r}", file=sys.stderr)

    return report


class Pacer:
    """One write per `interval` for the whole process: Slack's chat.update budget is per
    workspace, Discord's global limit per bot. Interim edits skip a busy slot, finals wait."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_at = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        if now < self.next_at:
            return False
        self.next_at = now + self.interval
        return True

    async def wait(self) -> None:
        now = time.monotonic()
        at = max(now, self.next_at)
        self.next_at = at + self.interval
        await asyncio.sleep(at - now)


class Neuroflash:
    """One token, one conversation per thread, one SSE stream per answer."""

    def __init__(self) -> None:
        env = os.environ
        self.http = httpx.AsyncClient(
            base_url=env["NEUROFLASH_API_URL"].rstrip("/") + "/",
            timeout=httpx.Timeout(60.0, connect=10.0),
            limits=httpx.Limits(max_connections=512),
            trust_env=False,
        )
        self.conversations = f"v1/workspaces/{env['NEUROFLASH_WORKSPACE_ID']}/conversations"
        self._token = ""
        self._lock = asyncio.Lock()

    async def headers(self) -> dict[str, str]:
        async with self._lock:
            if not self._token:
                form = {
                    "grant_type": "client_credentials",
                    "client_id": os.environ["NEUROFLASH_CLIENT_ID"],
                    "client_secret": os.environ["NEUROFLASH_CLIENT_SECRET"],
                }
                answer = await self.http.post(os.environ["NEUROFLASH_TOKEN_URL"], data=form)
                self._token = answer.raise_for_status().json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    async def answer(self, text: str, show: Show) -> None:
        headers = await self.headers()
        created = await self.http.post(self.conversations, json={}, headers=headers)
        path = f"{self.conversations}/{created.raise_for_status().json()['id']}/message-streams"
        body = {"id": str(uuid.uuid4()), "text": text, "createdAt": datetime.now(UTC).isoformat()}
        reply, last = "", 0.0
        async with aconnect_sse(self.http, "POST", path, json=body, headers=headers) as source:
            source.response.raise_for_status()
            async for sse in source.aiter_sse():
                if sse.event == "delta":
                    reply += json.loads(sse.data)["delta"]
                elif sse.event == "message":
                    reply = json.loads(sse.data)["text"]
                    break
                if time.monotonic() - last >= EDIT_INTERVAL and await show(reply, False):
                    last = time.monotonic()
        await show(reply, True)

    async def aclose(self) -> None:
        await self.http.aclose()


class DiscordFloor(discord.Client):
    """A mention opens a thread from the post; the answer is one placeholder, then edits."""

    def __init__(self, provider: Neuroflash, pacer: Pacer) -> None:
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.message_content = True
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self.provider = provider
        self.pacer = pacer
        self.tasks: set[asyncio.Task[None]] = set()

    async def on_ready(self) -> None:
        print(READY, flush=True)

    async def on_message(self, message: discord.Message) -> None:
        me = self.user
        if message.author.bot or me is None or all(u.id != me.id for u in message.mentions):
            return
        spawn(self.tasks, self.answer(message))

    async def answer(self, message: discord.Message) -> None:
        text = MENTION.sub("", message.content).strip()
        await self.pacer.wait()
        thread = await message.create_thread(name=text[:100] or "answer")
        await self.pacer.wait()
        pages = [await thread.send("…")]
        shown = ["…"]

        async def show(reply: str, final: bool) -> bool:
            for number, start in enumerate(range(0, max(len(reply), 1), DISCORD_PAGE)):
                page = reply[start : start + DISCORD_PAGE]
                if number < len(pages) and shown[number] == page:
                    continue
                if final or number == len(pages):
                    await self.pacer.wait()
                elif not self.pacer.take():
                    return False
                if number == len(pages):
                    pages.append(await thread.send(page))
                    shown.append(page)
                else:
                    await pages[number].edit(content=page)
                    shown[number] = page
            return True

        await self.provider.answer(text, show)


async def run_discord(provider: Neuroflash, stop: asyncio.Event) -> None:
    Route.BASE = os.environ["DISCORD_API_URL"].rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
    pacer = Pacer(1.0 / float(os.environ.get("BENCH_DISCORD_WRITES_PER_SECOND", "45")))
    client = DiscordFloor(provider, pacer)
    runner = asyncio.create_task(client.start(os.environ["DISCORD_TOKEN"]))
    await stop.wait()
    for task in list(client.tasks):
        task.cancel()
    await client.close()
    await asyncio.gather(runner, *client.tasks, return_exceptions=True)


async def run_slack(provider: Neuroflash, stop: asyncio.Event) -> None:
    web = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    web.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    client = SocketModeClient(app_token=os.environ["SLACK_APP_TOKEN"], web_client=web)
    pacer = Pacer(60.0 / float(os.environ.get("SLACK_EDITS_PER_MINUTE", "50")))
    tasks: set[asyncio.Task[None]] = set()

    async def answer(event: dict[str, Any]) -> None:
        channel, thread = event["channel"], event.get("thread_ts") or event["ts"]
        posted = await web.chat_postMessage(channel=channel, thread_ts=thread, text="_…thinking_")

        async def show(reply: str, final: bool) -> bool:
            if final:
                await pacer.wait()
            elif not pacer.take():
                return False
            await web.chat_update(channel=channel, ts=posted["ts"], markdown_text=reply)
            return True

        await provider.answer(MENTION.sub("", event.get("text", "")).strip(), show)

    async def on_request(client: SocketModeClient, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))
        event = request.payload.get("event") or {}
        if request.type == "events_api" and event.get("type") == "app_mention":
            spawn(tasks, answer(event))

    client.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    await client.connect()  # type: ignore[no-untyped-call]
    print(READY, flush=True)
    await stop.wait()
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()  # type: ignore[no-untyped-call]


async def run_mattermost(provider: Neuroflash, stop: asyncio.Event) -> None:
    """A mention gets a placeholder post in its thread, then patches; one pacer for the
    server's per-token limiter (a little under MATTERMOST_REQUESTS_PER_SECOND)."""
    import aiohttp

    base = os.environ["MATTERMOST_URL"].rstrip("/")
    auth = {"Authorization": f"Bearer {os.environ['MATTERMOST_TOKEN']}"}
    pacer = Pacer(1.0 / (0.9 * float(os.environ.get("MATTERMOST_REQUESTS_PER_SECOND", "10"))))
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(headers=auth) as http:
        me = await (await http.get(f"{base}/api/v4/users/me")).json()
        mention = f"@{me['username']}"

        async def answer(post: dict[str, Any]) -> None:
            root = post.get("root_id") or post["id"]
            body = {"channel_id": post["channel_id"], "root_id": root, "message": "…"}
            await pacer.wait()
            created = await (await http.post(f"{base}/api/v4/posts", json=body)).json()

            async def show(reply: str, final: bool) -> bool:
                if final:
                    await pacer.wait()
                elif not pacer.take():
                    return False
                path = f"{base}/api/v4/posts/{created['id']}/patch"
                await http.put(path, json={"message": reply})
                return True

            await provider.answer(post["message"].replace(mention, "").strip(), show)

        async with http.ws_connect(base.replace("http", "ws", 1) + "/api/v4/websocket") as ws:
            print(READY, flush=True)
            reader = asyncio.create_task(_read_posts(ws, me["id"], mention, tasks, answer))
            await stop.wait()
            reader.cancel()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(reader, *tasks, return_exceptions=True)


async def _read_posts(
    ws: Any,
    bot: str,
    mention: str,
    tasks: set[asyncio.Task[None]],
    answer: Callable[[dict[str, Any]], Coroutine[Any, Any, None]],
) -> None:
    async for message in ws:
        event = json.loads(message.data)
        if event.get("event") != "posted":
            continue
        post = json.loads(event["data"]["post"])
        if post.get("user_id") != bot and mention in post.get("message", ""):
            spawn(tasks, answer(post))


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    provider = Neuroflash()
    try:
        if os.environ.get("BENCH_PLATFORM") == "slack":
            await run_slack(provider, stop)
        elif os.environ.get("BENCH_PLATFORM") == "mattermost":
            await run_mattermost(provider, stop)
        elif os.environ.get("BENCH_PLATFORM") == "teams":
            from bench.floor_teams import run_teams

            await run_teams(provider, stop)
        else:
            await run_discord(provider, stop)
    finally:
        await provider.aclose()


if __name__ == "__main__":
    asyncio.run(main())
