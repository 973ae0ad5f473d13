"""Slack OAuth install states that cost nothing to issue: signed, time-limited, never stored.

`/slack/install` is public, so a state stored per hit would let anyone grow Redis at will. A
state here is `<expiry>.<nonce>.<mac>`: HMAC-SHA256 of `<expiry>.<nonce>`, good for ten
minutes. Replaying one gains nothing: bolt accepts a state only from the browser it was issued
to (its cookie), and Slack's code is single use.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

log = logging.getLogger(__name__)

OAUTH_STATE_TTL = 600
"""Seconds an install link's state stays good: the consent page is one sitting."""

_FORM = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{32})\.([0-9a-f]{64})")
"""What `issue` makes, and so all a redirect may carry: ASCII only."""


def well_formed(state: str | None) -> bool:
    """Whether `state` has the shape of one this app issued (not yet whether it did)."""
    return state is not None and _FORM.fullmatch(state) is not None


def state_key(state_secret: str, client_secret: str) -> bytes:
    """SLACK_STATE_SECRET, else a key derived from the client secret: replicas agree on it
    and it is not the client secret itself."""
    if state_secret:
        return state_secret.encode()
    label = b"threadbridge slack oauth state"
    return hmac.new(client_secret.encode(), label, hashlib.sha256).digest()


class SignedStateStore(AsyncOAuthStateStore):
    """Issues states that verify themselves, so neither issuing nor checking touches Redis."""

    def __init__(
        self,
        key: bytes,
        ttl: int = OAUTH_STATE_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._ttl = ttl
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        body = f"{int(self._clock()) + self._ttl}.{secrets.token_urlsafe(24)}"
        return f"{body}.{self._sign(body)}"

    async def async_consume(self, state: str) -> bool:
        match = _FORM.fullmatch(state) if isinstance(state, str) else None
        if match is None:
            return False
        body = state.rpartition(".")[0]
        if not hmac.compare_digest(match.group(3).encode(), self._sign(body).encode()):
            return False
        return int(match.group(1)) >= self._clock()

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
