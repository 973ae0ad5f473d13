"""Teams' bot API limits as the bridge paces them: per conversation, per stream, per app.

https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit: per bot per
conversation (a 1:1 chat, a group chat, or a whole channel: all its threads count together),
7 operations per 1 s, 8 per 2 s, 60 per 30 s and 1,800 per hour; "all requests are subject to
the same rate limiting policy", so posts, edits, deletes and typing all count. The app may
make 50 requests per second in a tenant (older editions of the page said 30: set
TEAMS_REQUESTS_PER_SECOND). A stream in a personal chat takes about one update per second
(…/bots/streaming-ux).

Each window is a sliding window in Redis, shared by every reply and replica, lengthened by
`TRANSIT`.
"""

from __future__ import annotations

from bridge.contracts import Allowance, EditRate, join_ids

TRANSIT = 0.5
TRANSIT_SHARE = 0.03
"""Each window is lengthened by half a second or 3 % of it, whichever is more: on a loaded
machine a request can reach Teams that much later than the one granted before it. A stream's
update then goes every 1.5 s, the pace Microsoft recommends ("buffer the tokens … for 1.5 to
two seconds")."""
CONVERSATION_WINDOWS: tuple[tuple[float, int], ...] = (
    (1.0, 7),
    (2.0, 8),
    (30.0, 60),
    (3600.0, 1800),
)
"""(seconds, requests), shortest first. Scopes are asked one after the other and a permit taken
before a later scope refuses is spent: spent in a short window it is back within a second or
two, while one spent in the 30 s or hour window would be gone for that long (a first text
retrying against a full 2 s window would burn the 30 s window's slots)."""
INTERIM_WINDOWS: tuple[tuple[float, int], ...] = ((30.0, 30), (3600.0, 900))
"""The share of the long windows interim edits may use: half. The windows are sliding, so an
interim edit granted now holds its slot for 30 s (an hour): without a cap, a busy channel's
interim edits would fill them and every first text and final after would wait for them to
expire (and at the hour's 1,800, a channel's whole budget for the hour could go to edits)."""
STREAM_INTERVAL = 1.0
APP_SPARE = 2
"""Requests per second left to what is sent outside the budgets (notices, a stop's answer)."""


def _window(seconds: float, requests: int) -> EditRate:
    window = seconds + max(TRANSIT, seconds * TRANSIT_SHARE)
    return EditRate(per_second=requests / window, burst=float(requests), window=window)


def conversation(tenant: str, conversation_id: str) -> tuple[Allowance, ...]:
    """The scopes of one conversation (a channel, not a thread of it)."""
    return tuple(
        Allowance(join_ids("teams", tenant, conversation_id, f"{int(s)}s"), _window(s, n))
        for s, n in CONVERSATION_WINDOWS
    )


def interim(tenant: str, conversation_id: str) -> tuple[Allowance, ...]:
    """Scopes only interim edits count on, asked before the conversation's own."""
    return tuple(
        Allowance(join_ids("teams", tenant, conversation_id, f"interim{int(s)}s"), _window(s, n))
        for s, n in INTERIM_WINDOWS
    )


def app(requests_per_second: float) -> Allowance:
    burst = max(1, int(requests_per_second) - APP_SPARE)
    return Allowance("teams:app", _window(1.0, burst))


def stream(tenant: str, stream_id: str) -> Allowance:
    return Allowance(join_ids("teams", tenant, "stream", stream_id), _window(STREAM_INTERVAL, 1))
