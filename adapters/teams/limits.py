"""Teams' bot API limits as the bridge paces them: per conversation, per stream, per app.

https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit: per bot per
conversation (a 1:1 chat, a group chat, or a channel: all its threads count together),
7 operations per 1 s, 8 per 2 s, 60 per 30 s and 1,800 per hour; "all requests are subject to
the same rate limiting policy", so posts, edits, deletes and typing all count. The app may
make 50 requests per second in a tenant (older editions of the page said 30: set
TEAMS_REQUESTS_PER_SECOND). A stream in a personal chat takes about one update per second
(…/bots/streaming-ux).

Each limit is kept twice. The shared budget (a sliding log in Redis per scope, shared by every
reply and replica) grants permits by priority and counts each from its grant until a window
after its write is over (`bridge.pacing`); then this process holds each request to the
documented windows by when it can have reached Teams (`arrival`, `adapters.teams.pace`): from
its sending until a window after its answer. So neither a busy loop that sends granted requests
late and bunched nor a slow answer overfills a window, in one replica or across them, and no
margin is kept for it.
"""

from __future__ import annotations

from bridge.contracts import Allowance, EditRate, join_ids
from bridge.contracts.toolkit.arrival import Scope

CONVERSATION_WINDOWS: tuple[tuple[float, int], ...] = (
    (1.0, 7),
    (2.0, 8),
    (30.0, 60),
    (3600.0, 1800),
)
"""(seconds, requests), shortest first: scopes are asked one after the other, and a write a
later window refuses gives back what it took of the earlier ones (`bridge.pacing`). On the
30 s and hour windows interim edits also leave a slot for each reply still open there
(`bridge.pacing.LONG_WINDOW`), so a busy channel's replies can all finish."""
INTERIM_WINDOWS: tuple[tuple[float, int], ...] = ((30.0, 30), (3600.0, 900))
"""The share of the long windows interim edits may use: half. The windows are sliding, so an
interim edit granted now holds its slot for 30 s (an hour): without a cap, a busy channel's
interim edits would fill them and every first text and final after would wait for them to
expire (and at the hour's 1,800, a channel's whole budget for the hour could go to edits)."""
APP_WINDOW = 1.0
STREAM_INTERVAL = 1.5
"""A stream's updates go one per 1.5 s, the pace Microsoft recommends ("buffer the tokens … for
1.5 to two seconds"): a stream is not a scope the arrival window can see (its id is in the
body), so its half second over Teams' one is what keeps a late update apart from the next."""


def _window(seconds: float, requests: int) -> EditRate:
    return EditRate(per_second=requests / seconds, burst=float(requests), window=seconds)


def arrival(conversation_id: str, requests_per_second: float) -> tuple[Scope, ...]:
    """The documented windows one request to `conversation_id` counts on in this process: the
    conversation's and the app's (`adapters.teams.pace`)."""
    return (
        *(
            Scope(f"conversation:{conversation_id}/{int(s)}s", n, s)
            for s, n in CONVERSATION_WINDOWS
        ),
        app_window(requests_per_second),
    )


def app_window(requests_per_second: float) -> Scope:
    return Scope("app", max(1, int(requests_per_second)), APP_WINDOW)


def conversation(tenant: str, conversation_id: str) -> tuple[Allowance, ...]:
    """The scopes of one conversation (a channel, not a thread of it)."""
    return tuple(
        Allowance(
            join_ids("teams", tenant, conversation_id, f"{int(s)}s"), _window(s, n), "conversation"
        )
        for s, n in CONVERSATION_WINDOWS
    )


def interim(tenant: str, conversation_id: str) -> tuple[Allowance, ...]:
    """Scopes only interim edits count on, asked before the conversation's own."""
    return tuple(
        Allowance(
            join_ids("teams", tenant, conversation_id, f"interim{int(s)}s"),
            _window(s, n),
            "conversation-interim",
        )
        for s, n in INTERIM_WINDOWS
    )


def app(requests_per_second: float) -> Allowance:
    """The app's whole allowance: what is sent outside a reply takes its permit here too."""
    burst = max(1, int(requests_per_second))
    return Allowance("teams:app", _window(APP_WINDOW, burst), "app")


def stream(tenant: str, stream_id: str) -> Allowance:
    rate = EditRate(per_second=1 / STREAM_INTERVAL, burst=1.0, window=STREAM_INTERVAL)
    return Allowance(join_ids("teams", tenant, "stream", stream_id), rate, "stream")
