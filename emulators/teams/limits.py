"""The bot API limits Teams documents, enforced when a test asks.

https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit, "Per bot per thread
limit": a conversation (1:1, a group chat, or a channel in a team: every thread of a channel
counts together) allows "Send to conversation" 7 operations per 1 s, 8 per 2 s, 60 per 30 s and
1,800 per 3,600 s; "All requests are subject to the same rate limiting policy". The global limit
per app per tenant reads 30 requests per second in older editions of the page and 50 in the
current one; the emulator takes the current 50. Over a limit: `HTTP 429 Too Many Requests`
(no Retry-After is documented: clients back off exponentially with jitter).

Streaming (…/bots/streaming-ux): "ensure that the bot sends the request at a … rate of one
request per second" per stream; faster updates "might be throttled" (429 "API calls quota
exceeded"). Counted from each accepted request's arrival.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

PER_CONVERSATION: tuple[tuple[float, int], ...] = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
PER_APP: tuple[float, int] = (1.0, 50)
STREAM_INTERVAL = 1.0


class Windows:
    """Sliding windows of accepted requests per conversation and for the app."""

    def __init__(self) -> None:
        self.enforced = False
        self.per_app = PER_APP
        self.per_conversation = PER_CONVERSATION
        self._conversations: dict[str, deque[float]] = defaultdict(deque)
        self._app: deque[float] = deque()
        self._streams: dict[str, float] = {}
        self.peak: dict[str, int] = defaultdict(int)
        """The most requests seen in any one-second window per conversation (for tests)."""

    def admit(self, conversation: str, stream: str | None = None) -> bool:
        """Count one request on `conversation` (and `stream`) if every window has room."""
        now = time.monotonic()
        seen = self._conversations[conversation]
        longest = max(window for window, _ in self.per_conversation)
        while seen and seen[0] <= now - longest:
            seen.popleft()
        while self._app and self._app[0] <= now - self.per_app[0]:
            self._app.popleft()
        if self.enforced and not self._room(seen, now):
            return False
        if self.enforced and stream is not None:
            last = self._streams.get(stream)
            if last is not None and now - last < STREAM_INTERVAL:
                return False
        if stream is not None:
            self._streams[stream] = now
        seen.append(now)
        self._app.append(now)
        recent = sum(1 for t in seen if t > now - 1.0)
        self.peak[conversation] = max(self.peak[conversation], recent)
        return True

    def _room(self, seen: deque[float], now: float) -> bool:
        window, most = self.per_app
        if len(self._app) >= most:
            return False
        for window, most in self.per_conversation:
            if sum(1 for t in seen if t > now - window) >= most:
                return False
        return True
