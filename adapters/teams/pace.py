"""Teams' documented limits, kept as each request of the connector's session leaves.

A reply's writes take their permits in the shared budget before they are made, but Teams counts
requests by arrival, and a busy loop can send granted requests late and bunched. So the
session's aiohttp trace holds every Bot Connector call to its conversation's windows and the
app's by when it can have arrived (`bridge.contracts.toolkit.arrival`). A call the surface makes
holds its permit already (`bridge.contracts.writing`, with the write's priority; so do a
notice's post, by `Talk`, and a deleted message, by the surface); any other (a call of the
future) takes its permit in the shared budget as it leaves, so no part of a window is left
spare for it, and ends it with its answer. The write fence is checked last, once the call is
let go.

A Bot Connector call is one whose path has `/v3/` after the service URL's own path; the token,
OpenID metadata and key requests the session also makes go to Entra ID and the Bot Framework's
login host and are not bot API calls, so they pass untouched. The conversation is the path's
segment after `/v3/conversations/`, a channel thread's (`19:…@thread.tacv2;messageid=…`)
counted on its channel, as Teams counts it.
"""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import TraceConfig
from yarl import URL

from adapters.teams import limits
from bridge.contracts import Allowance, Grant, Permits, Priority, fencing
from bridge.contracts.toolkit import arrival
from bridge.contracts.toolkit.arrival import Scope

THREAD_MARK = ";messageid="


def conversation_of(url: URL) -> str | None:
    """The conversation a Bot Connector call counts on ("" for a call about none, such as
    creating one), or None when `url` is no Bot Connector call."""
    parts = url.raw_path.split("/")
    if "v3" not in parts:
        return None
    rest = parts[parts.index("v3") + 1 :]
    if len(rest) < 2 or rest[0] != "conversations" or not rest[1]:
        return ""
    return unquote(rest[1]).partition(THREAD_MARK)[0]


def pace_requests(
    trace: TraceConfig, budget: Permits, tenant: str, app: Allowance, per_second: float
) -> TraceConfig:
    """Make `trace` hold each Bot Connector call to its conversation's and the app's windows by
    when it can have arrived, after a permit in the shared `budget` for a call made outside a
    reply's write."""
    app_only = (limits.app_window(per_second),)

    def scopes(_: str, url: URL) -> tuple[Scope, ...]:
        conversation = conversation_of(url)
        if conversation is None:
            return ()
        return limits.arrival(conversation, per_second) if conversation else app_only

    async def permit(_: str, url: URL, priority: Priority, grant: Grant) -> None:
        conversation = conversation_of(url)
        shared = limits.conversation(tenant, conversation) if conversation else ()
        await budget.acquire((*shared, app), priority=priority, grant=grant)

    return arrival.pace_requests(trace, scopes, permit, check=fencing.check)
