"""Block Kit button presses (`block_actions`), delivered as Slack delivers them.

Slack's reference (docs.slack.dev/reference/interaction-payloads/block_actions-payload): the
payload has `type: "block_actions"`, `user`, `team`, `api_app_id`, `token`, `container`
(`type: "message"`, `message_ts`, `channel_id`), `trigger_id`, `channel`, the `message`, a
`response_url` and `actions` (`action_id`, `block_id`, `value`, `type`, `action_ts`). In Socket
Mode it arrives in an envelope of type `interactive`; over HTTP it is a form POST to the
request URL whose one field `payload` holds the JSON, signed like events.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from emulators.slack.state import Message

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator


def find_action(message: Message, action_id: str) -> tuple[str, dict[str, Any]] | None:
    """The (block_id, element) of the button `action_id` the message shows, if any."""
    for block in message.blocks or []:
        if not isinstance(block, dict) or block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    return None


def block_actions(
    emu: SlackEmulator, message: Message, action_id: str, user: str
) -> dict[str, Any] | None:
    """The payload of `user` pressing button `action_id` on `message`, or None if the message
    shows no such button (nothing to press)."""
    found = find_action(message, action_id)
    if found is None:
        return None
    block_id, element = found
    return {
        "type": "block_actions",
        "user": {
            "id": user,
            "username": user.lower(),
            "name": user.lower(),
            "team_id": emu.team_id,
        },
        "api_app_id": emu.app_id,
        "token": emu.verification_token,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
            "thread_ts": message.thread_ts,
        },
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}",
        "team": {"id": emu.team_id, "domain": "emulated"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message.channel, "name": message.channel.lower()},
        "message": emu.message_object(message),
        "state": {"values": {}},
        "response_url": f"{emu.url}/actions/{secrets.token_hex(8)}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": element.get("text"),
                "value": element.get("value"),
                "style": element.get("style"),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
