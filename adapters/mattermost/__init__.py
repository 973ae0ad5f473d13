"""The Mattermost adapter: a bot account's token, the WebSocket API in, REST API v4 out
(aiohttp for both: see README "Mattermost" for why not a client library)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from yarl import URL

from adapters.mattermost.api import TIMEOUT, ApiError, MattermostAPI, ServerLimits
from adapters.mattermost.doctor import run_checks
from adapters.mattermost.format import MAX_POST_SIZE
from adapters.mattermost.ingest import Bot, MattermostIngest
from adapters.mattermost.settings import MattermostSettings
from adapters.mattermost.socket import Socket
from adapters.mattermost.state import AdapterState
from adapters.mattermost.surface import MattermostSurface
from bridge.contracts import ConfigError, Core, Findings, Surface, UserPost, require
from bridge.contracts.fencing import fence_requests
from bridge.contracts.metering import http_trace

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
HTTP_CONNECTIONS = 256


class MattermostAdapter:
    platform = "mattermost"
    settings_class = MattermostSettings
    enabling = ("MATTERMOST_TOKEN",)

    @staticmethod
    def enabled(settings: MattermostSettings) -> bool:
        return bool(settings.secret)

    @staticmethod
    def describe(settings: MattermostSettings) -> str:
        return "mattermost"

    @staticmethod
    async def doctor(settings: MattermostSettings, findings: Findings) -> None:
        """`threadbridge doctor`'s rows for Mattermost (URL, token, permissions, socket)."""
        await run_checks(settings, findings)

    def __init__(self, settings: MattermostSettings) -> None:
        require(settings, "url", "token")
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._api: MattermostAPI | None = None
        self._socket: Socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._bot = Bot("", "")
        self._max_post_size = MAX_POST_SIZE

    async def start(self, core: Core) -> None:
        s = self._settings
        trace = fence_requests(http_trace(core.meter, self.platform, route_name))
        self._session = session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS),
            timeout=TIMEOUT,
            trace_configs=[trace],
        )
        limits = ServerLimits.of(s.base_url, s.secret, s.requests_per_second, s.burst)
        self._api = api = MattermostAPI(session, s.base_url, s.secret, limits)
        api.budget = core.budget
        try:
            self._bot = await who_am_i(api, s.base_url)
            self._max_post_size = await max_post_size(api)
        except ConfigError:
            await self.stop()
            raise
        ingest = MattermostIngest(core, api, self._bot, AdapterState(core.state))

        async def recover() -> None:
            taken = await ingest.recover()
            if taken:
                log.info("Mattermost: %d posts made while the socket was down were read", taken)

        self._socket = Socket(session, s.base_url, s.secret, ingest.on_event, recover)
        self._task = asyncio.create_task(self._socket.run(), name="mattermost-socket")
        await self._wait_connected(self._socket)
        log.info("Mattermost: connected as @%s", self._bot.username)

    async def _wait_connected(self, socket: Socket) -> None:
        try:
            await asyncio.wait_for(socket.connected.wait(), CONNECT_TIMEOUT)
        except TimeoutError:
            error = socket.first_error
            await self.stop()
            raise ConfigError(
                f"MATTERMOST_URL: the WebSocket API did not connect ({error or 'timeout'})"
            ) from None

    async def connected(self) -> bool:
        """For /readyz: the WebSocket is open."""
        return self._socket is not None and self._socket.connected.is_set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def surface(self, post: UserPost, messages: list[str]) -> Surface:
        assert self._api is not None
        return MattermostSurface(self._api, post, messages, self._max_post_size, self._bot.id)


async def who_am_i(api: MattermostAPI, base_url: str) -> Bot:
    """`GET /api/v4/users/me`: the bot's id and username; a refusal names the variable."""
    try:
        me = await api.call("GET", "/users/me")
    except ApiError as exc:
        if exc.status in (401, 403):
            raise ConfigError(
                f"MATTERMOST_TOKEN was refused by Mattermost: {exc.message or exc.error_id}"
            ) from None
        raise ConfigError(f"MATTERMOST_URL: {base_url} answered {exc}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        host = URL(base_url).host
        reason = str(exc) or type(exc).__name__
        raise ConfigError(f"MATTERMOST_URL: cannot reach {host} ({reason})") from None
    return Bot(str(me["id"]), str(me["username"]))


async def max_post_size(api: MattermostAPI) -> int:
    """The server's `MaxPostSize` from its client configuration, else the current default."""
    try:
        config = await api.call("GET", "/config/client", params={"format": "old"})
        return int(config.get("MaxPostSize") or MAX_POST_SIZE)
    except (ApiError, aiohttp.ClientError, ValueError, TypeError) as exc:
        log.info("Mattermost: no MaxPostSize from the server (%s); using %d", exc, MAX_POST_SIZE)
        return MAX_POST_SIZE


def route_name(method: str, url: URL) -> str:
    """A request named by its method and path with ids taken out (bounded metric labels)."""
    parts = [p for p in url.path.split("/") if p][2:]
    named = [":id" if len(p) == 26 and p.isalnum() else p for p in parts]
    return f"{method} /{'/'.join(named)}"
