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
from typing import Any

from bridge.config import ConfigError, Settings
from bridge.contracts import Adapter, AdapterClass, Provider, ProviderContext, ProviderFactory

ADAPTERS = "threadbridge.adapters"
PROVIDERS = "threadbridge.providers"
COMMANDS = "threadbridge.commands"

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


def enabled_adapter_classes(settings: Settings) -> list[AdapterClass]:
    """The installed adapter classes whose settings are present (for `threadbridge doctor`)."""
    return [cls for cls in _adapter_classes(settings, []) if cls.enabled(settings)]


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
