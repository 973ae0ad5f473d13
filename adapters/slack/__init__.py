"""The Slack adapter: slack-bolt in Socket Mode (SLACK_APP_TOKEN) or HTTP mode
(SLACK_SIGNING_SECRET, events at /slack/events on BRIDGE_HTTP_PORT: one of its `routes`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from redis.exceptions import RedisError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from yarl import URL

from adapters.slack import oauth, slash, startup
from adapters.slack.assistant import ASSISTANT, FIRST, AssistantThreads
from adapters.slack.controls import STOP_ACTION, stop_pressed
from adapters.slack.doctor import run_checks
from adapters.slack.feedback import FEEDBACK_ACTION, feedback_pressed
from adapters.slack.history import Pace
from adapters.slack.http import http_handler
from adapters.slack.ingest import Installed, SlackIngest
from adapters.slack.installations import RedisInstallationStore
from adapters.slack.limits import SlackLimits
from adapters.slack.settings import SlackSettings
from adapters.slack.surface import SlackSurface
from adapters.slack.thread_status import ThreadStatus, title_of
from bridge.contracts import (
    ConfigError,
    Core,
    Findings,
    Meter,
    Permits,
    Surface,
    UserPost,
    WebRoute,
    require,
    secret,
)
from bridge.contracts.fencing import fence_requests
from bridge.contracts.metering import http_trace

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HTTP_CONNECTIONS = 256
"""One pooled session for every Web API call (slack_sdk opens a new one per call otherwise)."""


class SlackAdapter:
    """Connects one Slack app; every workspace it is installed in is a separate tenant."""

    platform = "slack"
    settings_class = SlackSettings
    enabling = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID")
    quiet_loggers = ("slack_bolt", "slack_sdk")
    """slack_bolt at INFO logs unsigned request bodies."""

    @staticmethod
    def enabled(settings: SlackSettings) -> bool:
        return bool(secret(settings.bot_token)) or oauth.distributed(settings)

    @staticmethod
    def describe(settings: SlackSettings) -> str:
        return "slack (many workspaces)" if oauth.distributed(settings) else "slack"

    @staticmethod
    async def doctor(settings: SlackSettings, findings: Findings) -> None:
        await run_checks(settings, findings)

    def __init__(self, settings: SlackSettings) -> None:
        self.distributed = oauth.distributed(settings)
        if self.distributed:
            oauth.check_settings(settings)
        else:
            require(settings, "bot_token")
        if not secret(settings.app_token) and not secret(settings.signing_secret):
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set (needed for HTTP mode; "
                "set SLACK_APP_TOKEN instead for Socket Mode)"
            )
        self._settings = settings
        token = None if self.distributed else secret(settings.bot_token)
        self.client = AsyncWebClient(token=token, base_url=settings.api_url, timeout=30)
        self.installations: RedisInstallationStore | None = None
        self.limits = SlackLimits.from_settings(settings)
        self._budget: Permits | None = None
        self._no_streams: set[str] = set()
        self._commands: set[asyncio.Task[Any]] = set()
        """Slash commands still running after their ack; cancelled on stop."""
        self._socket: AsyncSocketModeHandler | None = None
        self._assistant: AssistantThreads | None = None
        self._statuses: set[asyncio.Task[None]] = set()
        """AI-app threads' status and title calls, which may outlast their reply."""
        self._metrics: Meter | None = None
        self._core: Core | None = None
        self._routes: list[WebRoute] = []
        self.bot_user_id = ""
        self.team_id = ""

    async def start(self, core: Core) -> None:
        self._metrics = core.meter
        self._core = core
        self._budget = core.budget
        self.client.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS),
            timeout=aiohttp.ClientTimeout(total=30),
            trace_configs=[fence_requests(http_trace(core.meter, "slack", _method_name))],
        )
        if not self.distributed:
            self.bot_user_id, self.team_id = await startup.who_am_i(self.client)
        app_token = secret(self._settings.app_token)
        socket_mode = bool(app_token)
        wss_url = await startup.socket_url(self.client, app_token) if socket_mode else None
        app = self._app(core, socket_mode)
        pace = Pace.from_settings(self._settings, self.distributed)
        ingest = SlackIngest(
            core, self.client, self.bot_user_id, self.team_id, self._installed(), pace
        )

        async def on_event(
            event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: Any
        ) -> None:
            await ingest.handle(event, body, client, str(context.bot_user_id or ""))

        async def on_reaction(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
            await ingest.handle_reaction(event, body, str(context.bot_user_id or ""))

        assistant = self._assistant = ingest.assistant_threads(self.limits, self._settings)
        app.error(_on_listener_error)
        app.event("assistant_thread_started")(assistant.started)
        app.event("assistant_thread_context_changed")(assistant.context_changed)
        app.event("app_mention")(on_event)
        app.event("message")(on_event)
        app.event("reaction_added")(on_reaction)
        slash.register(app, core, ingest, self._commands)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_uninstalled)
        app.action(STOP_ACTION)(stop_pressed(core))
        app.action(FEEDBACK_ACTION)(feedback_pressed(core))
        if socket_mode:
            self._socket = AsyncSocketModeHandler(app, app_token)
            self._socket.client.wss_uri = wss_url
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode as %s", self.bot_user_id)
        else:
            signing = secret(self._settings.signing_secret)
            self._routes.append(WebRoute("POST", EVENTS_PATH, http_handler(app, signing)))
            log.info("Slack: HTTP mode, events at %s", EVENTS_PATH)

    def routes(self) -> list[WebRoute]:
        """Served on BRIDGE_HTTP_PORT: HTTP mode's events, OAuth's install and redirect."""
        return list(self._routes)

    async def connected(self) -> bool:
        """For /readyz: the Socket Mode connection is up (HTTP mode needs none)."""
        return self._socket is None or await self._socket.client.is_connected()

    def _app(self, core: Core, socket_mode: bool) -> AsyncApp:
        """Bolt's app: one bot token, or OAuth installs with a token per workspace."""
        signing_secret = secret(self._settings.signing_secret) or None
        verify = not socket_mode
        if not self.distributed:
            return AsyncApp(
                client=self.client,
                signing_secret=signing_secret,
                request_verification_enabled=verify,
                process_before_response=True,
            )
        self.installations = oauth.installation_store(self._settings, core.state)
        app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            request_verification_enabled=verify,
            process_before_response=True,
            oauth_settings=oauth.oauth_settings(self._settings, self.installations),
        )
        assert app.oauth_flow is not None
        self._routes += oauth.routes(app.oauth_flow)
        log.info("Slack: many workspaces; install at %s", oauth.INSTALL_PATH)
        return app

    def _installed(self) -> Installed | None:
        """With OAuth installs, a workspace is served while its installation is stored."""
        installations = self.installations
        if installations is None:
            return None

        async def installed(team: str) -> bool:
            bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
            return bot is not None

        return installed

    async def _on_uninstalled(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """The app left a workspace (or lost its tokens): drop its tokens and all its data."""
        team = str(body.get("team_id") or "")
        bot_revoked = (event.get("tokens") or {}).get("bot")
        if not team or (event.get("type") == "tokens_revoked" and not bot_revoked):
            return
        if self.installations is not None:
            org = body.get("enterprise_id") or None
            await self.installations.async_delete_all(enterprise_id=org, team_id=team)
        assert self._core is not None
        deleted = await self._core.forget_tenant(self.platform, team)
        self._core.meter.inc("slack_uninstalls_total")
        log.info(
            "Slack: %s in %s; deleted its tokens and %d keys", event.get("type"), team, deleted
        )

    async def stop(self) -> None:
        for task in list(self._commands):
            task.cancel()
        await asyncio.gather(*self._commands, return_exceptions=True)
        if self._assistant is not None:
            await self._assistant.stop()
        for status in list(self._statuses):
            status.cancel()
        await asyncio.gather(*self._statuses, return_exceptions=True)
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        assert self._metrics is not None and self._budget is not None
        assert self._core is not None
        mode = self._settings.reply_mode
        core = self._core

        async def stop() -> None:
            await core.stop(post.thread)

        client = self.client_for(post.thread.tenant)
        return SlackSurface(
            client,
            post,
            self.limits,
            self._budget,
            mode,
            messages,
            self._metrics,
            self._no_streams,
            stop,
            previews=core.options.link_previews,
            status=self._thread_status(client, post),
        )

    def _thread_status(self, client: AsyncWebClient, post: UserPost) -> ThreadStatus | None:
        """An AI-app thread's status line (and title, for its first post); None elsewhere."""
        kind = post.extra.get(ASSISTANT)
        if kind is None:
            return None
        assert self._core is not None and self._budget is not None
        thread = post.thread
        status = self._core.text("assistant_status", post.extra.get("locale"))
        title = title_of(post.text) if kind == FIRST else ""
        return ThreadStatus(
            client,
            thread.tenant,
            thread.channel,
            thread.thread,
            self.limits,
            self._budget,
            status,
            title,
            self._statuses,
        )

    def client_for(self, team: str) -> AsyncWebClient:
        """The Web API client that speaks for the bot in workspace `team`."""
        if self.installations is None:
            return self.client
        return oauth.TeamClient(oauth.token_lookup(self.installations, team), self.client)


async def _on_listener_error(error: Exception) -> BoltResponse:
    """Refuse the event so Slack delivers it again. Redis being down was already logged once
    per outage by the core, so it is not logged again per event."""
    if not isinstance(error, RedisError):
        log.error("Slack event failed and is refused for retry", exc_info=error)
    return BoltResponse(status=503, body="")


def _method_name(_: str, url: URL) -> str:
    """A Web API call is named by its method (`chat.update`), the last part of its path."""
    return url.path.rsplit("/", 1)[-1] or "unknown"
