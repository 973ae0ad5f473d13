"""Finds and loads plugins by entry point: adapters, providers and `threadbridge` commands.

The core imports no adapter or provider; whatever is installed under these groups is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points

from bridge.config import ConfigError, Settings
from bridge.contracts import Adapter, AdapterClass, Provider, ProviderContext, ProviderFactory

ADAPTERS = "threadbridge.adapters"
PROVIDERS = "threadbridge.providers"
COMMANDS = "threadbridge.commands"

Command = Callable[[list[str]], int]
"""A `threadbridge <name>` subcommand: takes the remaining arguments, returns the exit code."""


def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def provider_names() -> list[str]:
    return sorted(_group(PROVIDERS))


def load_provider(name: str, context: ProviderContext) -> Provider:
    """Build the provider registered under `name`; an unknown name names the setting."""
    ep = _group(PROVIDERS).get(name)
    if ep is None:
        known = ", ".join(provider_names()) or "none installed"
        raise ConfigError(f"BRIDGE_PROVIDER={name!r} is not a known provider ({known})")
    factory: ProviderFactory = ep.load()
    return factory(context)


def sole_provider(configured: Mapping[str, Provider]) -> str:
    """The default provider when BRIDGE_PROVIDER is unset: the only one whose settings are
    present. A provider that is another API of a configured one's account (`variant_of`, same
    credentials) does not count as a second choice."""
    main = sorted(
        n for n, p in configured.items() if getattr(p, "variant_of", None) not in configured
    )
    if len(main) == 1:
        return main[0]
    if not main:
        known = ", ".join(provider_names()) or "none installed"
        raise ConfigError(
            f"BRIDGE_PROVIDER is not set and no provider is configured: set the variables of "
            f"one of {known} (see .env.example)"
        )
    raise ConfigError(
        f"BRIDGE_PROVIDER is not set and several providers are configured: set it to one of "
        f"{', '.join(main)}"
    )


def load_adapters(settings: Settings) -> list[Adapter]:
    """Every installed adapter whose settings are present, in name order."""
    adapters: list[Adapter] = []
    for _, ep in sorted(_group(ADAPTERS).items()):
        cls: AdapterClass = ep.load()
        if cls.enabled(settings):
            adapters.append(cls(settings))
    return adapters


def command_names() -> list[str]:
    return sorted(_group(COMMANDS))


def load_command(name: str) -> Command:
    command: Command = _group(COMMANDS)[name].load()
    return command
