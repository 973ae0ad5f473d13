"""A Mattermost server stand-in: the REST API v4 calls a bot makes, and the WebSocket API.

Sources (API v4 reference, https://developers.mattermost.com/api-documentation/):
- Authentication: `Authorization: Bearer <token>` on every request; a bad token is 401 with
  the standard error body `{id, message, detailed_error, request_id, status_code}`.
- `GET /api/v4/users/me`, `GET /api/v4/users/{id}`, `GET /api/v4/users/me/teams`.
- `POST /api/v4/posts {channel_id, message, root_id, props}` → 201 and the post;
  `PUT /api/v4/posts/{id}/patch {message}` → 200 and the post (only its author may: 403);
  `DELETE /api/v4/posts/{id}`; `GET /api/v4/posts/{id}/thread` → the thread as a `PostList`;
  `GET /api/v4/channels/{id}/posts?since=<ms>` → a `PostList`
  (`order` newest first, `posts` by id) of the posts created or changed after `since`.
  A message longer than the server's maximum (`MaxPostSize`, 16,383 characters since the
  database's Message column became text, 4,000 before) is refused 400
  `model.post.is_valid.msg.app_error` (model/post.go `IsValid`). A creation whose
  `pending_post_id` the server saw in the last 30 s gets the post made under it, whatever
  its channel and thread (`deduplicateCreatePost` and `pendingPostIDsCacheTTL` in
  server/channels/app/post.go: one cache keyed by that id alone).
- `GET /api/v4/config/client?format=old`: the client configuration with the computed
  `MaxPostSize` (`ClientConfigWithComputed` in the server's platform/config.go).
- `POST /api/v4/reactions {user_id, post_id, emoji_name}` → 201.
- `POST /api/v4/posts/ephemeral {user_id, post: {channel_id, message}}` → 201 and the post,
  shown to that user alone; needs `create_post_ephemeral`, "currently only given to system
  admin" (docs.mattermost.com/api/reference/create-post-ephemeral), else 403.
- `POST /api/v4/roles/names [names]` → the roles with their `permissions`.
- WebSocket `/api/v4/websocket`: authenticated by the Bearer header of the upgrade request or
  by an `authentication_challenge` action (`{seq, action, data: {token}}`, answered
  `{status: "OK", seq_reply}`); then the `hello` event, then events
  `{event, data, broadcast: {user_id, channel_id, team_id, omit_users}, seq}`. `posted`
  carries `data.post` as a JSON string, `channel_type`, `channel_name`, `team_id` ("" for
  direct and group messages), `sender_name` and, only when someone is mentioned,
  `mentions` (a JSON string of user ids); `post_edited` carries `data.post`;
  `reaction_added` carries `data.reaction` as a JSON string.
- The rate limiter: see `emulators.mattermost.ratelimit`.

Misbehaviour on request: `fail_next(route, Fault)` (routes: create_post, patch_post,
users_me, client_config, channel_posts, thread, reactions), `storm(n)` (429s), `drop_sockets()`,
`refuse_sockets`, `limit(per_second, burst)`.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from emulators.base import Emulator, Fault, json_response
from emulators.mattermost.ratelimit import GCRA
from emulators.mattermost.state import Channel, Post, Reaction, Server, User, new_id

MAX_POST_SIZE = 16383
PENDING_POST_ID_SECONDS = 30.0
SERVER_VERSION = "10.5.0"
ROLE_PERMISSIONS = {
    "system_user": ["create_team", "list_public_teams", "view_members", "create_direct_channel"],
    "team_user": ["list_team_channels", "join_public_channels", "read_public_channel"],
    "channel_user": ["read_channel", "create_post", "edit_post", "delete_post", "add_reaction"],
    "system_admin": ["manage_system"],
}


def error(status: int, error_id: str, message: str) -> web.Response:
    body = {
        "id": error_id,
        "message": message,
        "detailed_error": "",
        "request_id": new_id(),
        "status_code": status,
    }
    return json_response(body, status=status)


class MattermostEmulator(Emulator):
    name = "mattermost"

    def __init__(self, max_post_size: int = MAX_POST_SIZE) -> None:
        self.server = Server()
        self.max_post_size = max_post_size
        self.token = "bot-" + secrets.token_hex(12)
        self.bot = self.server.add_user("threadbot", is_bot=True, roles="system_user")
        self.user = self.server.add_user("alice")
        self.admin = self.server.add_user("root", roles="system_user system_admin")
        self.team_id = new_id()
        self.channel = self.server.add_channel(self.team_id, "O", "town-square")
        self.limiter = GCRA()
        self.sockets: list[web.WebSocketResponse] = []
        self.refuse_sockets = False
        self.connects = 0
        self._seq: dict[int, int] = {}
        self._pending: dict[str, tuple[str, float]] = {}
        """`pending_post_id` → (post id, monotonic time): a repeat within 30 s gets that post."""
        self.ephemerals: list[tuple[str, str, str]] = []
        """(user id, channel id, message) of each ephemeral post the bot made."""
        super().__init__()

    # -- set-up for tests --------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """MATTERMOST_URL: the server's base URL (the API lives under /api/v4)."""
        return self.url

    def limit(self, per_second: float | None, burst: int = 100) -> None:
        """Turn the server's rate limiter on (None: off, the server's default)."""
        self.limiter.per_second = per_second
        self.limiter.max_burst = burst

    def storm(self, times: int, retry_after: int = 1) -> None:
        """The next `times` post creations, and the next `times` edits, answer 429 as the
        limiter does."""
        headers = {"Retry-After": str(retry_after), "X-RateLimit-Remaining": "0"}
        fault = Fault("status", 429, "limit exceeded", headers)
        for route in ("create_post", "patch_post"):
            self.fail_next(route, fault, times)

    @property
    def rate_limited(self) -> int:
        """How many 429s were answered (the limiter's and injected ones)."""
        return sum(1 for c in self.calls if c.headers.get("X-Emulated-Status") == "429")

    def dm_channel(self, user: User | None = None) -> Channel:
        other = user or self.user
        name = "__".join(sorted((self.bot.id, other.id)))
        for channel in self.server.channels.values():
            if channel.name == name:
                return channel
        return self.server.add_channel("", "D", name)

    def new_channel(self, name: str) -> Channel:
        return self.server.add_channel(self.team_id, "O", name)

    # -- what people do -----------------------------------------------------------------------

    async def user_post(
        self,
        channel_id: str,
        message: str,
        root_id: str = "",
        *,
        user: User | None = None,
        **fields: Any,
    ) -> Post:
        """Post as a person (alice unless `user`), and tell every open socket."""
        author = user or self.user
        post = self.server.add_post(channel_id, author.id, message, root_id=root_id, **fields)
        await self.announce(post)
        return post

    async def mention(self, channel_id: str, text: str, root_id: str = "") -> Post:
        return await self.user_post(channel_id, f"@{self.bot.username} {text}", root_id)

    async def other_bot_post(self, channel_id: str, message: str, root_id: str = "") -> Post:
        other = self.server.add_user("otherbot", is_bot=True)
        props = {"from_bot": "true"}
        return await self.user_post(channel_id, message, root_id, user=other, props=props)

    async def system_post(self, channel_id: str, message: str) -> Post:
        return await self.user_post(channel_id, message, type="system_join_channel")

    async def announce(self, post: Post) -> None:
        """The `posted` event for `post` (again, when called twice: a duplicate delivery)."""
        channel = self.server.channels[post.channel_id]
        data: dict[str, Any] = {
            "channel_display_name": channel.display_name or channel.name,
            "channel_name": channel.name,
            "channel_type": channel.type,
            "post": json.dumps(post.as_json()),
            "sender_name": "@" + self.server.users[post.user_id].username,
            "set_online": True,
            "team_id": channel.team_id,
        }
        mentioned = self._mentions(post, channel)
        if mentioned:
            data["mentions"] = json.dumps(mentioned)
        await self.broadcast("posted", data, channel)

    def _mentions(self, post: Post, channel: Channel) -> list[str]:
        if post.user_id == self.bot.id:
            return []
        if channel.type == "D" or f"@{self.bot.username}" in post.message:
            return [self.bot.id]
        return []

    async def react(self, post_id: str, emoji: str, user: User | None = None) -> None:
        who = user or self.user
        reaction = Reaction(who.id, post_id, emoji)
        self.server.reactions.append(reaction)
        channel = self.server.channels[self.server.posts[post_id].channel_id]
        data = {"reaction": json.dumps(reaction.as_json(channel.id))}
        await self.broadcast("reaction_added", data, channel)

    async def broadcast(self, event: str, data: dict[str, Any], channel: Channel) -> None:
        scope = {"omit_users": None, "user_id": "", "channel_id": channel.id, "team_id": ""}
        for ws in list(self.sockets):
            await self._send(ws, {"event": event, "data": data, "broadcast": scope})

    async def drop_sockets(self) -> None:
        """Close every WebSocket abruptly (a proxy restart, a network blip)."""
        for ws in list(self.sockets):
            await ws.close(code=1006)

    # -- what tests read ----------------------------------------------------------------------

    def bot_posts(self, root_id: str) -> list[Post]:
        """The bot's live posts in the thread of `root_id`, oldest first."""
        return [
            p for p in self.server.thread(root_id) if p.user_id == self.bot.id and not p.delete_at
        ]

    def thread_text(self, root_id: str) -> str:
        return "".join(p.message for p in self.bot_posts(root_id))

    def writes(self) -> list[tuple[str, str]]:
        """(method, message) of every post creation and edit the bot made, in order."""
        return [
            (c.method, str(c.body.get("message", "")))
            for c in self.calls
            if isinstance(c.body, dict) and "message" in c.body
        ]

    # -- the server ---------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._gate)
        r = app.router
        r.add_get("/api/v4/system/ping", self._ping)
        r.add_get("/api/v4/users/me", self._me)
        r.add_get("/api/v4/users/me/teams", self._teams)
        r.add_get("/api/v4/users/{user_id}", self._get_user)
        r.add_get("/api/v4/config/client", self._client_config)
        r.add_post("/api/v4/posts", self._create_post)
        r.add_post("/api/v4/posts/ephemeral", self._ephemeral)
        r.add_put("/api/v4/posts/{post_id}/patch", self._patch_post)
        r.add_delete("/api/v4/posts/{post_id}", self._delete_post)
        r.add_get("/api/v4/posts/{post_id}", self._get_post)
        r.add_get("/api/v4/posts/{post_id}/thread", self._get_thread)
        r.add_get("/api/v4/channels/{channel_id}", self._get_channel)
        r.add_get("/api/v4/channels/{channel_id}/posts", self._channel_posts)
        r.add_post("/api/v4/reactions", self._add_reaction)
        r.add_post("/api/v4/roles/names", self._roles)
        r.add_get("/api/v4/websocket", self._websocket)

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Record, authenticate and rate-limit every request, as the server's API handler
        wrapper does (the limiter runs before the handler and answers every request)."""
        call = await self.record(request)
        if request.path == "/api/v4/system/ping":
            return await handler(request)
        token = _bearer(request)
        if request.path == "/api/v4/websocket" and not token:
            return await handler(request)
        if token != self.token:
            return error(401, "api.context.session_expired.app_error", "Invalid or expired session")
        verdict = self.limiter.check(token)
        if verdict is not None and verdict.limited:
            call.headers["X-Emulated-Status"] = "429"
            return web.Response(status=429, text="limit exceeded", headers=verdict.headers)
        response = await handler(request)
        if verdict is not None and not response.prepared:
            response.headers.update(verdict.headers)
        if response.status == 429:
            call.headers["X-Emulated-Status"] = "429"
        return response

    def _fault(self, route: str) -> web.Response | None:
        fault = self.take_fault(route)
        if fault is None:
            return None
        if fault.kind == "disconnect":
            raise ConnectionResetError("emulated disconnect")
        if isinstance(fault.body, str):
            return web.Response(status=fault.status, text=fault.body, headers=fault.headers)
        body = fault.body or {"id": "emulated", "message": "injected", "status_code": fault.status}
        return json_response(body, fault.status, fault.headers)

    async def _ping(self, request: web.Request) -> web.Response:
        return json_response({"status": "OK"})

    async def _me(self, request: web.Request) -> web.Response:
        return self._fault("users_me") or json_response(self.bot.as_json())

    async def _teams(self, request: web.Request) -> web.Response:
        return json_response([{"id": self.team_id, "name": "team", "display_name": "Team"}])

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.server.users.get(request.match_info["user_id"])
        if user is None:
            return error(404, "app.user.missing_account.const", "user not found")
        return json_response(user.as_json())

    async def _client_config(self, request: web.Request) -> web.Response:
        if request.query.get("format") != "old":
            return error(501, "api.config.client.old_format.app_error", "format=old only")
        config = {"Version": SERVER_VERSION, "MaxPostSize": str(self.max_post_size)}
        return self._fault("client_config") or json_response(config)

    async def _create_post(self, request: web.Request) -> web.Response:
        fault = self._fault("create_post")
        if fault is not None:
            return fault
        body = await request.json()
        channel = self.server.channels.get(str(body.get("channel_id") or ""))
        if channel is None:
            return error(403, "api.context.permissions.app_error", "no permission")
        message = str(body.get("message") or "")
        if len(message) > self.max_post_size:
            return error(400, "model.post.is_valid.msg.app_error", "Invalid message")
        root_id = str(body.get("root_id") or "")
        if root_id and root_id not in self.server.posts:
            return error(400, "api.post.create_post.root_id.app_error", "Invalid root_id")
        pending = str(body.get("pending_post_id") or "")
        seen = self._pending.get(pending)
        if seen is not None and time.monotonic() - seen[1] < PENDING_POST_ID_SECONDS:
            return json_response(self.server.posts[seen[0]].as_json(), status=201)
        props = {**(body.get("props") or {}), "from_bot": "true"}
        post = self.server.add_post(channel.id, self.bot.id, message, root_id=root_id, props=props)
        if pending:
            self._pending[pending] = (post.id, time.monotonic())
        await self.announce(post)
        return json_response(post.as_json(), status=201)

    async def _ephemeral(self, request: web.Request) -> web.Response:
        if "system_admin" not in self.bot.roles.split():
            return error(403, "api.context.permissions.app_error", "no permission")
        body = await request.json()
        post, user = body.get("post") or {}, str(body.get("user_id") or "")
        channel = self.server.channels.get(str(post.get("channel_id") or ""))
        if channel is None or user not in self.server.users or not post.get("message"):
            return error(400, "api.context.invalid_param.app_error", "invalid post")
        self.ephemerals.append((user, channel.id, str(post["message"])))
        answer = {"id": new_id(), "channel_id": channel.id, "message": post["message"]}
        return json_response({**answer, "user_id": self.bot.id, "type": "system_ephemeral"}, 201)

    async def _patch_post(self, request: web.Request) -> web.Response:
        fault = self._fault("patch_post")
        if fault is not None:
            return fault
        post = self.server.posts.get(request.match_info["post_id"])
        if post is None or post.delete_at:
            return error(404, "app.post.get.app_error", "post not found")
        if post.user_id != self.bot.id:
            return error(403, "api.context.permissions.app_error", "no permission")
        body = await request.json()
        message = str(body.get("message", post.message))
        if len(message) > self.max_post_size:
            return error(400, "model.post.is_valid.msg.app_error", "Invalid message")
        post.message = message
        post.edit_at = post.update_at = self.server.tick()
        post.edits.append((time.time(), message))
        channel = self.server.channels[post.channel_id]
        await self.broadcast("post_edited", {"post": json.dumps(post.as_json())}, channel)
        return json_response(post.as_json())

    async def _delete_post(self, request: web.Request) -> web.Response:
        post = self.server.posts.get(request.match_info["post_id"])
        if post is None or post.user_id != self.bot.id:
            return error(403, "api.context.permissions.app_error", "no permission")
        post.delete_at = post.update_at = self.server.tick()
        return json_response({"status": "OK"})

    async def _get_post(self, request: web.Request) -> web.Response:
        post = self.server.posts.get(request.match_info["post_id"])
        if post is None:
            return error(404, "app.post.get.app_error", "post not found")
        return json_response(post.as_json())

    async def _get_thread(self, request: web.Request) -> web.Response:
        """Get a thread: the post's root and every reply, deleted ones left out, as a
        `PostList` whose `order` is newest first (`PostList.SortByCreateAt` sorts by
        `create_at` descending, server/public/model/post_list.go)."""
        fault = self._fault("thread")
        if fault is not None:
            return fault
        post = self.server.posts.get(request.match_info["post_id"])
        if post is None or post.delete_at:
            return error(404, "app.post.get.app_error", "post not found")
        root = self.server.posts.get(post.root_id or post.id)
        if root is None:
            return error(404, "app.post.get.app_error", "post not found")
        found = [p for p in [root, *self.server.thread(root.id)] if not p.delete_at]
        body = {
            "order": [p.id for p in reversed(found)],
            "posts": {p.id: p.as_json() for p in found},
            "next_post_id": "",
            "prev_post_id": "",
            "has_next": False,
        }
        return json_response(body)

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.server.channels.get(request.match_info["channel_id"])
        if channel is None:
            return error(404, "app.channel.get.existing.app_error", "channel not found")
        return json_response(channel.as_json())

    async def _channel_posts(self, request: web.Request) -> web.Response:
        fault = self._fault("channel_posts")
        if fault is not None:
            return fault
        channel_id = request.match_info["channel_id"]
        since = int(request.query.get("since") or 0)
        posts = [p for p in self.server.channel_posts(channel_id) if p.update_at > since]
        order = [p.id for p in reversed(posts)]
        body = {
            "order": order,
            "posts": {p.id: p.as_json() for p in posts},
            "next_post_id": "",
            "prev_post_id": "",
            "has_next": False,
        }
        return json_response(body)

    async def _add_reaction(self, request: web.Request) -> web.Response:
        fault = self._fault("reactions")
        if fault is not None:
            return fault
        body = await request.json()
        post = self.server.posts.get(str(body.get("post_id") or ""))
        if post is None:
            return error(404, "app.post.get.app_error", "post not found")
        reaction = Reaction(self.bot.id, post.id, str(body.get("emoji_name") or ""))
        self.server.reactions.append(reaction)
        channel = self.server.channels[post.channel_id]
        await self.broadcast(
            "reaction_added", {"reaction": json.dumps(reaction.as_json(channel.id))}, channel
        )
        return json_response(reaction.as_json(channel.id), status=201)

    async def _roles(self, request: web.Request) -> web.Response:
        names = await request.json()
        roles = [
            {"id": new_id(), "name": n, "permissions": ROLE_PERMISSIONS.get(n, [])}
            for n in names
            if n in ROLE_PERMISSIONS
        ]
        return json_response(roles)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_sockets:
            return error(503, "api.web_socket.unavailable", "unavailable")
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        self.connects += 1
        try:
            if _bearer(request) == self.token or await self._challenge(ws):
                await self._hello(ws)
                await self._serve(ws)
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
            self._seq.pop(id(ws), None)
        return ws

    async def _challenge(self, ws: web.WebSocketResponse) -> bool:
        """The first message must be `authentication_challenge` with the token."""
        try:
            message = await ws.receive_json(timeout=10)
        except (TypeError, ValueError, TimeoutError):
            await ws.close()
            return False
        ok = (
            message.get("action") == "authentication_challenge"
            and (message.get("data") or {}).get("token") == self.token
        )
        reply: dict[str, Any] = {"status": "OK" if ok else "FAIL", "seq_reply": message.get("seq")}
        if not ok:
            reply["error"] = {"id": "api.web_socket_router.not_authenticated.app_error"}
        await ws.send_json(reply)
        if not ok:
            await ws.close()
        return ok

    async def _hello(self, ws: web.WebSocketResponse) -> None:
        self._seq[id(ws)] = 0
        self.sockets.append(ws)
        data = {"server_version": SERVER_VERSION, "connection_id": new_id()}
        scope = {"omit_users": None, "user_id": self.bot.id, "channel_id": "", "team_id": ""}
        await self._send(ws, {"event": "hello", "data": data, "broadcast": scope})

    async def _send(self, ws: web.WebSocketResponse, event: dict[str, Any]) -> None:
        if ws.closed:
            return
        seq = self._seq.get(id(ws), 0)
        self._seq[id(ws)] = seq + 1
        try:
            await ws.send_json({**event, "seq": seq})
        except (ConnectionError, RuntimeError):
            return

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        """Answer actions (`ping` → pong) until the client goes away."""
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                action = json.loads(msg.data)
            except ValueError:
                continue
            if action.get("action") == "ping":
                data = {"text": "pong", "version": SERVER_VERSION}
                await ws.send_json({"status": "OK", "seq_reply": action.get("seq"), "data": data})


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
