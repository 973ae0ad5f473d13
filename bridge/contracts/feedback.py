"""Thumbs up/down on a reply: what an adapter hands the core when a person presses one
(`Press`, to `Core.feedback`), what its controls carry (`control_value` / `read_control`),
and the optional surface member that puts the controls on a reply's last message (`Rated`).

The core decides everything else (is the thread still known, where the press is kept, what
the person is told); an adapter only translates its platform's press.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from bridge.contracts.data import ThreadKey

CONTROL_PREFIX = "tbfb"
"""What a feedback control's value starts with (`tbfb:up:<reply>`): short, so it fits
Discord's 100-character `custom_id` with any post id."""


class Vote(StrEnum):
    """Which of the two controls was pressed; the value is the metric's `outcome` label."""

    UP = "positive"
    DOWN = "negative"


@dataclass(frozen=True, slots=True)
class Press:
    """One press of a feedback control on a bot message.

    `message_id`: the bot message pressed, in `channel` of `tenant` (the core finds its thread
    from it while the reply index lives). `thread`: the thread the adapter reads from the
    press's context, used when the index has expired. `reply`: the post the reply answers, as
    the control carries it, or "" where the platform's control carries nothing of ours
    (Teams' feedback loop, a Mattermost reaction): the core finds it from the thread's reply
    records. `user`: the platform's user id (kept only as a hash).
    """

    platform: str
    tenant: str
    channel: str
    message_id: str
    reply: str
    user: str
    vote: Vote
    thread: ThreadKey | None = None
    locale: str | None = None


def control_value(vote: Vote, reply: str) -> str:
    """What a control of `vote` on the reply to post `reply` carries back when pressed."""
    return f"{CONTROL_PREFIX}:{'up' if vote is Vote.UP else 'down'}:{reply}"


def read_control(value: str) -> tuple[Vote, str] | None:
    """The vote and reply a control's value names, or None if it is no feedback control."""
    head, _, rest = value.partition(":")
    which, _, reply = rest.partition(":")
    if head != CONTROL_PREFIX or not reply or which not in ("up", "down"):
        return None
    return (Vote.UP if which == "up" else Vote.DOWN), reply


@runtime_checkable
class Rated(Protocol):
    """A surface that can show feedback controls on a reply's last message (optional)."""

    def rate(self, index: int) -> None:
        """Message `index` is the reply's last and the reply is worth rating: its final write
        carries the feedback controls, and `needs_final(index)` is true until it has."""
