"""Message, thread, typing and reaction endpoints.

Create, edit and thread creation are charged to one per-channel bucket; a thread started from a
message is charged to the parent channel, edits inside a thread to the thread. The bot's own
creates and edits echo MESSAGE_CREATE / MESSAGE_UPDATE on the gateway, as Discord's do.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.base import json_response

from . import errors, payloads
from .routing import Endpoint
from .state import Channel, ChannelType, Message
from .validate import check_message, check_thread_name

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

MESSAGES = "/channels/{channel_id}/messages"
ONE = MESSAGES + "/{message_id}"
REACTION = ONE + "/reactions/{emoji}/@me"
TYPING_PATH = "/channels/{channel_id}/typing"
TYPING = f"POST {TYPING_PATH}"


class MessageRoutes:
    """Handlers bound to one emulator."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", MESSAGES, "create_message", self.create),
            Endpoint("GET", MESSAGES, "list_messages", self.history),
            Endpoint("GET", ONE, "get_message", self.get),
            Endpoint("PATCH", ONE, "edit_message", self.edit),
            Endpoint("DELETE", ONE, "delete_message", self.delete),
            Endpoint("POST", ONE + "/threads", "start_thread", self.start_thread),
            Endpoint("POST", TYPING_PATH, "typing", self.typing),
            Endpoint("PUT", REACTION, "add_reaction", self.add_reaction),
            Endpoint("DELETE", REACTION, "remove_reaction", self.remove_reaction),
        ]

    async def create(self, request: web.Request, body: Any) -> web.StreamResponse:
        channel = self._channel(request)
        if channel is None:
            return errors.unknown_channel()
        limited, headers = self.emu.limits.check_channel(f"POST {MESSAGES}", channel.id)
        if limited is not None:
            return limited
        body = body if isinstance(body, dict) else {}
        invalid = check_message(body, creating=True)
        if invalid is not None:
            return invalid
        repeated = self._same_nonce(channel, body)
        if repeated is not None:
            return json_response(self._out(repeated), headers=headers)
        reference, bad_ref = self._reference(channel, body.get("message_reference"))
        if bad_ref is not None:
            return bad_ref
        content = str(body.get("content") or "")
        message = Message(
            self.emu.world.ids.next(),
            channel.id,
            channel.guild_id,
            self.emu.bot,
            content,
            embeds=_embeds(body.get("embeds")),
            flags=int(body.get("flags") or 0),
            mentions=self.emu.mentioned(content),
            allowed_mentions=body.get("allowed_mentions"),
            message_reference=reference,
            nonce=body.get("nonce"),
            attachments=self._attachments(body),
            components=list(body.get("components") or []),
        )
        await self.emu.publish(message)
        return json_response(self._out(message), headers=headers)

    async def edit(self, request: web.Request, body: Any) -> web.StreamResponse:
        channel, message, missing = self._lookup(request)
        if missing is not None:
            return missing
        assert channel is not None and message is not None
        if message.author.id != self.emu.bot_id:
            return errors.error(
                403, errors.CANNOT_EDIT_OTHERS, "Cannot edit a message authored by another user"
            )
        limited, headers = self.emu.limits.check_channel(f"PATCH {ONE}", channel.id)
        if limited is not None:
            return limited
        body = body if isinstance(body, dict) else {}
        invalid = check_message(body, creating=False)
        if invalid is not None:
            return invalid
        content = str(body.get("content") or "") if "content" in body else message.content
        embeds = _embeds(body.get("embeds")) if "embeds" in body else message.embeds
        attachments = self._kept_attachments(message, body)
        if not (content or embeds or attachments):
            return errors.error(400, errors.EMPTY_MESSAGE, "Cannot send an empty message")
        message.content, message.embeds, message.attachments = content, embeds, attachments
        if body.get("flags") is not None:
            message.flags = edited_flags(message.flags, int(body["flags"]))
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if "components" in body:
            message.components = list(body["components"] or [])
        message.mentions = self.emu.mentioned(content)
        message.edits.append(content)
        message.edited_at.append(time.time())
        await self.emu.announce_update(message)
        return json_response(self._out(message), headers=headers)

    async def get(self, request: web.Request, body: Any) -> web.StreamResponse:
        _, message, missing = self._lookup(request)
        if missing is not None:
            return missing
        assert message is not None
        return json_response(self._out(message))

    async def history(self, request: web.Request, body: Any) -> web.StreamResponse:
        """Newest first, like Discord; honours limit, before, after and around."""
        channel = self._channel(request)
        if channel is None:
            return errors.unknown_channel()
        query = request.query
        limit = min(max(_int(query.get("limit"), 50), 1), 100)
        found = self.emu.world.messages_in(channel.id)
        if "before" in query:
            found = [m for m in found if m.id < _int(query["before"], 0)]
        if "after" in query:
            found = [m for m in found if m.id > _int(query["after"], 0)][:limit]
        if "around" in query:
            pivot = _int(query["around"], 0)
            older = [m for m in found if m.id <= pivot][-(limit - limit // 2) :]
            found = older + [m for m in found if m.id > pivot][: limit // 2]
        newest_first = list(reversed(found))[:limit]
        return json_response([self._out(m) for m in newest_first])

    async def delete(self, request: web.Request, body: Any) -> web.StreamResponse:
        _, message, missing = self._lookup(request)
        if missing is not None:
            return missing
        assert message is not None
        if message.author.id != self.emu.bot_id:
            return errors.error(403, errors.MISSING_PERMISSIONS, "Missing Permissions")
        self.emu.world.remove_message(message)
        await self.emu.announce_delete(message)
        return web.Response(status=204)

    async def start_thread(self, request: web.Request, body: Any) -> web.StreamResponse:
        """A public thread from a message: its id is the message's id, charged to the parent."""
        parent, message, missing = self._lookup(request)
        if missing is not None:
            return missing
        assert parent is not None and message is not None
        if parent.type != ChannelType.GUILD_TEXT:
            return errors.error(
                400, errors.WRONG_CHANNEL_TYPE, "Cannot execute action on this channel type"
            )
        limited, headers = self.emu.limits.check_channel(f"POST {ONE}/threads", parent.id)
        if limited is not None:
            return limited
        body = body if isinstance(body, dict) else {}
        invalid = check_thread_name(body.get("name"))
        if invalid is not None:
            return invalid
        if message.thread_id is not None:
            return errors.error(
                400,
                errors.THREAD_ALREADY_EXISTS,
                "A thread has already been created for this message",
            )
        thread = self.emu.world.add_thread(parent, message.id, str(body["name"]), self.emu.bot)
        thread.auto_archive_duration = int(body.get("auto_archive_duration") or 1440)
        await self.emu.announce_thread(thread)
        return json_response(payloads.thread(thread), status=201, headers=headers)

    async def typing(self, request: web.Request, body: Any) -> web.StreamResponse:
        channel = self._channel(request)
        if channel is None:
            return errors.unknown_channel()
        limited, headers = self.emu.limits.check_channel(TYPING, channel.id)
        if limited is not None:
            return limited
        return web.Response(status=204, headers=headers)

    async def add_reaction(self, request: web.Request, body: Any) -> web.StreamResponse:
        _, message, missing = self._lookup(request)
        if missing is not None:
            return missing
        assert message is not None
        emoji = request.match_info["emoji"]
        if emoji not in message.reactions:
            message.reactions[emoji] = 1
            await self.emu.announce_reaction(message, emoji)
        return web.Response(status=204)

    async def remove_reaction(self, request: web.Request, body: Any) -> web.StreamResponse:
        _, message, missing = self._lookup(request)
        if missing is not None:
            return missing
        assert message is not None
        message.reactions.pop(request.match_info["emoji"], None)
        return web.Response(status=204)

    def _channel(self, request: web.Request) -> Channel | None:
        return self.emu.world.channels.get(_int(request.match_info["channel_id"], 0))

    def _lookup(
        self, request: web.Request
    ) -> tuple[Channel | None, Message | None, web.Response | None]:
        """The path's channel and message, or the 404 Discord would answer."""
        channel = self._channel(request)
        if channel is None:
            return None, None, errors.unknown_channel()
        message = self.emu.world.messages.get(_int(request.match_info["message_id"], 0))
        if message is None or message.channel_id != channel.id:
            return channel, None, errors.unknown_message()
        return channel, message, None

    def _out(self, message: Message) -> dict[str, Any]:
        return payloads.message(self.emu.world, message, gateway=False)

    def _same_nonce(self, channel: Channel, body: dict[str, Any]) -> Message | None:
        """With `enforce_nonce`, a nonce the bot already used here returns that message."""
        nonce = body.get("nonce")
        if not body.get("enforce_nonce") or nonce is None:
            return None
        for message in self.emu.world.messages_in(channel.id):
            if message.nonce == nonce and message.author.id == self.emu.bot_id:
                return message
        return None

    def _reference(
        self, channel: Channel, raw: Any
    ) -> tuple[dict[str, Any] | None, web.Response | None]:
        if not isinstance(raw, dict) or raw.get("message_id") is None:
            return None, None
        target = self.emu.world.messages.get(_int(raw["message_id"], 0))
        if target is None:
            if raw.get("fail_if_not_exists", True):
                return None, errors.form_error(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            return None, None
        return self.emu.reference(self.emu.world.channels[target.channel_id], target.id), None

    def _attachments(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        made = []
        for file in body.get("_files", []):
            aid = self.emu.world.ids.next()
            url = f"{self.emu.url}/attachments/{aid}/{file['filename']}"
            made.append(
                {
                    "id": str(aid),
                    "filename": file["filename"],
                    "size": file["size"],
                    "url": url,
                    "proxy_url": url,
                }
            )
        return made

    def _kept_attachments(self, message: Message, body: dict[str, Any]) -> list[dict[str, Any]]:
        if "attachments" not in body:
            return message.attachments + self._attachments(body)
        keep = {str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)}
        return [a for a in message.attachments if a["id"] in keep] + self._attachments(body)


SUPPRESS_EMBEDS = 1 << 2
"""Message flag: no link previews (https://discord.com/developers/docs/resources/message)."""


def edited_flags(current: int, sent: int) -> int:
    """An edit's `flags`: "only SUPPRESS_EMBEDS can currently be set/unset" (Edit Message,
    https://discord.com/developers/docs/resources/message#edit-message); the rest stay."""
    return (current & ~SUPPRESS_EMBEDS) | (sent & SUPPRESS_EMBEDS)


def _embeds(raw: Any) -> list[dict[str, Any]]:
    return [{"type": "rich", **e} for e in raw or [] if isinstance(e, dict)]


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
