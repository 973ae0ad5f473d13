"""Settings as every part reads them: a pydantic-settings class per plugin (its own env prefix)
and the core's, each read once from the environment and `.env`.

A bad or missing setting becomes a `ConfigError` whose message is one line naming the variable
as the operator spells it (prefix included), so start-up stops with that line.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and is shown as is."""


def plugin_config(prefix: str) -> SettingsConfigDict:
    """The model config of a plugin's settings: its prefix, read as the core's are (`.env`,
    other variables ignored, an empty value meaning "not set")."""
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
        populate_by_name=True,
    )


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Read `cls` from the environment; pydantic's report becomes one line naming the variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = variable(cls, str(err["loc"][0])) if err["loc"] else "configuration"
        raise ConfigError(f"{name} is invalid: {err['msg']}") from None


def variable(cls: type[BaseSettings], field: str) -> str:
    """The environment variable behind `field` (a field name or its alias) of `cls`."""
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str) and field in (name, alias):
            return alias.upper()
    prefix = str(cls.model_config.get("env_prefix") or "")
    return f"{prefix}{field}".upper()


def require(settings: BaseSettings, *names: str) -> None:
    """Raise `ConfigError` naming the variable of the first of `names` unset or empty."""
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or value == "":
            raise ConfigError(f"{variable(type(settings), name)} is not set")


def secret(value: SecretStr | None) -> str:
    """The plain value of an optional secret, for the one place that sends it."""
    return value.get_secret_value() if value is not None else ""
