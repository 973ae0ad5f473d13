"""Block Kit button presses (`block_actions`), delivered as Slack delivers them.

Slack's reference (docs.slack.dev/reference/interaction-payloads/block_actions-payload): the
payload has `type: "block_actions"`, `user`, `team`, `api_app_id`, `token`, `container`
(`type: "message"`, `message_ts`, `channel_id`), `trigger_id`, `channel`, the `message`, a
`response_url` and `actions` (`action_id`, `block_id`, `value`, `type`, `action_ts`). In Socket
Mode it arrives in an envelope of type `interactive`; over HTTP it is a form POST to the
request URL whose one field `payload` holds the JSON, signed like events.

Buttons are found in `actions` blocks and, for the `feedback_buttons` element, in
`context_actions` blocks (docs.slack.dev/reference/block-kit/blocks/context-actions-block): a
press names which of its `positive_button` / `negative_button` was pressed, and the action
carries that button's `value` with `type: "feedback_buttons"` (bolt-js `FeedbackButtonsAction`).
The payload's `response_url` takes JSON messages like a command's
(docs.slack.dev/interactivity/handling-user-interaction: `response_type` "ephemeral" shows the
message to the presser alone; `replace_original` false leaves the pressed message as it is).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from emulators.slack.state import Message

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator


BUTTON_BLOCKS = ("actions", "context_actions")


def find_action(message: Message, action_id: str) -> tuple[str, dict[str, Any]] | None:
    """The (block_id, element) of the button `action_id` the message shows, if any."""
    for block in message.blocks or []:
        if not isinstance(block, dict) or block.get("type") not in BUTTON_BLOCKS:
            continue
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    return None


def _pressed(element: dict[str, Any], choice: str) -> dict[str, Any] | None:
    """The part of `element` pressed: the element itself, or a feedback element's
    `<choice>_button` (None when `choice` names no button it has)."""
    if element.get("type") != "feedback_buttons":
        return element
    button = element.get(f"{choice}_button")
    return button if isinstance(button, dict) else None


def block_actions(
    emu: SlackEmulator, message: Message, action_id: str, user: str, choice: str = "positive"
) -> dict[str, Any] | None:
    """The payload of `user` pressing button `action_id` on `message` (of a feedback element,
    its `choice` button: "positive" or "negative"), or None if the message shows no such
    button (nothing to press)."""
    found = find_action(message, action_id)
    button = None if found is None else _pressed(found[1], choice)
    if found is None or button is None:
        return None
    block_id, element = found
    hook = secrets.token_hex(8)
    emu.command_hooks.add(hook)
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
        "response_url": f"{emu.url}/actions/{hook}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": button.get("text"),
                "value": button.get("value"),
                "style": element.get("style"),
                "type": str(element.get("type") or "button"),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
