"""Finds and loads plugins by entry point: adapters, providers and `threadbridge` commands.

The core imports no adapter or provider; whatever is installed under these groups is used.
A plugin whose library is not installed (a messenger's SDK is an optional extra, named in its
entry point: `adapters.slack:SlackAdapter [slack]`) is skipped, with one line saying what to
install when its settings are set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from pydantic_settings import BaseSettings, DotEnvSettingsSource

from bridge.config import Settings
from bridge.contracts import (
    Adapter,
    AdapterClass,
    ConfigError,
    Provider,
    ProviderClass,
    ProviderContext,
    Variant,
    load_settings,
)

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


def adapter_names() -> list[str]:
    """The installed adapters' names, which are their platforms' (`slack`, `discord`)."""
    return sorted(_group(ADAPTERS))


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


@dataclass(frozen=True, slots=True)
class AdapterPlugin:
    """An installed adapter class and its own settings, read from its `settings_class`."""

    name: str
    cls: AdapterClass
    settings: BaseSettings

    @property
    def enabled(self) -> bool:
        return self.cls.enabled(self.settings)

    def build(self) -> Adapter:
        return self.cls(self.settings)


def adapter_plugins(
    missing: list[str], overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> list[AdapterPlugin]:
    """Every installed adapter with its settings read (`overrides`: values by adapter name,
    over the environment's), in name order. A bad setting is a `ConfigError` naming it; one
    whose library is absent while a variable of its prefix is set adds a line to `missing`."""
    found: list[AdapterPlugin] = []
    for name, ep in sorted(_group(ADAPTERS).items()):
        try:
            cls: AdapterClass = _load(ep, f"{name.capitalize()} support is not installed")
        except NotInstalled as exc:
            variable = _set_variable(name)
            if variable is not None:
                missing.append(f"{variable} is set but {exc}")
            continue
        values = dict((overrides or {}).get(name, {}))
        found.append(AdapterPlugin(name, cls, load_settings(cls.settings_class, **values)))
    return found


def load_adapters(
    skipped: list[str] | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Adapter]:
    """Every installed adapter whose settings enable it, in name order. One whose SDK is
    missing is left out; when its settings are set, one line says what to install: appended
    to `skipped` when given (the caller shows it), else logged."""
    missing: list[str] = []
    adapters = [p.build() for p in adapter_plugins(missing, overrides) if p.enabled]
    if skipped is None:
        for line in missing:
            log.warning("%s", line)
    else:
        skipped.extend(missing)
    return adapters


def messengers(found: list[AdapterPlugin], missing: list[str]) -> list[Adapter]:
    """The adapters a process runs: the enabled ones, built. None enabled stops start-up in
    one line: what to install when settings of an absent one are set, else what to set."""
    adapters = [p.build() for p in found if p.enabled]
    if not adapters and missing:
        raise ConfigError("; ".join(missing))
    for line in missing:
        log.warning("%s", line)
    if not adapters:
        raise ConfigError(no_messenger(found))
    return adapters


def no_messenger(found: list[AdapterPlugin]) -> str:
    """Why no messenger runs, naming the variables the installed adapters declare."""
    variables = enabling(found)
    if variables:
        return f"{' or '.join(variables)} must be set (no messenger is configured)"
    extras = sorted({x for ep in _group(ADAPTERS).values() for x in ep.extras})
    return f"no messenger is installed: pip install 'threadbridge[{','.join(extras)}]'"


def enabling(found: list[AdapterPlugin]) -> list[str]:
    """The variables that turn the installed adapters on, as they declare them."""
    return [variable for p in found for variable in p.cls.enabling]


def _set_variable(name: str) -> str | None:
    """The first variable of plugin `name` (its settings begin with `<NAME>_`) set in the
    environment, else in `.env` (each in its own order), read without the plugin's code;
    None when none is."""
    prefix = f"{name.upper()}_"
    dotenv = DotEnvSettingsSource(BaseSettings, env_file=".env", case_sensitive=False)
    for key, value in [*os.environ.items(), *dotenv.env_vars.items()]:
        if value and key.upper().startswith(prefix):
            return key.upper()
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
