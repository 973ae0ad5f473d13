"""Finds and loads plugins by entry point: adapters, providers and `threadbridge` commands.

The core imports no adapter or provider; whatever is installed under these groups is used.
A plugin whose library is not installed (a messenger's SDK is an optional extra, named in its
entry point: `adapters.slack:SlackAdapter [slack]`) is skipped, with one line saying what to
install when its settings are set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from pydantic_settings import BaseSettings

from bridge.config import ConfigError, Settings
from bridge.contracts import (
    Adapter,
    AdapterClass,
    Provider,
    ProviderClass,
    ProviderContext,
    Variant,
)
from bridge.contracts.settings import load_settings

ADAPTERS = "threadbridge.adapters"
PROVIDERS = "threadbridge.providers"
COMMANDS = "threadbridge.commands"

S = TypeVar("S", bound=BaseSettings)

Command = Callable[[list[str]], int]
"""A `threadbridge <name>` subcommand: takes the remaining arguments, returns the exit code."""

log = logging.getLogger(__name__)


class NotInstalled(Exception):
    """A plugin's code or a library it needs is not installed; the message says what to do."""


def _load(ep: EntryPoint, what: str) -> Any:
    """`ep.load()`, or `NotInstalled` opening with `what` and naming the extra to install
    (or, for code that ships only in the repository, the source tree)."""
    try:
        return ep.load()
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top and top == ep.module.split(".")[0]:
            raise NotInstalled(
                f"{what}: it needs the source tree ({top}/ ships only in the repository, not "
                f"in the package); run it in a clone of the repository"
            ) from exc
        if not ep.extras:
            raise
        extras = ",".join(ep.extras)
        raise NotInstalled(
            f"{what}: pip install 'threadbridge[{extras}]' ({exc.name} is missing)"
        ) from exc


def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def provider_names() -> list[str]:
    return sorted(_group(PROVIDERS))


def provider_class(name: str) -> ProviderClass:
    """The provider class registered under `name`; an unknown name names the setting."""
    ep = _group(PROVIDERS).get(name)
    if ep is None:
        known = ", ".join(provider_names()) or "none installed"
        raise ConfigError(f"BRIDGE_PROVIDER={name!r} is not a known provider ({known})")
    cls: ProviderClass = ep.load()
    return cls


def plugin_settings(cls: type[S], settings: Settings) -> S:
    """A plugin's settings class read from the environment, with the values `settings` was
    given for its variables (`neuroflash_api_url=` for NEUROFLASH_API_URL); a bad value is a
    `ConfigError` naming the variable."""
    prefix = str(cls.model_config.get("env_prefix") or "").lower()
    given = {
        name[len(prefix) :]: value
        for name, value in settings.plugin_values.items()
        if prefix and name.startswith(prefix)
    }
    return load_settings(cls, **given)


def provider_settings(settings: Settings) -> dict[str, BaseSettings]:
    """Every installed provider's own settings, by provider name (read now: a bad value stops
    start-up with one line, whichever provider is chosen)."""
    return {
        name: plugin_settings(provider_class(name).settings_class, settings)
        for name in provider_names()
    }


def load_provider(name: str, settings: Settings, context: ProviderContext) -> Provider:
    """Build the provider registered under `name` with its own settings and `context`."""
    cls = provider_class(name)
    return cls(plugin_settings(cls.settings_class, settings), context)


def sole_provider(configured: Mapping[str, object]) -> str:
    """The default provider when BRIDGE_PROVIDER is unset: the only one configured (classes
    or built providers, by name). A provider that is another API of a configured one's account
    (a `Variant`, same credentials) does not count as a second choice."""
    main = sorted(
        name
        for name, provider in configured.items()
        if not (isinstance(provider, Variant) and provider.variant_of in configured)
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


def load_adapters(settings: Settings, skipped: list[str] | None = None) -> list[Adapter]:
    """Every installed adapter whose settings are present, in name order. One whose SDK is
    missing is left out; when its settings are set, one line says what to install: appended
    to `skipped` when given (the caller shows it), else logged."""
    missing: list[str] = []
    classes = _adapter_classes(settings, missing)
    adapters = [cls(settings) for cls in classes if cls.enabled(settings)]
    if skipped is None:
        for line in missing:
            log.warning("%s", line)
    else:
        skipped.extend(missing)
    return adapters


def missing_adapters(settings: Settings) -> list[str]:
    """One line per messenger whose settings are set but whose SDK is not installed."""
    missing: list[str] = []
    _adapter_classes(settings, missing)
    return missing


def _adapter_classes(settings: Settings, missing: list[str]) -> list[AdapterClass]:
    """The installed adapter classes in name order; a line in `missing` for each one whose
    library is absent while its settings are set."""
    classes: list[AdapterClass] = []
    for name, ep in sorted(_group(ADAPTERS).items()):
        try:
            classes.append(_load(ep, f"{name.capitalize()} support is not installed"))
        except NotInstalled as exc:
            variable = _set_variable(settings, name)
            if variable is not None:
                missing.append(f"{variable} is set but {exc}")
    return classes


def _set_variable(settings: Settings, name: str) -> str | None:
    """The first variable of plugin `name` (its settings begin with `<name>_`) set in this
    environment, as it is spelled there; None when none is."""
    chosen = settings.model_fields_set
    for field in type(settings).model_fields:
        if field.startswith(f"{name}_") and field in chosen and getattr(settings, field):
            return field.upper()
    return None


def command_names() -> list[str]:
    return sorted(_group(COMMANDS))


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A command that cannot be imported here: its help and its run say why, in one line."""

    reason: str

    def __call__(self, argv: list[str]) -> int:
        raise ConfigError(self.reason)


def load_command(name: str) -> Command:
    try:
        command: Command = _load(_group(COMMANDS)[name], f"`threadbridge {name}` cannot run here")
    except NotInstalled as exc:
        return Unavailable(str(exc))
    return command
