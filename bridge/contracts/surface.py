"""The messenger seam: one reply on one platform.

The renderer decides what text goes into which message and when, and takes the permits; a
surface only knows its platform's API calls, limits and rate-limit scopes. It names the ways a
write can be made (`routes`, best first, each with the scopes it counts against); the renderer
takes a permit for one of them and hands it back to `write`, which returns what it changed of
the reply's messages (`Written`) for the reply record. Message ids are kept in `messages` (and
natively streaming ones in `streaming`) so a surface restored from that record after a takeover
continues the same messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Protocol, runtime_checkable

from bridge.contracts.written import Written


@dataclass(frozen=True, slots=True)
class EditRate:
    """A platform's edit allowance for one scope: `per_second` sustained, `burst` at once.

    With `window` > 0 it is a sliding window instead: at most `burst` in any `window` seconds
    (`per_second` is then only the pace a waiter asks again at)."""

    per_second: float
    burst: float
    window: float = 0.0


@dataclass(frozen=True, slots=True)
class Allowance:
    """One rate-limit scope a write counts against (a Slack method in a workspace, a Discord
    route bucket, or a bot's global limit), with that scope's rate."""

    scope: str
    rate: EditRate
    method: str = ""
    """What the scope limits, as operators read it (a Slack method, a Discord route, Teams'
    conversation windows): the `method` label of budget waits; bounded, unlike `scope`."""


class Priority(IntEnum):
    """Who goes first on a busy scope: a reply's first text, then final text, then interim
    updates. A lower priority leaves more permits in reserve for the higher ones."""

    FIRST = 0
    FINAL = 1
    INTERIM = 2
    STATUS = 3
    """Typing indicators and thread status: only with permits no one else wants."""


_outlasting: set[asyncio.Future[Any]] = set()


async def outlast_cancel(work: Awaitable[Any]) -> None:
    """Await `work` to its end even if the caller is cancelled meanwhile (it is kept referenced
    until done, as `asyncio.shield` requires); the caller's cancellation is raised after."""
    future = asyncio.ensure_future(work)
    _outlasting.add(future)
    future.add_done_callback(_outlasting.discard)
    await asyncio.shield(future)


class Grant:
    """The shared permits one write took on scopes counted in windows. The budget counts them
    as in flight from their grant until the write is over (`writing`), then for a window from
    then, as the platform may count the write's last request until its answer; a write that
    sent no request gives them back. Entries nobody ends stop counting on their own (`pacing`).
    """

    __slots__ = ("_ends", "sent")

    def __init__(self) -> None:
        self._ends: list[Callable[[bool], Awaitable[None]]] = []
        self.sent = False
        """A request of the write was let go (the session's trace says so)."""

    def hold(self, end: Callable[[bool], Awaitable[None]]) -> None:
        """Call `end(sent)` once the write is over (the budget settles its entries there)."""
        self._ends.append(end)

    @property
    def open(self) -> bool:
        return bool(self._ends)

    async def end(self) -> None:
        """The write is over: its permits count a window from now, or not at all if it sent
        nothing. Once; permits held later are ended by the next call. A cancelled caller does
        not stop it: permits left in flight would hold their slots for a minute."""
        ends, self._ends = self._ends, []
        if ends:
            await outlast_cancel(asyncio.gather(*(end(self.sent) for end in ends)))


@dataclass(frozen=True, slots=True)
class _Write:
    priority: Priority
    grant: Grant


_writing: ContextVar[_Write | None] = ContextVar("threadbridge_write", default=None)


@asynccontextmanager
async def writing(priority: Priority, grant: Grant | None = None) -> AsyncIterator[Grant]:
    """Requests made in this block belong to a write whose shared permits were taken with
    `priority` (the renderer sets it around `Surface.write`; a surface around its own calls,
    such as typing): a plugin that holds requests back once more sends them in that order.
    The permits are `grant`'s (or the one yielded, to take them into inside the block): ended
    when the block is, whatever way it ends."""
    write = _Write(priority, grant if grant is not None else Grant())
    token = _writing.set(write)
    try:
        yield write.grant
    except BaseException:
        _writing.reset(token)
        if write.grant.open:
            await write.grant.end()
        raise
    _writing.reset(token)
    await write.grant.end()


def write_priority() -> Priority | None:
    """The priority of the write in progress, None outside one (its permits are not taken)."""
    write = _writing.get()
    return None if write is None else write.priority


def write_grant() -> Grant | None:
    """The permits of the write in progress (a permit taken again inside it joins them)."""
    write = _writing.get()
    return None if write is None else write.grant


@dataclass(frozen=True, slots=True)
class Route:
    """One way to make a write (e.g. Slack: start a stream, or post), and the scopes it uses."""

    name: str
    allowances: tuple[Allowance, ...]
    appends: bool = False
    """The message grows by appends: interim text goes as it is (a closing fence added for
    display could not be taken back)."""


class Permits(Protocol):
    """The shared edit budget as a surface sees it (`bridge.pacing.EditBudget` is the one)."""

    async def acquire(
        self,
        allowances: tuple[Allowance, ...],
        *,
        priority: Priority | None = None,
        grant: Grant | None = None,
    ) -> None:
        """Wait until a permit is free in every scope and take it; with `grant`, the permit
        counts as in flight until the grant ends (`writing`)."""

    async def pause(self, allowance: Allowance, seconds: float) -> None:
        """Empty `allowance`'s scope so no replica writes there for `seconds` (a 429 said so)."""


@runtime_checkable
class Surface(Protocol):
    """One reply's messages on a messenger.

    limit: the most characters of Markdown one message may hold.
    min_interval: the least seconds between two edits of one message.
    messages: the platform ids of this reply's messages, in order.
    streaming: the ids of messages still open as native streams (they grow by appends).
    """

    @property
    def limit(self) -> int: ...

    @property
    def min_interval(self) -> float: ...

    @property
    def messages(self) -> list[str]: ...

    @property
    def streaming(self) -> set[str]: ...

    def needs_final(self, index: int) -> bool:
        """Message `index` still needs a final write even if its text is unchanged (an open
        native stream to stop, a stop control to take away)."""

    def routes(self, index: int, text: str, *, final: bool) -> tuple[Route, ...]:
        """The ways to make message `index` show `text`, best first."""

    async def start(self) -> None:
        """Show at once that a reply is coming, where that costs no one their first text
        (typing, thread status); never a placeholder message."""

    async def write(self, index: int, text: str, *, final: bool, route: Route) -> Written:
        """Make message `index` show `text` along `route`: edit, append to or post it; return
        the messages it posted and the streams it opened or ended. An error raised after such a
        change carries it (`Changes.left_on`), so the record learns it before the next write."""

    async def close(self) -> None:
        """Clear any status left by `start` (typing indicators, thread status)."""


@runtime_checkable
class Retracts(Protocol):
    """A surface that can take back a message it posted (optional for an adapter)."""

    async def retract(self, message_id: str) -> None:
        """Delete `message_id`, posted by this reply but never recorded: the lease was lost
        meanwhile, so the replica that took the reply over posts its own and would not know
        this one (shown beside it, the text would read twice)."""


class WriteFailure(StrEnum):
    """Why a messenger refused a write, as its adapter reads the platform's error; the value
    is what logs and metrics show."""

    TOO_LONG = "too_long"
    """Write the text in smaller pages."""
    RETRY = "retry"
    """Try again after a capped wait."""
    GONE = "gone"
    """No permission, archived, channel or message gone: given up."""
    INVALID = "invalid"
    """The platform refuses the content itself: given up."""


TOO_LONG = WriteFailure.TOO_LONG
RETRY = WriteFailure.RETRY
GONE = WriteFailure.GONE
INVALID = WriteFailure.INVALID
GIVE_UP = frozenset({GONE, INVALID})


class Fenced(Exception):
    """This process may no longer write to the reply (another one took it over): stop quietly."""


class WriteRejected(Exception):
    """A messenger refused a write, classified by its adapter so the core can choose an outcome.

    kind: a `WriteFailure`; `gone` and `invalid` are given up with a log line and a metric.
    `code` is the platform's own error name, for the log only.
    """

    def __init__(self, kind: WriteFailure, code: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {code}")
        self.kind = WriteFailure(kind)
        self.code = code
        self.retry_after = retry_after

    @property
    def give_up(self) -> bool:
        return self.kind in GIVE_UP
