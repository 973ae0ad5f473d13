"""BRIDGE_ENCRYPTION_KEY as a cipher: Fernet keys, comma-separated so they rotate without a
migration (the first encrypts, all decrypt). Shared by the Slack installation store and doctor."""

from __future__ import annotations

from cryptography.fernet import Fernet, MultiFernet

from bridge.contracts.settings import ConfigError


def cipher(keys: str) -> MultiFernet:
    """The MultiFernet for comma-separated keys; ConfigError naming the variable if bad."""
    try:
        fernets = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
    except ValueError:
        raise ConfigError(
            "BRIDGE_ENCRYPTION_KEY is invalid: each key must be 32 url-safe base64-encoded bytes"
        ) from None
    if not fernets:
        raise ConfigError("BRIDGE_ENCRYPTION_KEY is not set (needed with SLACK_CLIENT_ID)")
    return MultiFernet(fernets)
