"""What the benchmark needs of a messenger, and what the emulated ones share: reading a thread's
reply off the emulator (`observe`) and describing it to the schedule (`load`).

Times are wall-clock seconds (`time.time()`), the emulators' clock for messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bench import schedule
from bridge.contracts.toolkit.split import split
from emulators.base import Emulator

FLOOR_PLACEHOLDER = "…"
"""Discord: the bridge starts a reply with typing and posts the first text as the message;
`floor.py` posts this placeholder first."""


@dataclass
class Observed:
    """One thread's reply as the messenger shows it.

    placeholder_at: the first message of the reply appeared (placeholder or text).
    first_text_at: the first write that showed reply text (not the placeholder).
    last_write_at: the last post or edit of any of the reply's messages.
    """

    posted_at: float
    text: str
    messages: int
    edits: int
    placeholder_at: float | None
    first_text_at: float | None
    last_write_at: float | None


class Messenger(Protocol):
    """What the driver needs from a platform."""

    name: str

    async def start(self, threads: int) -> None: ...

    async def stop(self) -> None: ...

    def env(self) -> dict[str, str]: ...

    def connected(self) -> bool: ...

    async def post(self, index: int) -> None: ...

    def text(self, index: int) -> str: ...

    def observe(self, index: int) -> Observed: ...

    @property
    def rate_limited(self) -> int: ...

    def best(self, loads: list[schedule.Load]) -> list[schedule.Best]:
        """The best schedule of `loads` under the limits this messenger enforces."""
        ...

    def load(
        self, index: int, posted: float, first: float, done: float, text: str
    ) -> schedule.Load:
        """Thread `index`'s reply as the schedule sees it (its pages and channel)."""
        ...


def pages(text: str, limit: int) -> int:
    return max(1, len(split(text, limit)))


@dataclass
class Shown:
    """One of the bot's messages in a thread, as a platform's emulator keeps it.

    writes: (time, text) of its post and each edit, None text meaning 'a page'.
    """

    text: str
    edits: int
    appeared_at: float
    writes: list[tuple[float, str | None]]


Emu = TypeVar("Emu", bound=Emulator)


class EmulatedMessenger(Generic[Emu]):
    """A messenger whose emulator is `emu`. A platform names its page size, the placeholder the
    bridge posts first, each thread's channel for the schedule, and the bot's messages in a
    thread (`_reply`)."""

    page: int
    placeholder = FLOOR_PLACEHOLDER

    def __init__(self, emu: Emu) -> None:
        self.emu = emu

    async def stop(self) -> None:
        await self.emu.stop()

    def channel(self, index: int) -> str:
        """Where thread `index` is written, as the schedule counts limits per channel."""
        return str(index)

    def _reply(self, index: int) -> tuple[float, list[Shown]]:
        """When thread `index`'s question was posted, and the bot's messages under it."""
        raise NotImplementedError

    def observe(self, index: int) -> Observed:
        posted_at, shown = self._reply(index)
        writes = [write for message in shown for write in message.writes]
        text_at = [at for at, text in writes if text is None or (text and text != self.placeholder)]
        return Observed(
            posted_at=posted_at,
            text="".join(m.text for m in shown),
            messages=len(shown),
            edits=sum(m.edits for m in shown),
            placeholder_at=shown[0].appeared_at if shown else None,
            first_text_at=min(text_at) if text_at else None,
            last_write_at=max((at for at, _ in writes), default=None),
        )

    def load(
        self, index: int, posted: float, first: float, done: float, text: str
    ) -> schedule.Load:
        return schedule.Load(posted, first, done, pages(text, self.page), self.channel(index))
