"""A thread named by a Discord message link in `/threadbridge`, and whether the caller may see
it: what discord.py computes from the guild's roles, the owner and the channel's overwrites
(`permissions_for`: View Channel), plus, for a private thread, membership or Manage Threads
(Discord, topics/threads: private threads are visible to those invited and to members who may
manage threads). A DM link is for the DM's participant only.

Links look like `https://discord.com/channels/<guild or @me>/<channel>[/<message>]`: a message
in a thread or the thread itself names that thread; a message in a text channel names the thread
started from it (whose id is the message's).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import discord

from adapters.discord.ingest import DM_TENANT
from bridge.contracts import Link, ThreadKey

log = logging.getLogger(__name__)

LINK = re.compile(
    r"^https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(@me|\d+)/(\d+)(?:/(\d+))?/?$"
)
Channel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel


@dataclass(frozen=True, slots=True)
class Place:
    """Where a link points: a guild (None for a DM), a channel, maybe a message."""

    guild: int | None
    channel: int
    message: int | None


def parse_link(text: str) -> Place | None:
    """The place a Discord message or channel link names, or None if `text` is none."""
    match = LINK.match(text.strip().strip("<>"))
    if match is None:
        return None
    guild, channel, message = match.groups()
    return Place(
        None if guild == "@me" else int(guild), int(channel), int(message) if message else None
    )


async def link_to(interaction: discord.Interaction, place: Place) -> Link | None:
    """The thread at `place` with the caller's view of it, or None if it names no thread."""
    user = interaction.user
    if place.guild is None:
        thread = ThreadKey("discord", DM_TENANT, str(place.channel), str(place.channel))

        async def participant() -> bool:
            found = await _channel(interaction.client, place.channel)
            recipient = getattr(found, "recipient", None)
            return isinstance(found, discord.DMChannel) and getattr(recipient, "id", 0) == user.id

        return Link(thread, participant, direct=True)
    channel = await _channel(interaction.client, place.channel)
    if channel is None:
        key = ThreadKey("discord", str(place.guild), str(place.channel), str(place.channel))
        return Link(key, _nobody)
    if isinstance(channel, discord.Thread):
        key = ThreadKey("discord", str(channel.guild.id), str(channel.parent_id), str(channel.id))
        return Link(key, lambda: _sees_thread(channel, user))
    if not isinstance(channel, discord.abc.GuildChannel) or place.message is None:
        return None
    key = ThreadKey("discord", str(channel.guild.id), str(channel.id), str(place.message))
    return Link(key, lambda: _sees(channel, user))


async def _nobody() -> bool:
    return False


async def _channel(client: discord.Client, channel_id: int) -> Channel | None:
    """The channel from discord.py's cache, else from Discord (None if it will not say)."""
    cached = client.get_channel(channel_id)
    if cached is not None:
        return cached
    try:
        return await client.fetch_channel(channel_id)
    except discord.HTTPException as exc:
        log.info("could not look up a linked channel: %s", exc)
        return None


def _member_in(channel: discord.abc.GuildChannel | discord.Thread, user: object) -> bool:
    return isinstance(user, discord.Member) and user.guild.id == channel.guild.id


async def _sees(channel: discord.abc.GuildChannel, user: discord.Member | discord.User) -> bool:
    """May view the channel (a member of another server, or a DM's user, may not)."""
    if not isinstance(user, discord.Member) or not _member_in(channel, user):
        return False
    return channel.permissions_for(user).view_channel


async def _sees_thread(thread: discord.Thread, user: discord.Member | discord.User) -> bool:
    """May view the thread's parent; for a private thread also be in it or manage threads."""
    if not isinstance(user, discord.Member) or not _member_in(thread, user):
        return False
    try:
        permissions = thread.permissions_for(user)
    except discord.ClientException:
        log.info("the linked thread's parent is not cached: its view is not known")
        return False
    if not permissions.view_channel:
        return False
    if thread.type != discord.ChannelType.private_thread or permissions.manage_threads:
        return True
    try:
        await thread.fetch_member(user.id)
    except discord.NotFound:
        return False
    return True
