"""SlackEmulator: the Web API, Socket Mode and HTTP event delivery of one app, in one workspace
or several (`add_team`, installed through the OAuth v2 flow: `emulators.slack.oauth`).

Unmodified slack_sdk / slack_bolt talk to it: `AsyncWebClient(base_url=emu.api_url)`, and
`AsyncSocketModeHandler` follows the `ws://` URL `apps.connections.open` returns. Tests play
Slack's side with `user_post` and `deliver`, then read `messages`, `thread` and `bot_replies`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from emulators.base import Emulator
from emulators.slack import assistant, commands, events, interactions, oauth, web_api
from emulators.slack.args import MARKDOWN_LIMIT
from emulators.slack.assistant import AssistantThread
from emulators.slack.http_events import HttpEventSender
from emulators.slack.oauth import Team
from emulators.slack.ratelimit import RateLimits
from emulators.slack.socket_mode import SocketModeServer, new_envelope_id, new_event_id
from emulators.slack.state import Message, Workspace, message_object


@dataclass
class Delivery:
    """One event Slack sent the app, and how it went (acked over a socket, or HTTP status)."""

    event_id: str
    event: dict[str, Any]
    retry_num: int = 0
    envelope_id: str | None = None
    acked: bool | None = None
    status: int | None = None


BOT_SCOPES = (
    "app_mentions:read",
    "assistant:write",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "mpim:history",
    "mpim:read",
    "reactions:read",
    "reactions:write",
    "users:read",
)
"""What an installed threadbridge app holds by default (deploy/slack-manifest.yml)."""

SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
"""What a file URL shows a request that may not read it."""


class SlackEmulator(Emulator):
    """Slack for one app with a bot user in workspace `team_id`, and in any workspace added
    with `add_team` (each with its own bot user and token; every call records its token)."""

    name = "slack"

    def __init__(
        self,
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        signing_secret: str = "test-secret",
        *,
        app_id: str = "A1",
        verification_token: str = "verification-token",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.app_id = app_id
        self.verification_token = verification_token
        self.bot_scopes: list[str] = list(BOT_SCOPES)
        """Granted to the bot token; every Web API answer lists them in `X-OAuth-Scopes`."""
        self.teams: dict[str, Team] = {team_id: Team(team_id, bot_token, bot_user_id, bot_id)}
        self.client_id = "client-id"
        self.client_secret = "client-secret"
        self.oauth_redirect_url: str | None = None
        self.oauth_codes: dict[str, tuple[str, str | None]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.hold_files: asyncio.Event | None = None
        self.file_redirects: dict[str, str] = {}
        """File id → a URL its download answers with `302 Found` (a file host that redirects)."""
        """While set to an unset event, file downloads wait for it (a slow file server)."""
        self.command_hooks: set[str] = set()
        self.command_responses: list[dict[str, Any]] = []
        """JSON bodies POSTed to the `response_url`s of slash commands and button presses
        (with the `hook` they used)."""
        self.workspace = Workspace()
        self.limits = RateLimits()
        self.rate_limited: Counter[str] = Counter()
        self.deleted: list[Message] = []
        """Messages `chat.delete` removed, in order (no query shows them any more)."""
        self.statuses: dict[tuple[str, str], list[str]] = {}
        """Every `assistant.threads.setStatus` per (channel, thread_ts), in order."""
        self.assistant_threads: dict[tuple[str, str], AssistantThread] = {}
        """Assistant threads (and threads given a status) by (channel, thread_ts)."""
        self.admins: set[str] = set()
        """User ids that `users.info` reports as workspace admins (`is_admin`)."""
        self.owners: set[str] = set()
        """User ids that `users.info` reports as workspace owners (`is_owner`)."""
        self.deliveries: list[Delivery] = []
        self.socket = SocketModeServer(app_id)
        self.http = HttpEventSender(signing_secret)
        self.http_events_url: str | None = None
        self.echo = True
        self.legacy_bot_subtype = False
        self.deliver_timeout = 5.0
        self.wait_timeout = 10.0
        self.stream_ttl = 300.0
        self.members_page_size: int | None = None
        """At most this many members per `conversations.members` page, whatever the `limit`
        (Slack: "Fewer than the requested number of items may be returned")."""
        self.non_marketplace = False
        """An app commercially distributed outside the Marketplace: conversations.replies
        pages of at most 15 messages, 1 call a minute (`distributed_limits` sets both)."""
        self.markdown_limit = MARKDOWN_LIMIT
        """Longest `markdown_text` accepted; lower it to make long pages meet `msg_too_long`."""
        self._tasks: set[asyncio.Task[Any]] = set()
        super().__init__(host, port)

    def routes(self, app: web.Application) -> None:
        async def api(request: web.Request) -> web.StreamResponse:
            return await web_api.handle(self, request)

        async def authorize(request: web.Request) -> web.Response:
            return await oauth.authorize(self, request)

        app.router.add_route("*", "/api/{method}", api)
        app.router.add_get("/oauth/v2/authorize", authorize)
        app.router.add_get("/files-pri/{file_id}/{name}", self._file)
        app.router.add_post("/commands/{hook}", self._command_response)
        app.router.add_post("/actions/{hook}", self._command_response)
        app.router.add_get("/link/", self.socket.handle)

    @property
    def api_url(self) -> str:
        """What `AsyncWebClient(base_url=…)` wants: the API root with a trailing slash."""
        return f"{self.url}/api/"

    async def stop(self) -> None:
        """Cancel owned tasks, close sockets and the HTTP client, then stop the server."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.socket.close_links()
        await self.http.close()
        await super().stop()

    def rate_limit(self, method: str, per_minute: float, burst: float | None = None) -> None:
        """Answer `method` with 429 + Retry-After beyond `per_minute` per workspace."""
        self.limits.set(method, per_minute, burst)

    def distributed_limits(self) -> None:
        """Slack's limits for a commercially distributed non-Marketplace app
        (docs.slack.dev/apis/web-api/rate-limits): conversations.replies 1/min, 15 per page."""
        self.non_marketplace = True
        self.limits.set("conversations.replies", 1, 1)

    def enforce_documented_limits(self) -> None:
        """Answer 429 beyond each documented per-method limit (see `ratelimit.DOCUMENTED`)."""
        self.limits.documented()

    def message_object(self, message: Message) -> dict[str, Any]:
        return message_object(message, self.workspace, self.team_id, self.app_id)

    # Several workspaces ------------------------------------------------------------------

    def add_file(self, name: str, mimetype: str, content: bytes) -> dict[str, Any]:
        """A file a person uploads; returns the file object events carry. Its `url_private`
        needs a bot token (https://api.slack.com/types/file#auth)."""
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = (mimetype, content)
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{self.url}/files-pri/{file_id}/{name}",
            "permalink": f"https://emulated.slack.com/files/U1/{file_id}/{name}",
        }

    def add_remote_file(self, name: str, mimetype: str, external_url: str) -> dict[str, Any]:
        """A remote file another app added (`files.remote.add`): a file object whose
        `url_private` is the external URL, with `is_external` true, `external_type` "app" and
        `mode` "external" (https://docs.slack.dev/reference/objects/file-object and
        https://docs.slack.dev/messaging/working-with-remote-files)."""
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = (mimetype, b"")
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "mode": "external",
            "is_external": True,
            "external_type": "app",
            "external_url": external_url,
            "url_private": external_url,
            "permalink": f"https://emulated.slack.com/files/U1/{file_id}/{name}",
        }

    async def _command_response(self, request: web.Request) -> web.Response:
        return await commands.response_url(self, request)

    async def _file(self, request: web.Request) -> web.Response:
        """A file's `url_private`: reading it needs a bot token with `files:read`
        (https://api.slack.com/types/file#auth, "Authentication … requires the files:read
        scope"). Without one Slack serves its sign-in page, HTML with status 200, not an error."""
        await self.record(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        known = self.files.get(request.match_info["file_id"])
        if known is None:
            return web.Response(status=404)
        if self.hold_files is not None:
            await self.hold_files.wait()
        redirect = self.file_redirects.get(request.match_info["file_id"])
        if redirect is not None:
            raise web.HTTPFound(redirect)
        if oauth.team_of_token(self, token) is None or "files:read" not in self.bot_scopes:
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        return web.Response(body=known[1], content_type=known[0])

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        admin: bool = False,
        locale: str = "en-US",
        team_id: str | None = None,
    ) -> None:
        """A person `users.info` knows: display name, admin flag and locale."""
        self.users[user_id] = {
            "name": name,
            "is_admin": admin,
            "locale": locale,
            "team_id": team_id or self.team_id,
        }

    def add_channel(self, channel: str, members: list[str], channel_type: str = "group") -> None:
        """A conversation of `channel_type` ("channel", "group" = private, "im", "mpim") whose
        members are `members` (the bot only if listed; later posters join as they post)."""
        self.workspace.channel_types[channel] = channel_type
        self.workspace.channels.setdefault(channel, [])
        self.workspace.join(channel, *members)

    async def slash(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """Type `/threadbridge text` (see `commands.send_command`); the app's answer."""
        return await commands.send_command(self, text, **kwargs)

    @property
    def authorize_url(self) -> str:
        """What the app sends a browser to (SLACK_OAUTH_AUTHORIZE_URL)."""
        return f"{self.url}/oauth/v2/authorize"

    def add_team(
        self,
        team_id: str,
        bot_token: str,
        bot_user_id: str,
        bot_id: str,
        *,
        enterprise_id: str | None = None,
    ) -> Team:
        """A workspace the app is not installed in yet (installing it runs the OAuth flow);
        `enterprise_id` puts it in an Enterprise Grid org."""
        team = Team(team_id, bot_token, bot_user_id, bot_id, installed=False)
        team.enterprise_id = enterprise_id
        self.teams[team_id] = team
        return team

    def team_tokens(self, method: str) -> list[str | None]:
        """The token each call to Web API `method` was made with, in order."""
        from emulators.slack.args import call_args, call_token

        calls = self.calls_to(f"/api/{method}")
        return [call_token(c, call_args(c)) for c in calls]

    async def uninstall(self, team_id: str) -> None:
        """Remove the app from a workspace: its token is revoked, and Slack sends
        `tokens_revoked` and `app_uninstalled` (https://api.slack.com/events/app_uninstalled)."""
        team = self.teams[team_id]
        team.installed, team.revoked = False, True
        revoked = {"type": "tokens_revoked", "tokens": {"bot": [team.bot_user_id]}}
        await self.deliver(revoked, team_id=team_id)
        await self.deliver({"type": "app_uninstalled"}, team_id=team_id)

    # Playing Slack's side --------------------------------------------------------------

    async def deliver(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int = 0,
        retry_reason: str | None = None,
        *,
        bad_signature: bool = False,
        team_id: str | None = None,
    ) -> bool | int:
        """Send `event` to the app: over HTTP if `http_events_url` is set (returns the status,
        0 if no answer), else as a Socket Mode envelope (returns True once acked)."""
        delivery = Delivery(event_id or new_event_id(), event, retry_num)
        self.deliveries.append(delivery)
        team = self.teams.get(team_id or self.team_id)  # None: a workspace the app never joined
        payload = events.event_callback(
            event,
            delivery.event_id,
            team_id=team_id or self.team_id,
            app_id=self.app_id,
            bot_user_id=team.bot_user_id if team else self.bot_user_id,
            verification_token=self.verification_token,
            enterprise_id=team.enterprise_id if team else None,
        )
        if self.http_events_url is not None:
            delivery.status = await self.http.post(
                self.http_events_url,
                payload,
                limit=aiohttp.ClientTimeout(total=self.deliver_timeout),
                retry_num=retry_num,
                retry_reason=retry_reason,
                bad_signature=bad_signature,
            )
            return delivery.status
        delivery.envelope_id = new_envelope_id()
        envelope = {
            "envelope_id": delivery.envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_num,
            "retry_reason": retry_reason or "",
            "payload": payload,
        }
        deadline = time.monotonic() + self.deliver_timeout
        delivery.acked = await self.socket.send_envelope(envelope, deadline)
        return delivery.acked

    async def press_button(
        self,
        channel: str,
        ts: str,
        action_id: str,
        user: str = "U1",
        link: int | None = None,
        choice: str = "positive",
    ) -> bool | int:
        """`user` presses button `action_id` on message `ts` (of feedback buttons, the
        `choice` one): over HTTP the app's status, in Socket Mode True once acked (on the
        `link`-th open link, if given). Raises LookupError when the message shows no such
        button."""
        message = self.workspace.find(channel, ts)
        payload = (
            None
            if message is None
            else interactions.block_actions(self, message, action_id, user, choice)
        )
        if payload is None:
            raise LookupError(f"no button {action_id} on {channel}/{ts}")
        if self.http_events_url is not None:
            limit = aiohttp.ClientTimeout(total=self.deliver_timeout)
            return await self.http.post(self.http_events_url, payload, limit=limit, form=True)
        envelope = {
            "envelope_id": new_envelope_id(),
            "type": "interactive",
            "accepts_response_payload": True,
            "payload": payload,
        }
        deadline = time.monotonic() + self.deliver_timeout
        return await self.socket.send_envelope(envelope, deadline, link)

    async def open_assistant_thread(
        self, user: str = "U1", channel: str = "D1", context_channel: str | None = None
    ) -> str:
        """`user` opens the app's AI-app container (viewing `context_channel`): the thread root
        appears in DM `channel` and `assistant_thread_started` is delivered; its `thread_ts`."""
        thread = assistant.open_thread(self, user, channel, context_channel)
        await self.deliver(assistant.thread_event("assistant_thread_started", thread))
        return thread.thread_ts

    async def change_assistant_context(
        self, channel: str, thread_ts: str, context_channel: str
    ) -> bool | int:
        """The person moves to `context_channel` with the container open."""
        thread = self.assistant_threads[(channel, thread_ts)]
        thread.context = {"channel_id": context_channel, "team_id": self.team_id}
        event = assistant.thread_event("assistant_thread_context_changed", thread)
        return await self.deliver(event)

    def assistant_thread(self, channel: str, thread_ts: str) -> AssistantThread:
        """What assistant thread (`channel`, `thread_ts`) shows and went through."""
        return self.assistant_threads[(channel, thread_ts)]

    def stop_stream_by_user(self, channel: str, ts: str) -> None:
        """A person presses Slack's own stop on a streaming message: later appends and stops
        answer `stopped_by_user` (chat.appendStream reference)."""
        message = self.workspace.find(channel, ts)
        if message is None:
            raise LookupError(f"no message {channel}/{ts}")
        message.stream_stopped_by_user = True
        message.stream_stopped = True

    async def user_post(
        self,
        channel: str,
        text: str,
        user: str = "U1",
        thread_ts: str | None = None,
        channel_type: str | None = None,
        *,
        wait: bool = False,
        team_id: str | None = None,
        files: list[dict[str, Any]] | None = None,
        user_team: str | None = None,
    ) -> str:
        """Store a person's post and send the events Slack would (`app_mention` when the bot is
        mentioned outside a DM, and `message`); returns its `ts`. With `wait`, returns only once
        every event was delivered or timed out; otherwise delivery runs in the background.
        `user_team`: the author belongs to another workspace (a Slack Connect guest in a
        shared channel); their events carry `user_team` and `source_team` naming it."""
        known = self.workspace.channel_types.get(channel, "channel")
        self.workspace.channel_types[channel] = channel_type or known
        team = self.teams[team_id or self.team_id]
        self.workspace.join(channel, user, team.bot_user_id)
        message = self.workspace.add(
            Message(
                channel=channel,
                ts=self.workspace.next_ts(),
                user=user,
                text=text,
                thread_ts=thread_ts,
                client_msg_id=str(uuid.uuid4()),
            )
        )
        mention = f"<@{team.bot_user_id}>"
        found = events.user_events(message, self.workspace, team.team_id, mention)
        for event in found:
            if user_team is not None:
                event.update(user_team=user_team, source_team=user_team)
            if files:
                event["files"] = files
                event["subtype"] = "file_share"
        tasks = [self.spawn(self.deliver(event, team_id=team.team_id)) for event in found]
        if wait:
            await asyncio.gather(*tasks, return_exceptions=True)
        return message.ts

    def echo_posted(self, message: Message) -> None:
        """Echo a bot post as Slack does (a `message` event with `bot_id`), in the background;
        a reply in an assistant thread clears its status."""
        assistant.replied(self, message)
        if self.echo:
            channel_type = self.workspace.channel_type(message.channel)
            event = events.posted_event(
                self.message_object(message), message.channel, channel_type, self.legacy_bot_subtype
            )
            self.spawn(self.deliver(event, team_id=self._team_of_bot(message.bot_id)))

    def _team_of_bot(self, bot_id: str | None) -> str:
        for team in self.teams.values():
            if team.bot_id == bot_id:
                return team.team_id
        return self.team_id

    def echo_changed(self, previous: dict[str, Any], message: Message) -> None:
        """Echo an edit as a `message_changed` event, in the background."""
        if self.echo:
            channel_type = self.workspace.channel_type(message.channel)
            event = events.changed_event(
                previous,
                self.message_object(message),
                message.channel,
                channel_type,
                self.workspace.next_ts(),
            )
            self.spawn(self.deliver(event, team_id=self._team_of_bot(message.bot_id)))

    def echo_deleted(self, previous: dict[str, Any], message: Message) -> None:
        """Send the `message_deleted` event of a deletion, in the background."""
        if self.echo:
            channel_type = self.workspace.channel_type(message.channel)
            event = events.deleted_event(
                previous, message.channel, channel_type, message.ts, self.workspace.next_ts()
            )
            self.spawn(self.deliver(event, team_id=self._team_of_bot(message.bot_id)))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` as a task the emulator owns and cancels on stop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait (up to `wait_timeout`) until every background delivery has finished."""
        await self.wait_for(lambda: not self._tasks, self.wait_timeout)

    # Socket Mode control -----------------------------------------------------------------

    async def wait_for_socket(self, count: int = 1) -> None:
        """Wait (up to `wait_timeout`) until `count` Socket Mode links are open."""
        await self.wait_for(lambda: len(self.socket.open_links) >= count, self.wait_timeout)

    async def disconnect_sockets(self) -> int:
        """Close every Socket Mode link (close frame); the client reconnects on its own."""
        return await self.socket.close_links()

    async def request_refresh(self, reason: str = "refresh_requested") -> int:
        """Send Slack's `disconnect` envelope; slack_sdk fetches a new URL and reconnects."""
        return await self.socket.request_refresh(reason)

    # Queries for tests -------------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        return self.workspace.messages(channel)

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The parent first, then the replies in order."""
        return self.workspace.thread(channel, thread_ts)

    def bot_replies(
        self, channel: str, thread_ts: str | None, team_id: str | None = None
    ) -> list[Message]:
        """The bot's messages in the thread (the parent excluded), in order; with no
        `thread_ts`, the bot's top-level messages in the channel (a DM without threads)."""
        if thread_ts is None:
            candidates = [m for m in self.messages(channel) if not m.is_reply]
        else:
            candidates = self.thread(channel, thread_ts)[1:]
        bot_id = self.teams[team_id or self.team_id].bot_id
        return [m for m in candidates if m.bot_id == bot_id]
