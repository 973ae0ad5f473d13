"""The discord.py client the adapter runs, pointed at the configured API and gateway."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord.webhook import async_ as webhook
from yarl import URL

log = logging.getLogger(__name__)


def point_at(api_url: str, gateway_url: str) -> None:
    """Aim discord.py at `api_url` and `gateway_url` (Discord's own, a proxy or the emulator);
    interaction callbacks go through discord.py's webhook adapter, which has its own base."""
    Route.BASE = api_url.rstrip("/")
    webhook.Route.BASE = api_url.rstrip("/")  # type: ignore[attr-defined]
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def intents() -> discord.Intents:
    """Guild and DM messages with their content; Message Content is a privileged intent."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.guild_reactions = True
    wanted.dm_reactions = True
    wanted.message_content = True
    return wanted


class BridgeClient(discord.Client):
    """Hands every new message to `on_post`; never lets an ingest error kill the gateway."""

    def __init__(
        self,
        on_post: Callable[[discord.Message], Awaitable[None]],
        on_reaction: Callable[[discord.RawReactionActionEvent], Awaitable[None]],
        trace: aiohttp.TraceConfig,
        on_interaction: Callable[[discord.Interaction], Awaitable[None]] | None = None,
        on_removed: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        # The bridge never joins voice: discord.py's warnings about voice libraries are noise.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=intents(), allowed_mentions=discord.AllowedMentions.none(), http_trace=trace
        )
        self._on_post = on_post
        self._on_reaction = on_reaction
        self._on_interaction = on_interaction
        self._on_removed = on_removed

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if self._on_interaction is None:
            return
        try:
            await self._on_interaction(interaction)
        except Exception:
            log.exception("could not handle interaction %s", interaction.id)

    async def on_message(self, message: discord.Message) -> None:
        try:
            await self._on_post(message)
        except Exception:
            log.exception("could not accept Discord message %s", message.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from `guild` (GUILD_DELETE without `unavailable`; an outage
        keeps `unavailable` and never comes here): the guild's data goes with it."""
        if self._on_removed is None:
            return
        try:
            await self._on_removed(guild.id)
        except Exception:
            log.exception("could not forget guild %s", guild.id)

    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        try:
            await self._on_reaction(event)
        except Exception:
            log.exception("could not handle a reaction on %s", event.message_id)


def route_name(method: str, url: URL) -> str:
    """A REST call named by its route with ids and emoji taken out (`PATCH
    /channels/{id}/messages/{id}`), so a metric label has a small, fixed set of values."""
    parts: list[str] = []
    after_reactions = False
    for part in url.path.split("/"):
        if after_reactions and part and part != "@me":
            parts.append("{emoji}")
            after_reactions = False
            continue
        after_reactions = part == "reactions"
        parts.append("{id}" if part.isdigit() else part)
    path = "/".join(parts)
    base = URL(Route.BASE).path.rstrip("/")
    return f"{method} {path.removeprefix(base) or '/'}"
