"""The messenger seam: one reply on one platform.

The renderer decides what text goes into which message and when; a surface only knows its
platform's API calls, limits and rate-limit scope. Message ids are kept in `messages` so a
reply record can restore a surface after a takeover and edit the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class EditRate:
    """A platform's edit allowance for one scope: `per_second` sustained, `burst` at once."""

    per_second: float
    burst: float


@dataclass(frozen=True, slots=True)
class Allowance:
    """One rate-limit scope a write counts against (a Slack workspace, a Discord channel, or
    a bot's global limit), with that scope's rate."""

    scope: str
    rate: EditRate


@runtime_checkable
class Surface(Protocol):
    """One reply's messages on a messenger.

    limit: the most characters of Markdown one message may hold.
    allowances: the rate-limit scopes every write of this reply counts against, shared by every
    reply and replica there.
    min_interval: the least seconds between two edits of one message.
    messages: the platform ids of this reply's messages, in order.
    """

    limit: int
    allowances: tuple[Allowance, ...]
    min_interval: float
    messages: list[str]

    async def start(self) -> None:
        """Show at once that a reply is coming (placeholder message, status or typing)."""

    async def write(self, index: int, text: str, *, final: bool) -> None:
        """Make message `index` show `text`: edit it if it exists, post it if it is the next."""

    async def close(self) -> None:
        """Clear any status left by `start` (typing indicators, thread status)."""


TOO_LONG = "too_long"
RETRY = "retry"
GONE = "gone"
INVALID = "invalid"
GIVE_UP = frozenset({GONE, INVALID})


class WriteRejected(Exception):
    """A messenger refused a write, classified by its adapter so the core can choose an outcome.

    kind: `too_long` (write the text in smaller pages), `retry` (try again after a capped wait),
    `gone` (no permission, archived, channel or message gone) or `invalid` (the platform refuses
    the content itself): the last two are given up with a log line and a metric.
    `code` is the platform's own error name, for the log only.
    """

    def __init__(self, kind: str, code: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {code}")
        self.kind = kind
        self.code = code
        self.retry_after = retry_after

    @property
    def give_up(self) -> bool:
        return self.kind in GIVE_UP
