"""Discord JSON shapes for the emulated objects, as the REST API and the gateway send them.

Fields are the ones discord.py 2.x reads without a default (e.g. `flags` on members,
`thread_metadata` on threads, `type` on messages) plus the common optional ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .state import Channel, ChannelType, Guild, Message, Role, User, World

# VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY, ADD_REACTIONS,
# USE_APPLICATION_COMMANDS, CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS.
EVERYONE_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | (1 << 31) | (1 << 35)
) | (1 << 38)


def iso(at: float) -> str:
    """An ISO-8601 UTC timestamp as Discord writes them."""
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat()


def user(u: User) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(u.id),
        "username": u.username,
        "global_name": None if u.bot else u.username,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
    }
    if u.bot:
        data["bot"] = True
    return data


def member(u: User, *, with_user: bool = True, guild: Guild | None = None) -> dict[str, Any]:
    """A guild member; `roles` lists the member's role ids in `guild` (discord.py computes
    `permissions_for` from them, the guild's roles, the owner and the channel overwrites)."""
    roles = guild.member_roles.get(u.id, []) if guild is not None else []
    data: dict[str, Any] = {
        "roles": [str(r) for r in roles],
        "joined_at": iso(0),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
    }
    if with_user:
        data["user"] = user(u)
    return data


def channel(world: World, c: Channel) -> dict[str, Any]:
    if c.is_dm:
        assert c.recipient_id is not None
        return {
            "id": str(c.id),
            "type": int(c.type),
            "last_message_id": _opt(c.last_message_id),
            "recipients": [user(world.users[c.recipient_id])],
            "flags": 0,
        }
    if c.is_thread:
        return thread(c)
    return {
        "id": str(c.id),
        "type": int(c.type),
        "guild_id": str(c.guild_id),
        "name": c.name,
        "position": c.position,
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "permission_overwrites": c.overwrites,
        "rate_limit_per_user": 0,
        "last_message_id": _opt(c.last_message_id),
        "flags": 0,
    }


def thread(c: Channel) -> dict[str, Any]:
    created = iso(c.created_at)
    data: dict[str, Any] = {
        "id": str(c.id),
        "type": int(c.type),
        "guild_id": str(c.guild_id),
        "parent_id": str(c.parent_id),
        "owner_id": str(c.owner_id),
        "name": c.name,
        "last_message_id": _opt(c.last_message_id),
        "message_count": c.message_count,
        "member_count": 1,
        "total_message_sent": c.message_count,
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": c.auto_archive_duration,
            "archive_timestamp": created,
            "locked": False,
            "create_timestamp": created,
        },
    }
    if c.type == ChannelType.PRIVATE_THREAD:
        data["thread_metadata"]["invitable"] = False
    return data


def thread_member(c: Channel, user_id: int) -> dict[str, Any]:
    """A thread member object (Discord's channel resource: id, user_id, join_timestamp, flags)."""
    return {
        "id": str(c.id),
        "user_id": str(user_id),
        "join_timestamp": iso(c.created_at),
        "flags": 0,
    }


def guild_create(world: World, g: Guild, *, threads: bool = True) -> dict[str, Any]:
    """The full GUILD_CREATE payload that follows READY (channels, threads, members); without
    `threads`, as for threads archived by then ("archived threads are not synced up-front via
    the gateway", docs topics/threads), none are listed."""
    channels = [world.channels[cid] for cid in g.channel_ids]
    plain = [channel(world, c) for c in channels if not c.is_thread]
    for data in plain:
        data.pop("guild_id", None)
    return {
        "id": str(g.id),
        "name": g.name,
        "owner_id": str(g.owner_id),
        "unavailable": False,
        "large": False,
        "member_count": len(g.member_ids),
        "joined_at": iso(0),
        "icon": None,
        "features": [],
        "roles": [_everyone(g), *(role(r) for r in g.roles.values())],
        "emojis": [],
        "stickers": [],
        "channels": plain,
        "threads": [thread(c) for c in channels if c.is_thread] if threads else [],
        "members": [member(world.users[uid], guild=g) for uid in g.member_ids],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "system_channel_id": None,
    }


def message(world: World, m: Message, *, gateway: bool) -> dict[str, Any]:
    """A message object; the gateway adds `guild_id` and the author's `member` in guilds."""
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(m.author),
        "content": m.content,
        "timestamp": iso(m.created_at),
        "edited_timestamp": iso(m.edited_at[-1]) if m.edited_at else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [_mention(u, m.guild_id is not None) for u in m.mentions],
        "mention_roles": [],
        "attachments": m.attachments,
        "embeds": m.embeds,
        "components": m.components,
        "pinned": False,
        "type": m.type,
        "flags": m.flags,
    }
    if m.reactions:
        data["reactions"] = [_reaction(emoji, n) for emoji, n in m.reactions.items()]
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.message_reference is not None:
        data["message_reference"] = m.message_reference
        ref = world.messages.get(int(m.message_reference.get("message_id") or 0))
        data["referenced_message"] = message(world, ref, gateway=False) if ref else None
    if m.thread_id is not None and m.thread_id in world.channels:
        data["thread"] = thread(world.channels[m.thread_id])
    if gateway and m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        data["member"] = member(m.author, with_user=False, guild=world.guilds.get(m.guild_id))
    return data


def role(r: Role) -> dict[str, Any]:
    """A role object (Discord's Role structure: permissions as a string)."""
    return {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": 1,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _mention(u: User, in_guild: bool) -> dict[str, Any]:
    data = user(u)
    if in_guild:
        data["member"] = member(u, with_user=False)
    return data


def _reaction(emoji: str, count: int) -> dict[str, Any]:
    return {
        "emoji": {"id": None, "name": emoji},
        "count": count,
        "count_details": {"burst": 0, "normal": count},
        "me": True,
        "me_burst": False,
        "burst_colors": [],
    }


def _everyone(g: Guild) -> dict[str, Any]:
    return {
        "id": str(g.id),
        "name": "@everyone",
        "permissions": str(EVERYONE_PERMISSIONS),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _opt(value: int | None) -> str | None:
    return None if value is None else str(value)
