"""Slack's AI-app surface ("Agents & AI Apps"): assistant threads in the app's DM, their title,
suggested prompts and status line, and the events that open and move them.

Sources (Slack's method and event references, docs.slack.dev):
- `assistant_thread_started` (reference/events/assistant_thread_started): sent when a person
  opens the container; `assistant_thread` holds `user_id`, `channel_id` (the DM), `thread_ts`
  and `context` (the channel being viewed: `channel_id`, `team_id`, `enterprise_id`).
  `assistant_thread_context_changed` carries the same shape when they move around Slack.
- `assistant.threads.setStatus` (reference/methods/assistant.threads.setStatus): `channel_id`,
  `thread_ts`, `status` required; `loading_messages` at most 10. "The status will be
  automatically cleared when the app sends a reply. Sending an empty string in the status field
  will also clear the status indicator"; "a two minute timeout applies". Special rate limit:
  about one a second per channel, as chat.postMessage (java-slack-sdk's
  `SpecialTier_assistant_threads_setStatus`: "the similar tier with chat.postMessage API").
  Accepts `chat:write` or `assistant:write` (changelog 2026-03-05), so channels' threads too.
- `assistant.threads.setTitle` (…/assistant.threads.setTitle): `channel_id`, `thread_ts`,
  `title` required; Tier 4; `assistant:write`; the thread root shows the title.
- `assistant.threads.setSuggestedPrompts` (…/assistant.threads.setSuggestedPrompts):
  `channel_id`, `prompts` required ("up to four", each with `title` and `message`), `thread_ts`
  and `title` optional; Tier 4; `assistant:write`.
Errors: `channel_not_found`, `invalid_thread_ts` ("Thread not found"), `missing_scope`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulators.slack.args import ApiError, json_list, required, text_arg
from emulators.slack.state import Message

if TYPE_CHECKING:
    from emulators.slack.emulator import SlackEmulator

MAX_PROMPTS = 4
MAX_LOADING_MESSAGES = 10
STATUS_TIMEOUT = 120.0
"""setStatus: "A two minute timeout applies" when no message is sent."""
ASSISTANT_SCOPE = "assistant:write"


@dataclass
class AssistantThread:
    """One assistant thread: who opened it, what it shows, and every change in order.

    history: ("status", text) for each setStatus (the empty text clears), ("reply", ts) for each
    bot message in the thread, ("cleared", ts) when that reply cleared a shown status,
    ("title", text) and ("prompts", titles joined by "|"), in the order Slack saw them.
    """

    channel: str
    thread_ts: str
    user: str
    context: dict[str, Any]
    title: str = ""
    prompts: list[dict[str, str]] = field(default_factory=list)
    prompts_title: str | None = None
    status: str = ""
    status_at: float = 0.0
    loading_messages: list[str] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)
    assistant: bool = True
    """False: a channel thread given a status only (setStatus works there with chat:write)."""

    @property
    def shown_status(self) -> str:
        """The status line a person sees now (gone after the two-minute timeout)."""
        if self.status and time.monotonic() - self.status_at < STATUS_TIMEOUT:
            return self.status
        return ""

    def statuses(self) -> list[str]:
        """Every status set, in order (the empty ones clear)."""
        return [value for kind, value in self.history if kind == "status"]


def open_thread(
    emu: SlackEmulator, user: str, channel: str, context_channel: str | None
) -> AssistantThread:
    """A person opens the container: the thread root appears in their DM with the app."""
    emu.workspace.channel_types[channel] = "im"
    emu.workspace.join(channel, user, emu.bot_user_id)
    root = emu.workspace.add(
        Message(channel=channel, ts=emu.workspace.next_ts(), user=user, text="New chat")
    )
    root.thread_ts = root.ts
    context = {"channel_id": context_channel, "team_id": emu.team_id, "enterprise_id": None}
    if context_channel is None:
        context = {}
    thread = AssistantThread(channel, root.ts, user, context)
    emu.assistant_threads[(channel, root.ts)] = thread
    return thread


def thread_event(kind: str, thread: AssistantThread) -> dict[str, Any]:
    """`assistant_thread_started` or `assistant_thread_context_changed` for `thread`."""
    return {
        "type": kind,
        "assistant_thread": {
            "user_id": thread.user,
            "context": dict(thread.context),
            "channel_id": thread.channel,
            "thread_ts": thread.thread_ts,
        },
        "event_ts": f"{time.time():.6f}",
    }


def replied(emu: SlackEmulator, message: Message) -> None:
    """A bot message in an assistant thread clears its status, as Slack does."""
    thread = emu.assistant_threads.get((message.channel, message.thread_ts or ""))
    if thread is None:
        return
    thread.history.append(("reply", message.ts))
    if thread.shown_status:
        thread.history.append(("cleared", message.ts))
    thread.status = ""
    thread.loading_messages = []


def _thread(emu: SlackEmulator, args: dict[str, Any], *, assistant: bool) -> AssistantThread:
    """The thread named by `channel_id` and `thread_ts`; `assistant`: it must be one."""
    channel = required(args, "channel_id", "channel_not_found")
    if channel not in emu.workspace.channels:
        raise ApiError("channel_not_found")
    thread_ts = required(args, "thread_ts", "invalid_thread_ts")
    found = emu.assistant_threads.get((channel, thread_ts))
    if found is not None and (found.assistant or not assistant):
        return found
    root = emu.workspace.find(channel, thread_ts)
    if assistant or root is None:
        raise ApiError("invalid_thread_ts")
    thread = AssistantThread(channel, thread_ts, root.user, {}, assistant=False)
    emu.assistant_threads[(channel, thread_ts)] = thread
    return thread


def _require_scope(emu: SlackEmulator, *accepted: str) -> None:
    if not any(scope in emu.bot_scopes for scope in accepted):
        raise ApiError("missing_scope", needed=accepted[0], provided=",".join(emu.bot_scopes))


def set_status(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    _require_scope(emu, "chat:write", ASSISTANT_SCOPE)
    thread = _thread(emu, args, assistant=False)
    status = args.get("status")
    if not isinstance(status, str):
        raise ApiError("invalid_arguments")
    loading = json_list(args, "loading_messages") or []
    if len(loading) > MAX_LOADING_MESSAGES:
        raise ApiError("invalid_arguments")
    thread.status, thread.status_at = status, time.monotonic()
    thread.loading_messages = [str(m) for m in loading]
    thread.history.append(("status", status))
    emu.statuses.setdefault((thread.channel, thread.thread_ts), []).append(status)
    return {}


def set_title(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    _require_scope(emu, ASSISTANT_SCOPE)
    thread = _thread(emu, args, assistant=True)
    thread.title = required(args, "title")
    thread.history.append(("title", thread.title))
    return {}


def set_suggested_prompts(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    _require_scope(emu, ASSISTANT_SCOPE)
    thread = _thread(emu, args, assistant=True)
    prompts = json_list(args, "prompts")
    if not prompts or len(prompts) > MAX_PROMPTS:
        raise ApiError("invalid_arguments")
    kept: list[dict[str, str]] = []
    for prompt in prompts:
        if not isinstance(prompt, dict) or not prompt.get("title") or not prompt.get("message"):
            raise ApiError("invalid_arguments")
        kept.append({"title": str(prompt["title"]), "message": str(prompt["message"])})
    thread.prompts = kept
    thread.prompts_title = text_arg(args, "title")
    thread.history.append(("prompts", "|".join(p["title"] for p in kept)))
    return {}
