"""The Slack calls made once at start-up, whose failure means a setting is wrong: each failure
becomes one line naming the variable and Slack's error, or the host that could not be reached."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bridge.contracts import ConfigError


async def who_am_i(client: AsyncWebClient) -> tuple[str, str]:
    """`auth.test` with SLACK_BOT_TOKEN: the bot's user id and its workspace id."""
    auth = await _checked(client.auth_test(), "SLACK_BOT_TOKEN", client.base_url)
    return str(auth["user_id"]), str(auth.get("team_id") or "")


async def socket_url(client: AsyncWebClient, app_token: str) -> str:
    """A Socket Mode URL from `apps.connections.open` with SLACK_APP_TOKEN (slack_sdk would
    otherwise retry a refused app token forever, silently)."""
    opened = await _checked(
        client.apps_connections_open(app_token=app_token), "SLACK_APP_TOKEN", client.base_url
    )
    return str(opened["url"])


async def _checked(
    call: Awaitable[AsyncSlackResponse], variable: str, base_url: str
) -> AsyncSlackResponse:
    try:
        return await call
    except SlackApiError as exc:
        error: Any = exc.response.get("error") if exc.response is not None else None
        status = exc.response.status_code if exc.response is not None else "?"
        raise ConfigError(f"{variable} was refused by Slack: {error or f'HTTP {status}'}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        host = urlsplit(base_url).netloc
        reason = str(exc) or type(exc).__name__
        raise ConfigError(f"SLACK_API_URL: cannot reach {host} ({reason})") from None
