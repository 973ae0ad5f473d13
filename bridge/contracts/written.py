"""What one write changed of a reply's messages, as the surface reports it.

The reply record must hold every message a reply posted, and which of them are still open
native streams, before the next write leaves (a takeover continues the same messages). A
surface says so itself: `Surface.write` returns a `Written`, and a write that fails after it
changed something (a stream ended, then the edit that was to finish it refused) leaves that
change on its error, for `Written.of` to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

_ATTRIBUTE = "threadbridge_written"
E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class Written:
    """posted: the ids of messages the write posted, in order; opened: those of them that are
    open native streams; closed: streams it ended (they are ordinary messages now)."""

    posted: tuple[str, ...] = ()
    opened: frozenset[str] = frozenset()
    closed: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.posted or self.closed)

    @staticmethod
    def of(error: BaseException) -> Written:
        """What a write that raised `error` had changed before it (nothing if not noted)."""
        written = getattr(error, _ATTRIBUTE, None)
        return written if isinstance(written, Written) else NOTHING


NOTHING = Written()


@dataclass(slots=True)
class Changes:
    """A surface's note of one write's changes, made as each of its calls succeeds."""

    _posted: list[str] = field(default_factory=list)
    _opened: set[str] = field(default_factory=set)
    _closed: set[str] = field(default_factory=set)

    def posted(self, message: str, *, stream: bool = False) -> None:
        self._posted.append(message)
        if stream:
            self._opened.add(message)

    def closed(self, message: str) -> None:
        if message in self._opened:
            self._opened.discard(message)
        else:
            self._closed.add(message)

    def written(self) -> Written:
        return Written(tuple(self._posted), frozenset(self._opened), frozenset(self._closed))

    def left_on(self, error: E) -> E:
        """`error`, carrying what was written before it (see `Written.of`)."""
        setattr(error, _ATTRIBUTE, self.written())
        return error
