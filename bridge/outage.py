"""Redis outages, logged once per outage for the whole process rather than once per event."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class Outage:
    """Shared by everything that talks to Redis: the first failure logs, recovery logs once."""

    def __init__(self) -> None:
        self._since: float | None = None

    def failed(self, exc: Exception) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.error(
                "Redis is unreachable (%s); posts are refused for retry until it is back", exc
            )

    def recovered(self) -> None:
        if self._since is not None:
            log.warning("Redis is back after %.1fs", time.monotonic() - self._since)
            self._since = None
