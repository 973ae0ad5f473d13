"""The stop control on a Slack reply: a Block Kit button under the text while the reply runs.

A message on the edit path shows its page as a `markdown` block with an `actions` block holding
the button; its final write is a lone `markdown` block (with a `text` fallback), so the button
disappears when the reply ends (an edit by `markdown_text` alone would keep the old blocks).
A native stream carries no button: Slack's own stop on a streaming message answers the next
append with `stopped_by_user`, which stops the reply the same way. A press reaches
whichever replica holds the Socket Mode link or the HTTP request, which publishes the stop to
the replica streaming the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.contracts import Core, ThreadKey

log = logging.getLogger(__name__)

STOP_ACTION = "threadbridge_stop"


def with_stop_button(text: str) -> dict[str, Any]:
    """Message arguments showing `text` with the stop button under it."""
    button = {
        "type": "button",
        "action_id": STOP_ACTION,
        "text": {"type": "plain_text", "text": "Stop", "emoji": True},
        "style": "danger",
        "value": "stop",
    }
    blocks = [
        {"type": "markdown", "text": text},
        {"type": "actions", "block_id": STOP_ACTION, "elements": [button]},
    ]
    return {"blocks": blocks}


def stop_pressed(hub: Core) -> Callable[..., Awaitable[None]]:
    """A bolt action listener: ack at once, then stop the reply the button belongs to.

    The pressed message names its thread (`thread_ts`), so a press right after the first text
    works before the reply's message index is written; the index is the fallback."""

    async def on_press(ack: Callable[[], Awaitable[Any]], body: dict[str, Any]) -> None:
        await ack()
        team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
        container = body.get("container") or {}
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        if not ts:
            return
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
        thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
        if thread_ts and channel:
            await hub.stop(ThreadKey("slack", team, channel, str(thread_ts)))
        elif not await hub.stop_by_reply("slack", team, channel, str(ts)):
            log.info("stop pressed on %s, which is no reply the bridge knows", ts)

    return on_press
