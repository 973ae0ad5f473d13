"""Slack distribution: the OAuth v2 install flow and a Web API client per workspace.

`/slack/install` sends the browser to Slack's consent page with a signed, time-limited state
(`oauth_state`: nothing is stored per hit); `/slack/oauth_redirect` checks that state,
exchanges the code at `oauth.v2.access` (on SLACK_API_URL) and saves the workspace's tokens,
encrypted, in the core's plugin state. Bolt's authorize then picks the right token for every
event; replies get theirs through `TeamClient`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.installations import RedisInstallationStore, cipher
from adapters.slack.oauth_state import SignedStateStore, state_key, well_formed
from adapters.slack.settings import SlackSettings
from bridge.contracts import ConfigError, PluginState, WebRoute, require, secret

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BAD_STATE = "This install link is not valid. Please start again from /slack/install.\n"


def distributed(settings: SlackSettings) -> bool:
    """Many workspaces through OAuth (SLACK_CLIENT_ID) rather than one bot token."""
    return bool(settings.client_id)


def check_settings(settings: SlackSettings) -> None:
    """Fail start-up with one line naming what distribution mode still needs."""
    require(settings, "client_secret")
    if not secret(settings.encryption_key):
        raise ConfigError("BRIDGE_ENCRYPTION_KEY is not set (needed with SLACK_CLIENT_ID)")
    cipher(secret(settings.encryption_key), "SLACK_CLIENT_ID")


def installation_store(settings: SlackSettings, state: PluginState) -> RedisInstallationStore:
    fernet = cipher(secret(settings.encryption_key), "SLACK_CLIENT_ID")
    return RedisInstallationStore(state, fernet)


def oauth_settings(
    settings: SlackSettings, installations: RedisInstallationStore
) -> AsyncOAuthSettings:
    key = state_key(secret(settings.state_secret), secret(settings.client_secret))
    return AsyncOAuthSettings(
        client_id=settings.client_id,
        client_secret=secret(settings.client_secret),
        scopes=[s.strip() for s in settings.scopes.split(",") if s.strip()],
        user_scopes=[],
        redirect_uri=settings.redirect_uri or None,
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.oauth_authorize_url,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=SignedStateStore(key),
    )


def routes(flow: AsyncOAuthFlow) -> list[WebRoute]:
    """Serve the install link and the redirect on the bridge's HTTP port."""

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def redirect(request: web.Request) -> web.Response:
        if not well_formed(request.query.get("state")):
            log.warning("Slack install refused: the OAuth redirect carried a malformed state")
            return web.Response(status=400, text=BAD_STATE)
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    return [WebRoute("GET", INSTALL_PATH, install), WebRoute("GET", REDIRECT_PATH, redirect)]


TokenLookup = Callable[[], Awaitable[str]]


class TeamClient(AsyncWebClient):
    """A Web API client for one workspace that looks its bot token up on first use.

    A reply may run on a replica that never saw the workspace's event, so the token comes
    from the installation store, not from the event.
    """

    def __init__(self, lookup: TokenLookup, base: AsyncWebClient) -> None:
        super().__init__(base_url=base.base_url, timeout=base.timeout, session=base.session)
        self._lookup = lookup

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if self.token is None:
            self.token = await self._lookup()
        return await super().api_call(api_method, **kwargs)


def token_lookup(installations: RedisInstallationStore, team: str) -> TokenLookup:
    async def lookup() -> str:
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            raise LookupError(f"the Slack app is not installed in workspace {team}")
        return bot.bot_token

    return lookup
