"""BRIDGE_ENCRYPTION_KEY as a cipher: Fernet keys, comma-separated so they rotate without a
migration (the first encrypts, all decrypt), for any plugin that keeps secrets (Slack's
installation store)."""

from __future__ import annotations

from cryptography.fernet import Fernet, MultiFernet

from bridge.contracts.settings import ConfigError


def cipher(keys: str, needed_with: str = "") -> MultiFernet:
    """The MultiFernet for comma-separated keys; ConfigError naming the variable if bad, and
    `needed_with` (the plugin's variable that asks for it) if it is not set."""
    try:
        fernets = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
    except ValueError:
        raise ConfigError(
            "BRIDGE_ENCRYPTION_KEY is invalid: each key must be 32 url-safe base64-encoded bytes"
        ) from None
    if not fernets:
        why = f" (needed with {needed_with})" if needed_with else ""
        raise ConfigError(f"BRIDGE_ENCRYPTION_KEY is not set{why}")
    return MultiFernet(fernets)
