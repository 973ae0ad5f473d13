"""The Discord adapter: a discord.py bot (Message Content intent) answering in threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

import aiohttp
import discord

from adapters.discord import slash
from adapters.discord.client import BridgeClient, point_at, route_name
from adapters.discord.controls import stop_pressed
from adapters.discord.doctor import run_checks
from adapters.discord.feedback import feedback_pressed
from adapters.discord.heartbeat import gateway_lateness
from adapters.discord.ingest import DiscordIngest, ThreadParents
from adapters.discord.pace import pace_requests
from adapters.discord.settings import DiscordSettings
from adapters.discord.surface import DiscordSurface, global_allowance
from bridge.contracts import (
    ConfigError,
    Core,
    Findings,
    Permits,
    Surface,
    UserPost,
    require,
    secret,
)
from bridge.contracts.fencing import fence_requests
from bridge.contracts.metering import http_trace

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0
INTENT_HELP = (
    "DISCORD_TOKEN: Discord refused the Message Content intent; enable it for the bot in the "
    "Developer Portal (Bot → Privileged Gateway Intents → Message Content Intent)"
)


class DiscordAdapter:
    platform = "discord"
    settings_class = DiscordSettings
    enabling = ("DISCORD_TOKEN",)
    quiet_loggers = ("discord.http", "discord.gateway")
    """They log request routes and gateway payloads at DEBUG."""

    @staticmethod
    def enabled(settings: DiscordSettings) -> bool:
        return bool(secret(settings.token))

    @staticmethod
    def describe(settings: DiscordSettings) -> str:
        return "discord"

    @staticmethod
    async def doctor(settings: DiscordSettings, findings: Findings) -> None:
        await run_checks(settings, findings)

    def __init__(self, settings: DiscordSettings) -> None:
        require(settings, "token")
        self._settings = settings
        self._limit = global_allowance(settings.requests_per_second)
        """The bot's global limit: the replies' permits and the session's pace share it."""
        self._core: Core | None = None
        self.client: BridgeClient | None = None
        self._budget: Permits | None = None
        self._previews = False
        self._task: asyncio.Task[None] | None = None
        self._answers = slash.Answers()

    async def start(self, core: Core) -> None:
        point_at(self._settings.api_url, self._settings.gateway_url)
        self._core = core
        self._budget = core.budget
        self._previews = core.options.link_previews
        ingest: DiscordIngest | None = None
        parents = ThreadParents()

        async def on_post(message: discord.Message) -> None:
            if ingest is not None:
                await ingest.handle(message)

        async def on_reaction(event: discord.RawReactionActionEvent) -> None:
            if ingest is not None:
                await ingest.handle_reaction(event)

        async def on_removed(guild: int) -> None:
            deleted = await core.forget_tenant(self.platform, str(guild))
            log.info("removed from guild %s: forgot it (%d keys)", guild, deleted)

        stop, rate = stop_pressed(core, parents), feedback_pressed(core, parents)

        async def on_press(interaction: discord.Interaction) -> None:
            await stop(interaction)
            await rate(interaction)

        fenced = fence_requests(http_trace(core.meter, "discord", route_name))
        trace = pace_requests(fenced, core.budget, self._limit, self._settings.api_url)
        self.client = client = BridgeClient(on_post, on_reaction, trace, on_press, on_removed)
        try:
            await client.login(secret(self._settings.token))
        except discord.LoginFailure:
            await client.close()
            raise ConfigError("DISCORD_TOKEN was refused by Discord: check the bot token") from None
        except (aiohttp.ClientError, OSError) as exc:
            await client.close()
            host = urlsplit(self._settings.api_url).netloc
            raise ConfigError(f"DISCORD_API_URL: cannot reach {host} ({exc})") from None
        assert client.user is not None
        ingest = DiscordIngest(core, client.user.id, client, parents)
        await slash.install(client, core, self._answers)
        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        await self._wait_ready(client, self._task)
        log.info("Discord: connected as %s", client.user)

    async def _wait_ready(self, client: discord.Client, task: asyncio.Task[None]) -> None:
        ready = asyncio.ensure_future(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=READY_TIMEOUT, return_when="FIRST_COMPLETED"
        )
        if ready in done:
            return
        ready.cancel()
        error = task.exception() if task in done else None
        await self.stop()
        if isinstance(error, discord.PrivilegedIntentsRequired):
            raise ConfigError(INTENT_HELP)
        raise ConfigError(
            f"DISCORD_GATEWAY_URL: could not connect to Discord ({error or 'timeout'})"
        )

    async def connected(self) -> bool:
        """For /readyz: the gateway connection is open."""
        client = self.client
        if client is None or client.is_closed() or not client.is_ready():
            return False
        return client.ws is not None and bool(client.ws.open)

    def behind(self) -> float:
        """How far behind the gateway runs: a late heartbeat ACK (the lag gate reads it)."""
        return gateway_lateness(self.client)

    async def stop(self) -> None:
        await self._answers.aclose()
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        assert self.client is not None and self._budget is not None and self._core is not None
        return DiscordSurface(
            self.client, post, messages, self._budget, self._limit, previews=self._previews
        )
