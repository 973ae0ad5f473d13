"""The Microsoft Teams adapter: the Bot Connector's activities at `/api/messages` on
BRIDGE_HTTP_PORT in (its one `routes` entry), its REST API out. Enabled when TEAMS_APP_ID is
set (`settings`).

Microsoft's own Python packages were weighed and not used: the Teams SDK's app package
(`microsoft-teams-apps`) brings its own FastAPI/uvicorn server, a dependency-injection
framework and MSAL's blocking HTTP, and its token validator fetches keys with PyJWT's blocking
`PyJWKClient` on the event loop; the Agents SDK (`microsoft-agents-hosting-*`) answers each
activity inside its own turn pipeline (we record it in the durable inbox first), fetches keys
in threads from its own key URLs rather than the configured metadata's `jwks_uri`, and brings
OpenTelemetry's SDK and MSAL too. The protocol is three REST calls and one JWT check, so the
bridge speaks it with aiohttp (its own server and client, fenced and counted like every
messenger's) and PyJWT with `cryptography` for the token.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from adapters.teams import limits
from adapters.teams.auth import ActivityAuth, ConnectorKeys
from adapters.teams.connector import Connector
from adapters.teams.doctor import run_checks
from adapters.teams.http import PATH, messages_handler
from adapters.teams.ingest import TeamsIngest
from adapters.teams.pace import pace_requests
from adapters.teams.settings import TeamsSettings
from adapters.teams.surface import TeamsSurface
from adapters.teams.talk import Talk
from adapters.teams.token import BotToken, TokenRefused
from bridge.contracts import ConfigError, Core, Findings, Permits, Surface, UserPost, WebRoute
from bridge.contracts.fencing import fence_requests
from bridge.contracts.metering import http_trace

log = logging.getLogger(__name__)

HTTP_CONNECTIONS = 256
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10, sock_read=30)
"""Per phase, not in total: a total would start before the session's trace holds a call to
Teams' windows (`adapters.teams.pace`), so time spent waiting for a window would count
against it."""


class TeamsAdapter:
    """One Teams bot (one app id, one tenant); a tenant is the thread keys' tenant."""

    platform = "teams"
    settings_class = TeamsSettings
    enabling = ("TEAMS_APP_ID",)

    @staticmethod
    def enabled(settings: TeamsSettings) -> bool:
        return bool(settings.app_id)

    @staticmethod
    def describe(settings: TeamsSettings) -> str:
        return "teams"

    @staticmethod
    async def doctor(settings: TeamsSettings, findings: Findings) -> None:
        await run_checks(settings, findings)

    def __init__(self, settings: TeamsSettings) -> None:
        settings.check()
        self.settings = settings
        self._routes: list[WebRoute] = []
        self._session: aiohttp.ClientSession | None = None
        self._connector: Connector | None = None
        self._budget: Permits | None = None
        self._app = limits.app(self.settings.requests_per_second)
        self._no_streams: set[str] = set()

    async def start(self, core: Core) -> None:
        metered = http_trace(core.meter, "teams", _route_name)
        per_second = self.settings.requests_per_second
        fenced = fence_requests(metered)
        trace = pace_requests(fenced, core.budget, self.settings.tenant_id, self._app, per_second)
        self._session = session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS),
            timeout=REQUEST_TIMEOUT,
            trace_configs=[trace],
        )
        self._budget = core.budget
        token = BotToken(session, self.settings)
        await _first_token(token, self.settings)
        self._connector = connector = Connector(session, token)
        keys = ConnectorKeys(session, self.settings.openid_metadata_url)
        auth = ActivityAuth(keys, self.settings.app_id)
        ingest = TeamsIngest(core, Talk(connector, core.budget, self._app))

        def refused(status: int) -> None:
            core.meter.inc("teams_activities_refused", status=str(status))

        self._routes = [WebRoute("POST", PATH, messages_handler(auth, ingest, refused))]
        log.info("Teams: app %s, activities at %s", self.settings.app_id, PATH)

    def routes(self) -> list[WebRoute]:
        """`POST /api/messages`, the bot's messaging endpoint (once started)."""
        return list(self._routes)

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        assert self._connector is not None and self._budget is not None
        return TeamsSurface(
            self._connector,
            post,
            self._budget,
            self._app,
            messages,
            self._no_streams,
            streaming=self.settings.streaming,
        )


async def _first_token(token: BotToken, settings: TeamsSettings) -> None:
    """A token at start-up: refused credentials or an unreachable endpoint stop the process
    with one line naming the variables."""
    try:
        await token.get()
    except TokenRefused as exc:
        raise ConfigError(str(exc)) from None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        host = urlsplit(settings.token_endpoint).netloc
        raise ConfigError(f"TEAMS_TOKEN_URL: cannot reach {host} ({exc})") from None


def _route_name(method: str, url: URL) -> str:
    """A connector call named by its method and kind (ids left out of the label)."""
    path = url.path
    if "/oauth2/" in path:
        return "token"
    if path.endswith("/activities"):
        return "activities.send"
    return {"PUT": "activities.update", "DELETE": "activities.delete"}.get(method, "other")
