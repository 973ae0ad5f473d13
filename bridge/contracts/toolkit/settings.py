"""What a provider's settings class needs beyond `bridge.contracts.settings`: whether its
required values are there (the class's `configured`), and one warning for the deployment's
system prompt when the provider's API has nowhere to put it."""

from __future__ import annotations

import logging

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from bridge.contracts.provider import ProviderOptions

log = logging.getLogger(__name__)


def present(settings: BaseSettings, *names: str) -> bool:
    """Whether every field of `names` is set and not empty (what `require` demands)."""
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or value == "":
            return False
    return True


def no_system_prompt(options: ProviderOptions, provider: str, instead: str) -> None:
    """Warn that BRIDGE_SYSTEM_PROMPT does not reach `provider`, whose API has no field for it
    (`instead` names what steers it), rather than drop the setting without a word."""
    if options.system_prompt:
        log.warning(
            "BRIDGE_SYSTEM_PROMPT is not sent to %s: its API takes no system prompt (%s)",
            provider,
            instead,
        )
