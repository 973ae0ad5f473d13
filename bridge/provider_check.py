"""The default provider's credentials, tried once at start-up with the provider's own harmless
call (the one `threadbridge doctor` makes).

Refused credentials cannot answer any thread: start-up stops with one line naming the variables.
Any other trouble (a server not up yet, a timeout, a 5xx) may pass: it is logged in one line
and each reply retries and reports on its own.
"""

from __future__ import annotations

import asyncio
import logging

from bridge.config import ConfigError
from bridge.contracts import Provider
from bridge.contracts.toolkit.sse import ProviderHTTPError

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 20.0
REFUSED = (401, 403)


async def confirm_credentials(name: str, provider: Provider) -> None:
    """Run the provider's `check`, if it has one; a 401/403 becomes a `ConfigError`."""
    check = getattr(provider, "check", None)
    if check is None:
        return
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except ProviderHTTPError as exc:
        if exc.status in REFUSED:
            raise ConfigError(
                f"{credentials(name, provider)} was refused by {name}: {exc}"
            ) from None
        log.warning("provider %s: start-up check failed (%s); replies will try again", name, exc)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        log.warning(
            "provider %s: not reachable at start (%s); replies will try again", name, reason
        )


def credentials(name: str, provider: Provider) -> str:
    """The variables a refusal points at: the provider's `credentials`, else its prefix."""
    named = getattr(provider, "credentials", None)
    return str(named) if named else f"{name.split('-')[0].upper()}_* credentials"
