"""The providers of one process, built on first use and closed together."""

from __future__ import annotations

from bridge.config import ConfigError
from bridge.provider import Provider, ProviderContext, load_provider, provider_names


class ProviderSet:
    """Provider instances by name; `default` is the deployment's `BRIDGE_PROVIDER`."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._providers: dict[str, Provider] = {}
        self.default = context.settings.bridge_provider

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
