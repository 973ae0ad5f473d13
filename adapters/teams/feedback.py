"""Thumbs up/down under a Teams reply: Teams' own feedback loop.

The reply's last message carries `channelData.feedbackLoop = {"type": "default"}` on its final
write (Teams SDK `FeedbackLoop`, serialized to `channelData.feedbackLoop`; the older boolean
`feedbackLoopEnabled` must not be set beside it: Teams rejects an activity with both), and
Teams draws the like/dislike buttons and the "what did you like?" box itself. A press arrives as
an `invoke` named `message/submitAction` with `value.actionName == "feedback"`,
`value.actionValue.reaction` `like` or `dislike` (and the text typed, `feedback`) and
`replyToId` the bot message (…/bots/how-to/bot-messages-ai-generated-content, "Feedback
buttons"; the Agents SDK's `FeedbackLoopData`). It is authenticated like every activity and
answered with a bare 200 invoke response: Teams thanks the person itself, so the core's text
is only logged. The press names no reply of ours: the core finds it from the bot message.
"""

from __future__ import annotations

from typing import Any

from bridge.contracts import ThreadKey
from bridge.contracts.feedback import Press, Vote

SUBMIT_ACTION = "message/submitAction"
FEEDBACK_LOOP: dict[str, Any] = {"feedbackLoop": {"type": "default"}}
"""The `channelData` of a rated reply's final write."""
_VOTES = {"like": Vote.UP, "dislike": Vote.DOWN}


def is_feedback(activity: dict[str, Any]) -> bool:
    """Whether `activity` is a press of the feedback loop's buttons (well formed or not)."""
    value = activity.get("value")
    return (
        activity.get("type") == "invoke"
        and activity.get("name") == SUBMIT_ACTION
        and isinstance(value, dict)
        and value.get("actionName") == "feedback"
    )


def read_press(activity: dict[str, Any], tenant: str, base: str, root: str) -> Press | None:
    """The press `activity` makes on the bot message it replies to, or None if it names no
    message or no known reaction. The thread is the one the conversation id names."""
    action = (activity.get("value") or {}).get("actionValue")
    vote = _VOTES.get(str(action.get("reaction") or "")) if isinstance(action, dict) else None
    message = str(activity.get("replyToId") or "")
    user = str((activity.get("from") or {}).get("id") or "")
    if vote is None or not message or not tenant or not base:
        return None
    kind = str((activity.get("conversation") or {}).get("conversationType") or "")
    thread = (
        None if kind == "channel" and not root else ThreadKey("teams", tenant, base, root or base)
    )
    locale = str(activity.get("locale") or "") or None
    return Press("teams", tenant, base, message, "", user, vote, thread, locale)
