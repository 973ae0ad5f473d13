"""What ends a reply that would hold its thread too long: time, silence, or size.

Keep-alive comments never reach the watchdog (only text does), so a provider that only keeps
the connection open is cut at the no-new-text deadline like one that went quiet.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bridge.config import Settings

NOTICES = {
    "time": "⏱️ The answer took too long and was cut here.",
    "idle": "⏱️ The provider stopped sending text; the answer was cut here.",
    "size": "✂️ The answer reached its maximum length and was cut here.",
}


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """Per-reply deadlines (seconds), size cap (characters) and provider wait budget."""

    total: float = 600.0
    idle: float = 120.0
    max_chars: int = 40_000
    wait_budget: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplyLimits:
        return cls(
            total=settings.bridge_reply_timeout_seconds,
            idle=settings.bridge_idle_timeout_seconds,
            max_chars=settings.bridge_max_reply_chars,
            wait_budget=settings.bridge_wait_budget_seconds,
        )


class Watchdog:
    """Watches one reply; `expired()` returns the reason once a limit is passed."""

    def __init__(self, limits: ReplyLimits) -> None:
        self._limits = limits
        self._started = self._last_text = time.monotonic()
        self._size = 0
        self._over = asyncio.Event()
        self._reason = ""

    def room(self) -> int:
        """Characters the reply may still grow by."""
        return max(0, self._limits.max_chars - self._size)

    def text(self, chars: int) -> None:
        """New text arrived (all of it counts, even the part past the cap)."""
        self._last_text = time.monotonic()
        self._size += chars
        if self._size > self._limits.max_chars and not self._reason:
            self._reason = "size"
            self._over.set()

    async def expired(self) -> str:
        """Wait until a limit is passed; return its reason (a key of `NOTICES`)."""
        while True:
            now = time.monotonic()
            total_left = self._started + self._limits.total - now
            idle_left = self._last_text + self._limits.idle - now
            if total_left <= 0:
                return "time"
            if idle_left <= 0:
                return "idle"
            try:
                await asyncio.wait_for(self._over.wait(), timeout=min(total_left, idle_left))
                return self._reason
            except TimeoutError:
                continue
