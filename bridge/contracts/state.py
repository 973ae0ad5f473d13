"""Small values a plugin keeps per tenant (a Slack workspace's installation, the hash of the
Discord commands last synced), stored by the core: the plugin names a value, the core names
the key (`plugin:<platform>:<tenant>:<name>`) and deletes a tenant's values when it forgets
the tenant. Plugins never see Redis or a key.

A plugin's own command (one run outside a bridge, e.g. `rotate-slack-keys`) opens the same
state with `open_state`, which the core provides before it runs a command."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class PluginState(Protocol):
    """One platform's values, each under a tenant (a workspace, guild or application id) and
    a name the plugin chooses; values are text."""

    async def get(self, tenant: str, name: str) -> str | None: ...

    async def set(self, tenant: str, name: str, value: str, ttl: int | None = None) -> None:
        """Store `value`, for `ttl` seconds (None: until deleted or the tenant is forgotten)."""

    async def getset(
        self, tenant: str, name: str, value: str, ttl: int | None = None
    ) -> str | None:
        """Store `value` and return the one it replaced, in one step (a claim replicas race
        for: only one sees the old value)."""
        ...

    async def replace(self, tenant: str, name: str, old: str, new: str) -> bool:
        """Write `new` only over exactly `old`, in one step; False if the value changed."""
        ...

    async def delete(self, tenant: str, *names: str) -> None: ...

    def tenants(self, name: str) -> AsyncIterator[str]:
        """Every tenant holding a value `name` (a scan: for commands, not for each event)."""
        ...


StateOpener = Callable[[str], AbstractAsyncContextManager[PluginState]]
"""Opens one platform's state outside a running bridge, closed when the block ends."""

_opener: list[StateOpener] = []


def provide(opener: StateOpener) -> None:
    """The core's way to open state for plugin commands (it calls this once, before them)."""
    _opener[:] = [opener]


def open_state(platform: str) -> AbstractAsyncContextManager[PluginState]:
    """`platform`'s state for a plugin command; a `LookupError` where no core provided one."""
    if not _opener:
        raise LookupError("no core provides plugin state here (run it as a threadbridge command)")
    return _opener[0](platform)
