"""Reference ids that tie a short notice in a thread to the detailed log line behind it."""

from __future__ import annotations

import secrets


def new_ref() -> str:
    """Six hex digits: short enough to read out, distinct enough to grep the log for."""
    return secrets.token_hex(3)
