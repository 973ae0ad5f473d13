"""Waits that a provider or platform asks for, capped and charged to the reply's budget.

A `Retry-After: inf`, a negative or NaN hint must never hold a thread: every asked wait is
clamped to 0–30 s, and all waits of one reply draw on one budget. The budget travels with the
reply's task as a context variable, so providers need no new argument to honour it.
"""

from __future__ import annotations

import asyncio
import math
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_WAIT = 30.0


class WaitBudgetSpent(Exception):
    """The reply has already waited as long as it may; give up instead of waiting again."""


def capped_wait(value: object, default: float = 1.0) -> float:
    """`value` (seconds, or a Retry-After header: seconds or an HTTP date) as seconds within
    0–30; `default` if unreadable."""
    try:
        seconds = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        seconds = _until_date(str(value))
    if isinstance(value, bool) or math.isnan(seconds):
        seconds = default
    return min(MAX_WAIT, max(0.0, seconds))


def _until_date(value: str) -> float:
    """Seconds from now until an HTTP date (RFC 9110 allows `Retry-After: <http-date>`)."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return math.nan
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


class WaitBudget:
    """The seconds one reply may still spend waiting on what providers and platforms ask."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def charge(self, seconds: float) -> float:
        """Take `seconds` from the budget; raise `WaitBudgetSpent` if it cannot cover them."""
        if seconds > self.left:
            raise WaitBudgetSpent(f"asked to wait {seconds:.1f}s with {self.left:.1f}s left")
        self.left -= seconds
        return seconds


_current: ContextVar[WaitBudget | None] = ContextVar("wait_budget", default=None)


def use_budget(budget: WaitBudget) -> None:
    """Make `budget` the one every asked wait in this task (and tasks it starts) draws on."""
    _current.set(budget)


async def asked_wait(value: object, default: float = 1.0) -> float:
    """Sleep for what was asked, capped, and charged to the current reply's budget."""
    seconds = capped_wait(value, default)
    budget = _current.get()
    if budget is not None:
        budget.charge(seconds)
    await asyncio.sleep(seconds)
    return seconds
