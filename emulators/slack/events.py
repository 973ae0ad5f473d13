"""The Events API payloads Slack would send: user messages, mentions and the bot's own echoes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from emulators.slack.state import Message, Workspace


def event_callback(
    event: dict[str, Any],
    event_id: str,
    *,
    team_id: str,
    app_id: str,
    bot_user_id: str,
    verification_token: str,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """The `event_callback` body that wraps `event` (HTTP body, or a Socket Mode payload).

    In an Enterprise Grid org the wrapper and its authorization also name the org
    (`enterprise_id`, https://api.slack.com/apis/events-api#callback-field)."""
    return {
        "token": verification_token,
        "team_id": team_id,
        **({"enterprise_id": enterprise_id} if enterprise_id else {}),
        "context_team_id": team_id,
        "context_enterprise_id": enterprise_id,
        "api_app_id": app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to what a person types."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def user_events(
    message: Message, workspace: Workspace, team_id: str, mention: str | None
) -> list[dict[str, Any]]:
    """What Slack sends for a person's post: `app_mention` (if `mention` is in a non-DM text)
    and always a `message` event with `channel_type`."""
    common: dict[str, Any] = {
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "channel": message.channel,
        "event_ts": message.ts,
        "client_msg_id": message.client_msg_id,
        "team": team_id,
        "blocks": message.blocks or rich_text(message.text),
    }
    if message.is_reply:
        common["thread_ts"] = message.thread_ts
        parent = workspace.find(message.channel, message.thread_ts or "")
        if parent is not None:
            common["parent_user_id"] = parent.user
    channel_type = workspace.channel_type(message.channel)
    events: list[dict[str, Any]] = []
    if mention is not None and mention in message.text and channel_type != "im":
        events.append({"type": "app_mention", **common})
    events.append({"type": "message", **common, "channel_type": channel_type})
    return events


def posted_event(
    message_obj: dict[str, Any], channel: str, channel_type: str, legacy_subtype: bool
) -> dict[str, Any]:
    """The `message` event a bot's own post echoes (bot_id set; no subtype for modern apps)."""
    event: dict[str, Any] = {
        **message_obj,
        "channel": channel,
        "event_ts": message_obj["ts"],
        "channel_type": channel_type,
    }
    if legacy_subtype:
        event["subtype"] = "bot_message"
    return event


def changed_event(
    previous: dict[str, Any], current: dict[str, Any], channel: str, channel_type: str, ts: str
) -> dict[str, Any]:
    """The `message_changed` event every edit echoes."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": current,
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def deleted_event(
    previous: dict[str, Any], channel: str, channel_type: str, deleted_ts: str, ts: str
) -> dict[str, Any]:
    """The `message_deleted` event a deletion sends (hidden, naming the deleted `ts`)."""
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "ts": ts,
        "deleted_ts": deleted_ts,
        "event_ts": ts,
        "previous_message": previous,
        "channel_type": channel_type,
    }
