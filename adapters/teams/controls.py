"""The stop control on a Teams reply in a channel or group chat: an Adaptive Card with a Stop
button under the text while the reply streams; the final write (a PUT of the whole activity)
sends no attachments, so the button is gone when the reply ends.

A press comes back to whichever replica Teams posts it to (…/task-modules-and-cards/cards/
cards-actions): `Action.Submit` as a `message` activity whose `value` is the button's data,
`Action.Execute` as an `invoke` named `adaptiveCard/action` with `value.action.verb`; both name
the card's message in `replyToId`. That replica publishes the stop to the one streaming the
reply. An `invoke` needs an invoke response (…/universal-actions-for-adaptive-cards/
work-with-universal-actions-for-adaptive-cards): 200 with a message for the user.
Personal chats stream with Teams' own Stop button instead.
"""

from __future__ import annotations

from typing import Any

STOP = "threadbridge:stop"
CARD = "application/vnd.microsoft.card.adaptive"
STOP_CARD: dict[str, Any] = {
    "contentType": CARD,
    "content": {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [],
        "actions": [{"type": "Action.Submit", "title": "Stop", "data": {"action": STOP}}],
    },
}
INVOKE = "adaptiveCard/action"


def stop_press(activity: dict[str, Any]) -> str | None:
    """The card message whose Stop button `activity` presses, or None if it is no such press."""
    value = activity.get("value")
    if not isinstance(value, dict):
        return None
    if activity.get("type") == "invoke":
        if activity.get("name") != INVOKE:
            return None
        action = value.get("action")
        pressed = isinstance(action, dict) and action.get("verb") == STOP
    else:
        pressed = activity.get("type") == "message" and value.get("action") == STOP
    reply_to = activity.get("replyToId")
    return str(reply_to) if pressed and reply_to else None


def invoke_answer(stopped: bool) -> dict[str, Any]:
    """The invoke response body for an `Action.Execute` press."""
    text = "Stopped." if stopped else "That reply has already finished."
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}
