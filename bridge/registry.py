"""What one process runs with: its providers by name and its messengers' surfaces by platform.

The reply driver is given both; it never reaches back into the runtime for either.
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge.config import ConfigError
from bridge.contracts import Adapter, Provider, ProviderContext, Surface, UserPost
from bridge.plugins import load_provider, provider_names, sole_provider


class Providers:
    """Provider instances by name, built on first use and closed together; `default` is the
    deployment's `BRIDGE_PROVIDER`, else the only provider whose settings are present."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._providers: dict[str, Provider] = {}
        chosen = context.settings.bridge_provider
        self.default = chosen or sole_provider(
            {name: self.get(name) for name in provider_names() if self.configured(name)}
        )

    def get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            provider = load_provider(name, self._context)
            self._providers[name] = provider
        return provider

    def configured(self, name: str) -> bool:
        """Whether `name` is a known provider whose required settings are present."""
        if name not in provider_names():
            return False
        try:
            self.get(name)
        except ConfigError:
            return False
        return True

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()


class Surfaces:
    """The running adapters by platform: where a post's reply is shown."""

    def __init__(self, adapters: Iterable[Adapter]) -> None:
        self._adapters = {adapter.platform: adapter for adapter in adapters}

    def for_post(self, post: UserPost, messages: list[str]) -> Surface:
        """The surface for the reply to `post`, restored with its already posted `messages`."""
        return self._adapters[post.thread.platform].surface(post, messages)

    @property
    def platforms(self) -> list[str]:
        return sorted(self._adapters)
