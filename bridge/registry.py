"""What one process runs with: its providers by name and its messengers' surfaces by platform.

The reply driver is given both; it never reaches back into the runtime for either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bridge.config import Settings
from bridge.contracts import (
    Adapter,
    Provider,
    ProviderContext,
    ProviderOptions,
    Surface,
    ThreadState,
    UserPost,
)
from bridge.plugins import provider_class, provider_settings, sole_provider


def provider_options(settings: Settings) -> ProviderOptions:
    """The core-wide values a provider reads, from the core's settings."""
    return ProviderOptions(
        connect_timeout=settings.provider_connect_timeout,
        read_timeout=settings.provider_read_timeout,
        max_connections=settings.provider_max_connections,
        system_prompt=settings.bridge_system_prompt,
        max_reply_tokens=settings.bridge_max_reply_tokens,
    )


def provider_context(
    settings: Settings, state: ThreadState, connection_wait: Callable[[float], None] | None = None
) -> ProviderContext:
    """What every provider of this process is built with besides its own settings."""
    return ProviderContext(state, provider_options(settings), connection_wait)


class Providers:
    """Provider instances by name, built on first use and closed together; `default` is the
    deployment's `BRIDGE_PROVIDER`, else the only provider whose settings are present. Every
    installed provider's settings are read at once, so a bad value stops start-up."""

    def __init__(
        self,
        settings: Settings,
        state: ThreadState,
        connection_wait: Callable[[float], None] | None = None,
    ) -> None:
        self._context = provider_context(settings, state, connection_wait)
        self._settings = provider_settings(settings)
        self._providers: dict[str, Provider] = {}
        self.default = settings.bridge_provider or sole_provider(
            {name: provider_class(name) for name in self._settings if self.configured(name)}
        )

    def get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            cls = provider_class(name)
            provider = cls(self._settings[name], self._context)
            self._providers[name] = provider
        return provider

    def configured(self, name: str) -> bool:
        """Whether `name` is a known provider whose required settings are present."""
        own = self._settings.get(name)
        return own is not None and provider_class(name).configured(own)

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
