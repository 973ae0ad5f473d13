"""Who is an admin on Discord: a guild member with Manage Channels in the channel, as
discord.py computes it from the guild's roles, the owner and the channel's overwrites."""

from __future__ import annotations

from typing import Any

import discord


def is_discord_admin(member_or_user: discord.Member | discord.User, channel: Any) -> bool:
    """Whether the author may change the channel's settings; never in DMs (no guild)."""
    if not isinstance(member_or_user, discord.Member):
        return False
    permissions_for = getattr(channel, "permissions_for", None)
    if permissions_for is None:
        return False
    return bool(permissions_for(member_or_user).manage_channels)
