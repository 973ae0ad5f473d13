"""The bot's global limit, kept as each request leaves, for every request discord.py makes.

A reply's writes take their global permit in the shared budget, with their priority, before
they are made; but a permit is not yet a request: a busy event loop can hold a batch of granted
writes back and send them together with the next window's, and Discord counts when they
arrive. So the session's aiohttp trace also holds every request to the window by when it can
have arrived (`bridge.contracts.toolkit.arrival`), and a request discord.py makes on its own
(history read, a message deleted, start-up) takes its permit there, with a first text's
priority: no part of the window is left spare for them; it ends with the answer. Between
replicas the shared budget counts each permit the same way, from its grant until a window after
its request's answer (`bridge.pacing`), so the shared window is exactly Discord's second.
Interaction callbacks and follow-ups are not bound to the global limit (Discord's rate limits
reference, "Global Rate Limit"), so they pass untouched.
"""

from __future__ import annotations

from aiohttp import TraceConfig
from yarl import URL

from bridge.contracts import Allowance, Grant, Permits, Priority, fencing
from bridge.contracts.toolkit import arrival
from bridge.contracts.toolkit.arrival import Scope

__all__ = ["WINDOW", "global_scope", "pace_requests"]

WINDOW = 1.0
"""Discord's global window: a second."""
UNBOUND = ("/interactions/", "/webhooks/")
"""Paths of interaction responses and follow-ups (webhook-token routes), which the global
limit does not count."""


def global_scope(allowance: Allowance) -> Scope:
    """The global limit as this process holds it: the allowance's burst in one second."""
    return Scope("discord:global", max(1, int(allowance.rate.burst)), WINDOW)


def pace_requests(
    trace: TraceConfig, budget: Permits, allowance: Allowance, api_url: str
) -> TraceConfig:
    """Make `trace` hold each request the session sends to the API at `api_url` to the bot's
    global `allowance` in the shared `budget` (unless the write took its permit already) and
    by when it can have arrived; the write fence is checked last. The gateway's connection and
    files from the CDN are not API requests and pass untouched."""
    bound = (global_scope(allowance),)
    api = URL(api_url)

    def scopes(_: str, url: URL) -> tuple[Scope, ...]:
        on_api = url.host == api.host and url.path.startswith(api.path)
        return bound if on_api and not any(part in url.path for part in UNBOUND) else ()

    async def permit(_: str, __: URL, priority: Priority, grant: Grant) -> None:
        await budget.acquire((allowance,), priority=priority, grant=grant)

    return arrival.pace_requests(trace, scopes, permit, check=fencing.check)
