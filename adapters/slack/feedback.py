"""Thumbs up/down under a Slack reply: Block Kit's `feedback_buttons` element.

The element lives in a `context_actions` block (docs.slack.dev/reference/block-kit/blocks/
context-actions-block, …/block-elements/feedback-buttons-element: `positive_button` and
`negative_button`, each a `plain_text` text and a `value` of at most 2,000 characters). The
reply's last message gets it with its final write: on `chat.stopStream` ("blocks rendered at
the bottom of the finalized message") for a native stream, on the final `chat.update` or
`chat.postMessage` otherwise. A press arrives as `block_actions` whose action carries the
pressed button's `value`; any replica takes it, the core keeps it, and the person alone is
answered through the payload's `response_url` (an ephemeral message, not replacing the reply).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.contracts import Core, ThreadKey
from bridge.contracts.feedback import Press, Vote, control_value, read_control

log = logging.getLogger(__name__)

FEEDBACK_ACTION = "threadbridge_feedback"


def feedback_block(reply: str) -> dict[str, Any]:
    """The context actions block with the feedback buttons for the reply to post `reply`."""

    def button(emoji: str, label: str, vote: Vote) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": emoji, "emoji": True},
            "accessibility_label": label,
            "value": control_value(vote, reply),
        }

    element = {
        "type": "feedback_buttons",
        "action_id": FEEDBACK_ACTION,
        "positive_button": button("👍", "Good answer", Vote.UP),
        "negative_button": button("👎", "Bad answer", Vote.DOWN),
    }
    return {"type": "context_actions", "elements": [element]}


def feedback_pressed(core: Core) -> Callable[..., Awaitable[None]]:
    """A bolt action listener: ack at once, hand the press to the core, answer ephemerally."""

    async def on_press(
        ack: Callable[[], Awaitable[Any]],
        body: dict[str, Any],
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        press = read_press(body)
        if press is None:
            log.info("a feedback press without a reply it names was ignored")
            return
        answer = await core.feedback(press)
        try:
            await respond(text=answer, response_type="ephemeral", replace_original=False)
        except Exception as exc:
            log.info("could not answer a feedback press on %s: %s", press.message_id, exc)

    return on_press


def read_press(body: dict[str, Any]) -> Press | None:
    """The press a `block_actions` payload describes, if it is one of our feedback buttons."""
    actions = [a for a in body.get("actions") or [] if a.get("action_id") == FEEDBACK_ACTION]
    control = read_control(str(actions[0].get("value") or "")) if actions else None
    container = body.get("container") or {}
    message = body.get("message") or {}
    ts = container.get("message_ts") or message.get("ts")
    if control is None or not ts:
        return None
    team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    thread_ts = container.get("thread_ts") or message.get("thread_ts")
    thread = ThreadKey("slack", team, channel, str(thread_ts)) if thread_ts else None
    vote, reply = control
    user = str((body.get("user") or {}).get("id") or "")
    return Press("slack", team, channel, str(ts), reply, user, vote, thread)
