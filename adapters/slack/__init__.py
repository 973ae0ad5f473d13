"""The Slack adapter: slack-bolt in Socket Mode (SLACK_APP_TOKEN) or HTTP mode
(SLACK_SIGNING_SECRET, events at /slack/events on BRIDGE_HTTP_PORT)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.controls import STOP_ACTION, stop_pressed
from adapters.slack.ingest import SlackIngest
from adapters.slack.limits import SlackLimits
from adapters.slack.surface import SlackSurface
from bridge.config import ConfigError, Settings, secret
from bridge.hub import Hub
from bridge.metrics import Metrics
from bridge.models import UserPost
from bridge.pacing import EditBudget
from bridge.surface import Surface

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HTTP_CONNECTIONS = 256
"""One pooled session for every Web API call (slack_sdk opens a new one per call otherwise)."""


class SlackAdapter:
    """Connects one Slack app; every workspace it is installed in is a separate tenant."""

    platform = "slack"

    @staticmethod
    def enabled(settings: Settings) -> bool:
        return bool(secret(settings.slack_bot_token))

    def __init__(self, settings: Settings) -> None:
        settings.require("slack_bot_token")
        if not secret(settings.slack_app_token) and not secret(settings.slack_signing_secret):
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set (needed for HTTP mode; "
                "set SLACK_APP_TOKEN instead for Socket Mode)"
            )
        self._settings = settings
        self.client = AsyncWebClient(
            token=secret(settings.slack_bot_token), base_url=settings.slack_api_url, timeout=30
        )
        self.limits = SlackLimits.from_settings(settings)
        self._budget: EditBudget | None = None
        self._no_streams: set[str] = set()
        self._socket: AsyncSocketModeHandler | None = None
        self._metrics: Metrics | None = None
        self._hub: Hub | None = None
        self.bot_user_id = ""

    async def start(self, hub: Hub) -> None:
        self._metrics = hub.metrics
        self._hub = hub
        self._budget = hub.budget
        self.client.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        auth = await self.client.auth_test()
        self.bot_user_id = str(auth["user_id"])
        socket_mode = bool(secret(self._settings.slack_app_token))
        app = AsyncApp(
            client=self.client,
            signing_secret=secret(self._settings.slack_signing_secret) or None,
            request_verification_enabled=not socket_mode,
            process_before_response=True,
        )
        ingest = SlackIngest(hub, self.client, self.bot_user_id)

        async def on_event(event: dict[str, Any], body: dict[str, Any]) -> None:
            await ingest.handle(event, body)

        async def on_reaction(event: dict[str, Any], body: dict[str, Any]) -> None:
            await ingest.handle_reaction(event, body)

        app.error(_on_listener_error)
        app.event("app_mention")(on_event)
        app.event("message")(on_event)
        app.event("reaction_added")(on_reaction)
        app.action(STOP_ACTION)(stop_pressed(hub))
        if socket_mode:
            self._socket = AsyncSocketModeHandler(app, secret(self._settings.slack_app_token))
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode as %s", self.bot_user_id)
        else:
            hub.web.router.add_post(EVENTS_PATH, _http_handler(app))
            log.info("Slack: HTTP mode, events at %s", EVENTS_PATH)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        assert self._metrics is not None and self._budget is not None
        assert self._hub is not None
        mode = self._settings.slack_reply_mode
        hub = self._hub

        async def stop() -> None:
            await hub.stop(post.thread)

        return SlackSurface(
            self.client,
            post,
            self.limits,
            self._budget,
            mode,
            messages,
            self._metrics,
            self._no_streams,
            stop,
        )


async def _on_listener_error(error: Exception) -> BoltResponse:
    """Refuse the event so Slack delivers it again. Redis being down was already logged once
    per outage by the hub, so it is not logged again per event."""
    if not isinstance(error, RedisError):
        log.error("Slack event failed and is refused for retry", exc_info=error)
    return BoltResponse(status=503, body="")


def _http_handler(app: AsyncApp) -> Any:
    async def handle(request: web.Request) -> web.Response:
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return handle
