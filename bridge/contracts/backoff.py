"""How long to wait before trying again: one exponential schedule and one jitter for every
retry loop of the core and its plugins, so no two loops grow or spread their waits apart."""

from __future__ import annotations

import math
import random

SPREAD = 1 / 3
"""How much `jitter` lengthens a wait at most, as a share of it."""


def exponential(attempt: int, *, base: float, cap: float = math.inf, factor: float = 2.0) -> float:
    """The wait before retry number `attempt` (0 for the first retry): `base`, multiplied by
    `factor` per attempt since, never more than `cap` (and never an overflow, however many)."""
    try:
        wait = base * factor ** max(attempt, 0)
    except OverflowError:
        return cap
    return min(cap, wait)


def jitter(wait: float, spread: float = SPREAD) -> float:
    """`wait` lengthened by up to `spread` of itself at random, so callers refused together
    (one busy scope, one outage) do not all ask again at the same moment."""
    return wait * (1.0 + random.random() * spread)


def jitter_within(wait: float, extra: float) -> float:
    """`wait` lengthened by up to `extra` seconds at random: for a wait that is exact (a slot
    frees then), a share of it would delay the whole burst waiting for that moment."""
    return wait + random.random() * extra


def backoff(attempt: int, *, base: float, cap: float = math.inf, spread: float = SPREAD) -> float:
    """`exponential`, then `jitter`: a retry's wait when many may be retrying together."""
    return jitter(exponential(attempt, base=base, cap=cap), spread)
