"""The Discord gateway: HELLO, IDENTIFY → READY → GUILD_CREATE, heartbeats, RESUME, RECONNECT.

Every frame goes out as a TEXT JSON frame: discord.py only decompresses binary frames, so the
`compress=zlib-stream|zstd-stream` it puts in the URL is accepted and ignored. Each session keeps
a log of its dispatches so a RESUME replays what a dropped connection missed; dispatches made
while no socket is attached are logged and arrive with the resume, as on Discord.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import payloads

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
PRIVATE_FIELDS = ("content", "embeds", "attachments", "components")
LOG_SIZE = 1000


@dataclass
class Session:
    """One identified gateway session; it outlives its socket so it can be resumed."""

    id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def owns(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of `guild_id` (DMs go to shard 0)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % max(count, 1)) == shard_id


@dataclass
class Delivery:
    """What a dispatch needs besides its payload: routing and intent filtering."""

    guild_id: int | None
    intent: int
    private_content: bool = False


class Gateway:
    """The websocket endpoint and the sessions it serves."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.sessions: dict[str, Session] = {}
        self.sockets: set[web.WebSocketResponse] = set()
        self.identifies = 0
        self.resumes = 0
        self.acks = 0
        """HEARTBEAT_ACKs sent."""
        self.replay_extra = 0
        self.connections: list[tuple[str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=2.0, compress=False, max_msg_size=0)
        await ws.prepare(request)
        self.connections.append((request.path, dict(request.query)))
        self.sockets.add(ws)
        session: Session | None = None
        try:
            if request.query.get("encoding", "json") != "json":
                await ws.close(code=4002, message=b"Error while decoding payload.")
                return ws
            hello = {"heartbeat_interval": int(self.emu.heartbeat_interval * 1000)}
            await _send(ws, {"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                session = await self._on_frame(ws, json.loads(msg.data), session)
        finally:
            self.sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _on_frame(
        self, ws: web.WebSocketResponse, frame: dict[str, Any], session: Session | None
    ) -> Session | None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await self._ack(ws)
        elif op == 2:
            if session is not None:
                await ws.close(code=4005, message=b"Already authenticated.")
                return session
            return await self._identify(ws, data or {})
        elif op == 6:
            return await self._resume(ws, data or {})
        elif session is None:
            if op not in (3, 4):
                await ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:
            await self._members_chunk(session, data or {})
        elif op not in (3, 4):
            await ws.close(code=4001, message=b"Unknown opcode.")
        return session

    async def _ack(self, ws: web.WebSocketResponse) -> None:
        """HEARTBEAT_ACK, `heartbeat_ack_delay` seconds late if set (a gateway the client
        reads late looks the same to it); frames read meanwhile are answered as usual."""
        ack = {"op": 11, "d": None, "s": None, "t": None}
        delay = self.emu.heartbeat_ack_delay
        if delay <= 0:
            await _send(ws, ack)
            self.acks += 1
            return

        async def late() -> None:
            await asyncio.sleep(delay)
            await _send(ws, ack)
            self.acks += 1

        self.emu._spawn(late())

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        if data.get("token") != self.emu.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = data.get("intents")
        if self.emu.intents_required and not isinstance(intents, int):
            await ws.close(code=4013, message=b"Invalid intent(s).")
            return None
        intents = int(intents or 0)
        if self.emu.refuse_intents and intents & PRIVILEGED:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        shard = data.get("shard")
        session = Session(
            uuid.uuid4().hex, intents, (int(shard[0]), int(shard[1])) if shard else None
        )
        self.sessions[session.id] = session
        self.identifies += 1
        async with session.lock:
            session.ws = ws
            session.seq = 1
            await _send(ws, {"op": 0, "t": "READY", "s": 1, "d": self._ready(session)})
        for guild in list(self.emu.world.guilds.values()):
            if session.owns(guild.id):
                body = payloads.guild_create(
                    self.emu.world, guild, threads=not self.emu.hide_threads
                )
                await self._emit(session, "GUILD_CREATE", body, Delivery(guild.id, GUILDS))
        return session

    def _ready(self, session: Session) -> dict[str, Any]:
        me = payloads.user(self.emu.world.bot)
        me.update(verified=True, mfa_enabled=False, flags=0, email=None)
        ready: dict[str, Any] = {
            "v": 10,
            "user": me,
            "guilds": [
                {"id": str(g.id), "unavailable": True}
                for g in self.emu.world.guilds.values()
                if session.owns(g.id)
            ],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.emu.resume_gateway_url,
            "application": {"id": str(self.emu.application_id), "flags": self.emu.app_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        return ready

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.emu.token:
            await _send(ws, {"op": 9, "d": False, "s": None, "t": None})
            return None
        seen = int(data.get("seq") or 0)
        async with session.lock:
            old = session.ws
            session.ws = ws
            if old is not None and old is not ws and not old.closed:
                await old.close(code=4000, message=b"Session resumed elsewhere.")
            for frame in self._replay(session, seen):
                await _send(ws, frame)
            session.seq += 1
            await _send(ws, {"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
        self.resumes += 1
        return session

    def _replay(self, session: Session, seen: int) -> list[dict[str, Any]]:
        """The frames after `seen`, preceded by `replay_extra` already-seen ones (then reset)."""
        extra, self.replay_extra = self.replay_extra, 0
        old = [f for f in session.log if f["s"] <= seen]
        new = [f for f in session.log if f["s"] > seen]
        return (old[-extra:] if extra else []) + new

    async def _members_chunk(self, session: Session, data: dict[str, Any]) -> None:
        raw = data.get("guild_id")
        guild = self.emu.world.guilds.get(int(raw[0] if isinstance(raw, list) else raw or 0))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        users = [self.emu.world.users[uid] for uid in guild.member_ids]
        members = [payloads.member(u) for u in users if not wanted or u.id in wanted]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": data.get("nonce"),
        }
        await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk, Delivery(guild.id, 0))

    async def dispatch(self, event: str, data: dict[str, Any], delivery: Delivery) -> None:
        """Send `event` to every session whose shard and intents receive it."""
        for session in list(self.sessions.values()):
            if session.owns(delivery.guild_id):
                await self._emit(session, event, data, delivery)

    async def send_to(
        self, session_id: str, event: str, data: dict[str, Any], delivery: Delivery
    ) -> None:
        """Send `event` to one session only (Discord sends an interaction to one)."""
        await self._emit(self.sessions[session_id], event, data, delivery)

    async def _emit(
        self, session: Session, event: str, data: dict[str, Any], delivery: Delivery
    ) -> None:
        body = self._visible(session, data, delivery)
        if body is None:
            return
        async with session.lock:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": body}
            session.log.append(frame)
            if session.ws is not None and not session.ws.closed:
                await _send(session.ws, frame)

    def _visible(
        self, session: Session, data: dict[str, Any], delivery: Delivery
    ) -> dict[str, Any] | None:
        """`data` as this session may see it, or None if its intents exclude the event."""
        if not self.emu.intents_required:
            return data
        if delivery.intent and not session.intents & delivery.intent:
            return None
        if delivery.private_content and not session.intents & MESSAGE_CONTENT:
            return _without_content(data)
        return data

    async def each_socket(self, action: Callable[[web.WebSocketResponse], Any]) -> None:
        """Apply the coroutine function `action` to every open socket of an identified session."""
        for session in list(self.sessions.values()):
            if session.ws is not None and not session.ws.closed:
                await action(session.ws)

    async def close_all(self, code: int = 1001) -> None:
        for ws in list(self.sockets):
            if not ws.closed:
                await ws.close(code=code, message=b"Going away.")


def _without_content(data: dict[str, Any]) -> dict[str, Any]:
    """A message as Discord shows it to a bot without the MESSAGE_CONTENT intent."""
    blank: dict[str, Any] = {key: [] for key in PRIVATE_FIELDS}
    blank["content"] = ""
    return {**data, **{k: v for k, v in blank.items() if k in data}}


async def _send(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
    """Send one TEXT frame; a socket that died meanwhile is left to its handler to clean up."""
    try:
        await ws.send_str(json.dumps(frame))
    except (ConnectionError, RuntimeError):
        pass
