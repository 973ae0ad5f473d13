"""Who may change a channel's settings on Discord: members with Manage Channels there."""

from __future__ import annotations

from typing import Any

import discord


def is_discord_admin(member_or_user: discord.Member | discord.User, channel: Any) -> bool:
    """True for a guild member who may manage `channel` (or is an administrator).

    In an interaction Discord sends the member's resolved permissions in the channel, which
    need no role cache; otherwise they are computed from the cached guild. A DM has no admins.
    """
    if not isinstance(member_or_user, discord.Member):
        return False
    permissions = member_or_user.resolved_permissions
    if permissions is None and isinstance(channel, discord.abc.GuildChannel):
        permissions = channel.permissions_for(member_or_user)
    if permissions is None:
        return False
    return bool(permissions.manage_channels or permissions.administrator)
