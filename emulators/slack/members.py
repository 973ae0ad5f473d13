"""`conversations.members`, as Slack's method reference describes it
(https://docs.slack.dev/reference/methods/conversations.members).

"Returns a list of user IDs belonging to the members in a conversation", paged by cursor:
`limit` (default 100; "Fewer than the requested number of items may be returned, even if the end
of the users list hasn't been reached"), `response_metadata.next_cursor` ("" on the last page).
The scope needed depends on the conversation's type ("a corresponding channels: scope is
required when working with public channels, groups: for private channels, also the same rules
are applied for im: and mpim:"); a token without it gets `missing_scope` with `needed` and
`provided`. Errors: `channel_not_found` (also for a private conversation the app is not in: Slack
does not show it), `invalid_cursor`, `invalid_limit`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from emulators.slack.args import ApiError, required, text_arg

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
READ_SCOPES = {
    "channel": "channels:read",
    "group": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}


def conversations_members(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    channel = required(args, "channel", "channel_not_found")
    members = _visible_members(emu, channel)
    kind = emu.workspace.channel_type(channel)
    needed = READ_SCOPES.get(kind, "channels:read")
    if needed not in emu.bot_scopes:
        raise ApiError("missing_scope", needed=needed, provided=",".join(emu.bot_scopes))
    limit = _limit(args)
    if emu.members_page_size is not None:
        limit = min(limit, emu.members_page_size)
    start = _start(text_arg(args, "cursor"), members)
    page = members[start : start + limit]
    rest = members[start + limit :]
    return {"members": page, "response_metadata": {"next_cursor": _cursor(rest[0]) if rest else ""}}


def _visible_members(emu: SlackEmulator, channel: str) -> list[str]:
    """The conversation's members; a private conversation the bot is not in is not found."""
    members = emu.workspace.members.get(channel)
    if members is None and channel not in emu.workspace.channels:
        raise ApiError("channel_not_found")
    members = list(members or [])
    public = emu.workspace.channel_type(channel) == "channel"
    if not public and emu.bot_user_id not in members:
        raise ApiError("channel_not_found")
    return members


def _limit(args: dict[str, Any]) -> int:
    raw = text_arg(args, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise ApiError("invalid_limit") from exc
    if limit < 1:
        raise ApiError("invalid_limit")
    return min(limit, MAX_LIMIT)


def _cursor(user: str) -> str:
    """An opaque cursor naming the next page's first member, like Slack's own
    (`dXNlcjpVMDYxTkZUVDI=` is base64 of `user:U061FTT2`)."""
    return base64.b64encode(f"user:{user}".encode()).decode()


def _start(cursor: str | None, members: list[str]) -> int:
    if cursor is None:
        return 0
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError("invalid_cursor") from exc
    user = decoded.removeprefix("user:")
    if not decoded.startswith("user:") or user not in members:
        raise ApiError("invalid_cursor")
    return members.index(user)
