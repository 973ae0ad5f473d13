"""The little the adapter keeps, in the core's plugin state (under the post's team, so it goes
with the tenant): per channel, the newest post seen, so posts made while the WebSocket was
down are fetched afterwards; which channels have such a cursor; and which replica takes a post
(every replica's socket gets every event, and a command must run once).
"""

from __future__ import annotations

import json
import uuid

from bridge.contracts import PluginState

CLAIM_SECONDS = 3600
"""Long enough for every replica's copy of the event, and for a re-read after a reconnect."""
CHANNELS = "channels"
ATTEMPTS = 5
"""Tries of a compare-and-set before giving up: a cursor left behind only means a re-read."""


class AdapterState:
    def __init__(self, state: PluginState) -> None:
        self._state = state
        self._token = uuid.uuid4().hex
        self._indexed: set[tuple[str, str]] = set()

    async def claim(self, tenant: str, post_id: str) -> bool:
        """True for the one replica that takes post `post_id` (again for it after a failed
        try: the claim holds this process's token). A replica that loses the race puts the
        winner's token back, so the winner's retry still finds its own."""
        name = f"post:{post_id}"
        held = await self._state.get(tenant, name)
        if held is not None:
            return held == self._token
        old = await self._state.getset(tenant, name, self._token, CLAIM_SECONDS)
        if old is None or old == self._token:
            return True
        await self._state.replace(tenant, name, self._token, old)
        return False

    async def seen(self, tenant: str, channel: str, create_at: int) -> None:
        """Channel `channel` has been read up to `create_at` (ms); never moves back."""
        await self._index(tenant, channel)
        name, value = f"cursor:{channel}", create_at
        for _ in range(ATTEMPTS):
            old = await self._state.get(tenant, name)
            if old is not None and int(old) >= value:
                return
            if old is None:
                before = await self._state.getset(tenant, name, str(value))
                if before is None or int(before) <= value:
                    return
                value = int(before)
            elif await self._state.replace(tenant, name, old, str(value)):
                return

    async def cursors(self) -> list[tuple[str, str, int]]:
        """(tenant, channel, last create_at) of every channel read so far."""
        found: list[tuple[str, str, int]] = []
        async for tenant in self._state.tenants(CHANNELS):
            for channel in json.loads(await self._state.get(tenant, CHANNELS) or "[]"):
                cursor = await self._state.get(tenant, f"cursor:{channel}")
                if cursor is not None:
                    found.append((tenant, channel, int(cursor)))
        return found

    async def _index(self, tenant: str, channel: str) -> None:
        """Add `channel` to the tenant's list of channels with a cursor (once per process)."""
        if (tenant, channel) in self._indexed:
            return
        wanted = {channel}
        for _ in range(ATTEMPTS):
            old = await self._state.get(tenant, CHANNELS)
            have = set(json.loads(old or "[]"))
            if wanted <= have:
                break
            new = json.dumps(sorted(have | wanted))
            if old is None:
                before = await self._state.getset(tenant, CHANNELS, new)
                if before is None:
                    break
                wanted |= set(json.loads(before))
            elif await self._state.replace(tenant, CHANNELS, old, new):
                break
        self._indexed.add((tenant, channel))
